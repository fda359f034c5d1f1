// Plain types of the Kafka admin API: topics, configs, ACLs, consumer groups, cluster metadata.
//
// Enums keep Kafka's wire numbering (as librdkafka does) and have ToString / <Enum>FromString
// using Kafka's Java names, for logs and JSON. Nothing here includes librdkafka, so topics/,
// offsets/ and control/ can use these types freely.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/types.h"

namespace kmirror::kafka {

// ---- Enums ----------------------------------------------------------------------------------

// Kafka's ACL resource type (org.apache.kafka.common.resource.ResourceType). librdkafka 2.0.2
// only accepts kTopic..kCluster in requests (it calls kCluster "BROKER").
enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,  // Filters only.
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};
std::string_view ToString(ResourceType v);  // "TOPIC", "CLUSTER", ...
absl::StatusOr<ResourceType> ResourceTypeFromString(std::string_view s);

// Kafka's config resource type (org.apache.kafka.common.config.ConfigResource.Type).
enum class ConfigResourceType : int8_t {
  kUnknown = 0,
  kTopic = 2,
  kBroker = 4,  // name: the broker id, e.g. "1" (librdkafka 2.0.2 rejects the empty name).
  kBrokerLogger = 8,
  kGroup = 32,  // Kafka 4.0+ brokers only.
};
std::string_view ToString(ConfigResourceType v);  // "TOPIC", "BROKER", ...
absl::StatusOr<ConfigResourceType> ConfigResourceTypeFromString(std::string_view s);

enum class PatternType : int8_t {
  kUnknown = 0,
  kAny = 1,    // Filters only: any pattern type.
  kMatch = 2,  // Filters only: every binding that would match the filter's name.
  kLiteral = 3,
  kPrefixed = 4,
};
std::string_view ToString(PatternType v);  // "LITERAL", "PREFIXED", ...
absl::StatusOr<PatternType> PatternTypeFromString(std::string_view s);

enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,  // Filters only.
  kAll = 2,
  kRead = 3,
  kWrite = 4,
  kCreate = 5,
  kDelete = 6,
  kAlter = 7,
  kDescribe = 8,
  kClusterAction = 9,
  kDescribeConfigs = 10,
  kAlterConfigs = 11,
  kIdempotentWrite = 12,
};
std::string_view ToString(AclOperation v);  // "READ", "DESCRIBE_CONFIGS", ...
absl::StatusOr<AclOperation> AclOperationFromString(std::string_view s);

enum class AclPermission : int8_t {
  kUnknown = 0,
  kAny = 1,  // Filters only.
  kDeny = 2,
  kAllow = 3,
};
std::string_view ToString(AclPermission v);  // "ALLOW", "DENY", ...
absl::StatusOr<AclPermission> AclPermissionFromString(std::string_view s);

// Where a config value comes from (DescribeConfigs v1+).
enum class ConfigSource : int8_t {
  kUnknown = 0,
  kDynamicTopic = 1,
  kDynamicBroker = 2,
  kDynamicDefaultBroker = 3,
  kStaticBroker = 4,
  kDefault = 5,
  kDynamicBrokerLogger = 6,
};
std::string_view ToString(ConfigSource v);  // "DYNAMIC_TOPIC_CONFIG", "DEFAULT_CONFIG", ...
absl::StatusOr<ConfigSource> ConfigSourceFromString(std::string_view s);

enum class GroupState : int8_t {
  kUnknown = 0,
  kPreparingRebalance = 1,
  kCompletingRebalance = 2,
  kStable = 3,
  kDead = 4,
  kEmpty = 5,
};
std::string_view ToString(GroupState v);  // "Stable", "Empty", ... (Kafka's spelling)
absl::StatusOr<GroupState> GroupStateFromString(std::string_view s);

// ---- Topics ---------------------------------------------------------------------------------

struct NewTopic {
  std::string name;
  int32_t partitions = -1;          // -1: broker default (num.partitions).
  int32_t replication_factor = -1;  // -1: broker default (default.replication.factor).
  std::map<std::string, std::string> configs;
};

struct NewPartitions {
  std::string topic;
  int32_t new_total = 0;  // The total partition count wanted (must grow).
};

// Per-topic outcome of CreateTopics / CreatePartitions / DeleteTopics.
struct TopicResult {
  std::string name;
  absl::Status status;
};

// ---- Configs --------------------------------------------------------------------------------

struct ConfigResource {
  ConfigResourceType type = ConfigResourceType::kTopic;
  std::string name;

  friend bool operator==(const ConfigResource& a, const ConfigResource& b) {
    return a.type == b.type && a.name == b.name;
  }
};

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;
  ConfigSource source = ConfigSource::kUnknown;
};

struct ConfigEntry {
  std::string name;
  std::optional<std::string> value;  // nullopt for sensitive or unset values.
  ConfigSource source = ConfigSource::kUnknown;
  bool read_only = false;
  bool is_default = false;
  bool sensitive = false;
  std::vector<ConfigSynonym> synonyms;
};

// DescribeConfigs result for one resource.
struct ResourceConfigs {
  ConfigResource resource;
  absl::Status status;
  std::vector<ConfigEntry> entries;
};

// Input of AlterConfigs for one resource: the complete set of dynamic configs it must have.
struct AlterConfigsResource {
  ConfigResource resource;
  std::map<std::string, std::string> configs;
};

// Per-resource outcome of AlterConfigs.
struct ResourceResult {
  ConfigResource resource;
  absl::Status status;
};

// ---- ACLs -----------------------------------------------------------------------------------

struct AclBinding {
  ResourceType resource_type = ResourceType::kTopic;
  std::string name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;  // e.g. "User:alice"
  std::string host = "*";
  AclOperation operation = AclOperation::kRead;
  AclPermission permission = AclPermission::kAllow;

  friend bool operator==(const AclBinding& a, const AclBinding& b) {
    return a.resource_type == b.resource_type && a.name == b.name &&
           a.pattern_type == b.pattern_type && a.principal == b.principal && a.host == b.host &&
           a.operation == b.operation && a.permission == b.permission;
  }
};
// "(TOPIC:LITERAL:orders, User:alice, *, READ, ALLOW)" for logs.
std::string ToString(const AclBinding& binding);

// Matches bindings; nullopt strings and kAny enums match everything.
struct AclBindingFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermission permission = AclPermission::kAny;
};

// Outcome of one DeleteAcls filter: the bindings it removed.
struct DeleteAclsResult {
  absl::Status status;
  std::vector<AclBinding> deleted;
};

// ---- Consumer groups ------------------------------------------------------------------------

struct GroupListing {
  std::string group_id;
  bool is_simple = false;  // A group used only for offset storage (no group protocol).
  GroupState state = GroupState::kUnknown;
};

// ListConsumerGroups gathers from every broker; brokers that failed are reported in `errors`
// while the groups of the others are still returned.
struct ListConsumerGroupsResult {
  std::vector<GroupListing> groups;
  std::vector<absl::Status> errors;
};

struct BrokerNode {
  int32_t id = -1;
  std::string host;
  int port = 0;
};

struct MemberDescription {
  std::string member_id;
  std::string client_id;
  std::string host;
  std::optional<std::string> group_instance_id;  // Static membership id, if any.
  std::vector<TopicPartition> assignment;
};

struct GroupDescription {
  std::string group_id;
  absl::Status status;
  bool is_simple = false;
  std::string partition_assignor;
  GroupState state = GroupState::kUnknown;
  std::optional<BrokerNode> coordinator;
  std::vector<MemberDescription> members;
};

// Per-group outcome of DeleteConsumerGroups.
struct GroupResult {
  std::string group_id;
  absl::Status status;
};

// ---- Cluster metadata -----------------------------------------------------------------------

struct BrokerMeta {
  int32_t id = -1;
  std::string host;
  int port = 0;
};

struct PartitionMeta {
  int32_t id = 0;
  absl::Status status;
  int32_t leader = -1;
  std::vector<int32_t> replicas;
  std::vector<int32_t> isrs;
};

struct TopicMeta {
  std::string name;
  absl::Status status;
  std::vector<PartitionMeta> partitions;
};

struct ClusterMetadata {
  // From rd_kafka_clusterid()/rd_kafka_controllerid() (the 2.0.2 metadata struct has neither);
  // nullopt when the broker did not say.
  std::optional<std::string> cluster_id;
  std::optional<int32_t> controller_id;
  int32_t orig_broker_id = -1;  // The broker that answered.
  std::vector<BrokerMeta> brokers;
  std::vector<TopicMeta> topics;
};

}  // namespace kmirror::kafka
