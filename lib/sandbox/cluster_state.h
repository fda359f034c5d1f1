// The state one sandbox cluster keeps beside the librdkafka mock: topics (partition counts,
// replica assignments, leaders, configs), ACLs, consumer groups, coordinators, broker liveness and
// injected request errors.
//
// The front-end answers Metadata, FindCoordinator and the admin APIs from this state and keeps the
// mock in step through MockBackend (topic creation, leaders, coordinators), so what clients see in
// metadata is always what the mock routes by. Thread-safety: every member is guarded by `mu`;
// callers lock it for the whole request they serve.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/sandbox/acl.h"
#include "lib/sandbox/group_registry.h"
#include "lib/sandbox/log_overlay.h"

namespace kmirror::sandbox {

// The operations on the mock the state needs; a fake in unit tests, kafka::MockCluster in use.
class MockBackend {
 public:
  virtual ~MockBackend() = default;
  virtual absl::Status CreateTopic(const std::string& name, int partitions, int rf) = 0;
  virtual absl::Status SetLeader(const std::string& topic, int32_t partition, int32_t broker) = 0;
  virtual absl::Status SetCoordinator(const std::string& key_type, const std::string& key,
                                      int32_t broker) = 0;
  // Appends a record batch to a partition through its leader `broker`; returns its base offset.
  virtual absl::StatusOr<int64_t> Append(const std::string& topic, int32_t partition,
                                         int32_t broker, std::string_view batch) = 0;
  // The record batch holding `offset`, asked of the partition's leader `broker` (a fetch);
  // NotFound when the offset is not in the log.
  virtual absl::StatusOr<std::string> BatchAt(const std::string& topic, int32_t partition,
                                              int32_t broker, int64_t offset) = 0;
};

struct ClusterOptions {
  std::string name;
  int brokers = 3;
  bool auto_create_topics = false;
  // Partitions reserved in the mock per topic so CreatePartitions can grow a topic up to this count
  // (the mock cannot add partitions to an existing topic).
  int max_partitions_per_topic = 16;
};

struct BrokerInfo {
  int32_t id = 0;
  std::string host;
  uint16_t port = 0;
  bool up = true;
};

struct TopicInfo {
  std::string name;
  int32_t capacity = 0;                        // partitions the mock holds
  std::vector<std::vector<int32_t>> replicas;  // per visible partition, preferred leader first
  std::vector<int32_t> leaders;                // per visible partition, as set in the mock
  std::map<std::string, std::string> configs;  // dynamic topic overrides
  int32_t partitions() const { return static_cast<int32_t>(replicas.size()); }
};

// Kafka error codes the sandbox returns.
namespace err {
constexpr int16_t kNone = 0;
constexpr int16_t kUnknownServerError = -1;
constexpr int16_t kUnknownTopicOrPartition = 3;
constexpr int16_t kLeaderNotAvailable = 5;
constexpr int16_t kMessageTooLarge = 10;
constexpr int16_t kOffsetMetadataTooLarge = 12;
constexpr int16_t kCoordinatorNotAvailable = 15;
constexpr int16_t kNotCoordinator = 16;
constexpr int16_t kInvalidTopic = 17;
constexpr int16_t kNotEnoughReplicas = 19;
constexpr int16_t kInvalidGroupId = 24;
constexpr int16_t kUnsupportedVersion = 35;
constexpr int16_t kTopicAlreadyExists = 36;
constexpr int16_t kInvalidPartitions = 37;
constexpr int16_t kInvalidReplicationFactor = 38;
constexpr int16_t kInvalidReplicaAssignment = 39;
constexpr int16_t kInvalidConfig = 40;
constexpr int16_t kInvalidRequest = 42;
constexpr int16_t kOutOfOrderSequenceNumber = 45;
constexpr int16_t kInvalidProducerEpoch = 47;
constexpr int16_t kConcurrentTransactions = 51;
constexpr int16_t kGroupIdNotFound = 69;
}  // namespace err

class ClusterState {
 public:
  ClusterState(ClusterOptions options, MockBackend* backend, std::vector<BrokerInfo> brokers);

  mutable std::mutex mu;

  // --- everything below requires `mu` held ---
  const ClusterOptions& options() const { return options_; }
  const std::string& cluster_id() const { return cluster_id_; }
  const std::vector<BrokerInfo>& brokers() const { return brokers_; }
  const BrokerInfo* Broker(int32_t id) const;
  std::vector<int32_t> LiveBrokers() const;
  void SetBrokerPort(int32_t id, uint16_t port);
  int32_t ControllerId() const;  // lowest live broker id, -1 if none
  int DefaultReplicationFactor() const { return std::min(3, options_.brokers); }

  std::map<std::string, TopicInfo>& topics() { return topics_; }
  const TopicInfo* Topic(const std::string& name) const;
  // The topic holding `partition`, or NotFound naming what is missing.
  absl::StatusOr<const TopicInfo*> Partition(const std::string& topic, int32_t partition) const;
  // Creates a topic in the mock and here. Validation is the caller's (the CreateTopics handler).
  absl::Status CreateTopic(const std::string& name, int32_t partitions, int16_t rf,
                           std::vector<std::vector<int32_t>> assignment,
                           std::map<std::string, std::string> configs);
  // Grows a topic to `total` partitions (<= capacity), assigning replicas like a broker does.
  absl::Status AddPartitions(const std::string& name, int32_t total,
                             std::vector<std::vector<int32_t>> assignment);
  // Replica placement a broker would choose: round robin from a per-topic start.
  std::vector<std::vector<int32_t>> AssignReplicas(const std::string& topic, int32_t first,
                                                   int32_t count, int16_t rf) const;

  // Returns the coordinator for (key_type 0=group 1=transaction, key), choosing and pinning one in
  // the mock on first use; -1 when no broker is up.
  int32_t Coordinator(int8_t key_type, const std::string& key);

  // Broker liveness with the consequences a real cluster has: leaders and coordinators move to
  // live replicas / brokers when one goes down; leaderless partitions come back with it.
  absl::Status SetBrokerUp(int32_t id, bool up);
  absl::Status MoveLeader(const std::string& topic, int32_t partition, int32_t broker);

  AclStore& acls() { return acls_; }
  GroupRegistry& groups() { return groups_; }
  // Transactions and compaction-like deletions on top of the mock's logs.
  LogOverlay& logs() { return logs_; }
  MockBackend& backend() { return *backend_; }

  void PushInjectedErrors(int16_t api_key, const std::vector<int16_t>& errors);
  // Next injected error for this API, 0 when none.
  int16_t PopInjectedError(int16_t api_key);
  // Errors for the next Produce requests that carry records for one partition (the broker's
  // verdict on that partition's batch: MESSAGE_TOO_LARGE, INVALID_TIMESTAMP, ...).
  void PushProduceErrors(const std::string& topic, int32_t partition,
                         const std::vector<int16_t>& errors);
  int16_t PopProduceError(const std::string& topic, int32_t partition);
  bool HasProduceErrors() const { return !produce_errors_.empty(); }
  // An idempotent producer's batch refused on a partition: Kafka then refuses that producer's
  // later batches there (OUT_OF_ORDER_SEQUENCE_NUMBER) until the refused sequence is sent again.
  // The mock checks sequences only for transactional producers, so the front-end keeps this.
  struct RefusedSequence {
    int64_t producer_id = -1;
    int16_t epoch = -1;
    int32_t base_sequence = -1;
  };
  std::map<std::pair<std::string, int32_t>, RefusedSequence>& refused_sequences() {
    return refused_sequences_;
  }
  // The topic's max.message.bytes (its override, else Kafka's default 1048588).
  int64_t MaxMessageBytes(const TopicInfo& t) const;

 private:
  ClusterOptions options_;
  MockBackend* backend_;
  std::string cluster_id_;
  std::vector<BrokerInfo> brokers_;
  std::map<std::string, TopicInfo> topics_;
  AclStore acls_;
  GroupRegistry groups_;
  LogOverlay logs_;
  std::map<std::pair<int8_t, std::string>, int32_t> coordinators_;
  std::map<int16_t, std::deque<int16_t>> injected_errors_;
  std::map<std::pair<std::string, int32_t>, std::deque<int16_t>> produce_errors_;
  std::map<std::pair<std::string, int32_t>, RefusedSequence> refused_sequences_;
};

// Kafka's topic name rule: 1..249 of [a-zA-Z0-9._-], not "." or "..". nullopt if legal.
std::optional<std::string> ValidateTopicName(const std::string& name);

}  // namespace kmirror::sandbox
