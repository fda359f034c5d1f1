#include "lib/kafka/admin_types.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/status.h"

namespace kmirror::kafka {
namespace {

using ::kmirror::common::ToAbsl;

template <typename E>
using NameEntry = std::pair<E, std::string_view>;

template <typename E, size_t N>
std::string_view Lookup(const NameEntry<E> (&table)[N], E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "UNKNOWN";
}

template <typename E, size_t N>
absl::StatusOr<E> Parse(const NameEntry<E> (&table)[N], std::string_view what, std::string_view s) {
  for (const auto& [v, name] : table) {
    if (absl::EqualsIgnoreCase(ToAbsl(name), ToAbsl(s))) return v;
  }
  std::vector<absl::string_view> names;
  for (const auto& entry : table) names.push_back(ToAbsl(entry.second));
  return absl::InvalidArgumentError(absl::StrCat("unknown ", ToAbsl(what), " '", ToAbsl(s),
                                                 "' (expected one of ", absl::StrJoin(names, ", "),
                                                 ")"));
}

constexpr NameEntry<ResourceType> kResourceTypes[] = {
    {ResourceType::kUnknown, "UNKNOWN"},
    {ResourceType::kAny, "ANY"},
    {ResourceType::kTopic, "TOPIC"},
    {ResourceType::kGroup, "GROUP"},
    {ResourceType::kCluster, "CLUSTER"},
    {ResourceType::kTransactionalId, "TRANSACTIONAL_ID"},
    {ResourceType::kDelegationToken, "DELEGATION_TOKEN"},
    {ResourceType::kUser, "USER"},
};

constexpr NameEntry<ConfigResourceType> kConfigResourceTypes[] = {
    {ConfigResourceType::kUnknown, "UNKNOWN"}, {ConfigResourceType::kTopic, "TOPIC"},
    {ConfigResourceType::kBroker, "BROKER"},   {ConfigResourceType::kBrokerLogger, "BROKER_LOGGER"},
    {ConfigResourceType::kGroup, "GROUP"},
};

constexpr NameEntry<PatternType> kPatternTypes[] = {
    {PatternType::kUnknown, "UNKNOWN"},   {PatternType::kAny, "ANY"},
    {PatternType::kMatch, "MATCH"},       {PatternType::kLiteral, "LITERAL"},
    {PatternType::kPrefixed, "PREFIXED"},
};

constexpr NameEntry<AclOperation> kAclOperations[] = {
    {AclOperation::kUnknown, "UNKNOWN"},
    {AclOperation::kAny, "ANY"},
    {AclOperation::kAll, "ALL"},
    {AclOperation::kRead, "READ"},
    {AclOperation::kWrite, "WRITE"},
    {AclOperation::kCreate, "CREATE"},
    {AclOperation::kDelete, "DELETE"},
    {AclOperation::kAlter, "ALTER"},
    {AclOperation::kDescribe, "DESCRIBE"},
    {AclOperation::kClusterAction, "CLUSTER_ACTION"},
    {AclOperation::kDescribeConfigs, "DESCRIBE_CONFIGS"},
    {AclOperation::kAlterConfigs, "ALTER_CONFIGS"},
    {AclOperation::kIdempotentWrite, "IDEMPOTENT_WRITE"},
};

constexpr NameEntry<AclPermission> kAclPermissions[] = {
    {AclPermission::kUnknown, "UNKNOWN"},
    {AclPermission::kAny, "ANY"},
    {AclPermission::kDeny, "DENY"},
    {AclPermission::kAllow, "ALLOW"},
};

constexpr NameEntry<ConfigSource> kConfigSources[] = {
    {ConfigSource::kUnknown, "UNKNOWN"},
    {ConfigSource::kDynamicTopic, "DYNAMIC_TOPIC_CONFIG"},
    {ConfigSource::kDynamicBroker, "DYNAMIC_BROKER_CONFIG"},
    {ConfigSource::kDynamicDefaultBroker, "DYNAMIC_DEFAULT_BROKER_CONFIG"},
    {ConfigSource::kStaticBroker, "STATIC_BROKER_CONFIG"},
    {ConfigSource::kDefault, "DEFAULT_CONFIG"},
    {ConfigSource::kDynamicBrokerLogger, "DYNAMIC_BROKER_LOGGER_CONFIG"},
};

constexpr NameEntry<GroupState> kGroupStates[] = {
    {GroupState::kUnknown, "Unknown"},
    {GroupState::kPreparingRebalance, "PreparingRebalance"},
    {GroupState::kCompletingRebalance, "CompletingRebalance"},
    {GroupState::kStable, "Stable"},
    {GroupState::kDead, "Dead"},
    {GroupState::kEmpty, "Empty"},
};

}  // namespace

std::string_view ToString(ResourceType v) { return Lookup(kResourceTypes, v); }
absl::StatusOr<ResourceType> ResourceTypeFromString(std::string_view s) {
  return Parse(kResourceTypes, "resource type", s);
}

std::string_view ToString(ConfigResourceType v) { return Lookup(kConfigResourceTypes, v); }
absl::StatusOr<ConfigResourceType> ConfigResourceTypeFromString(std::string_view s) {
  return Parse(kConfigResourceTypes, "config resource type", s);
}

std::string_view ToString(PatternType v) { return Lookup(kPatternTypes, v); }
absl::StatusOr<PatternType> PatternTypeFromString(std::string_view s) {
  return Parse(kPatternTypes, "pattern type", s);
}

std::string_view ToString(AclOperation v) { return Lookup(kAclOperations, v); }
absl::StatusOr<AclOperation> AclOperationFromString(std::string_view s) {
  return Parse(kAclOperations, "ACL operation", s);
}

std::string_view ToString(AclPermission v) { return Lookup(kAclPermissions, v); }
absl::StatusOr<AclPermission> AclPermissionFromString(std::string_view s) {
  return Parse(kAclPermissions, "ACL permission", s);
}

std::string_view ToString(ConfigSource v) { return Lookup(kConfigSources, v); }
absl::StatusOr<ConfigSource> ConfigSourceFromString(std::string_view s) {
  return Parse(kConfigSources, "config source", s);
}

std::string_view ToString(GroupState v) { return Lookup(kGroupStates, v); }
absl::StatusOr<GroupState> GroupStateFromString(std::string_view s) {
  return Parse(kGroupStates, "group state", s);
}

std::string ToString(const AclBinding& b) {
  return absl::StrCat("(", ToAbsl(ToString(b.resource_type)), ":", ToAbsl(ToString(b.pattern_type)),
                      ":", b.name, ", ", b.principal, ", ", b.host, ", ",
                      ToAbsl(ToString(b.operation)), ", ", ToAbsl(ToString(b.permission)), ")");
}

}  // namespace kmirror::kafka
