// ACL storage with Kafka's binding and filter semantics, for the sandbox's CreateAcls,
// DescribeAcls and DeleteAcls.
//
// Enum values are Kafka's wire values (ResourceType, PatternType, AclOperation, AclPermissionType).
// Filter matching follows Kafka's AclBindingFilter: ANY matches every value, a null string matches
// every string, pattern type MATCH matches literal bindings of the same name or the "*" wildcard
// and prefixed bindings whose prefix starts the filter's name. Not thread-safe (ClusterState
// locks).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace kmirror::sandbox {

enum class ResourceType : int8_t {
  kUnknown = 0,
  kAny = 1,
  kTopic = 2,
  kGroup = 3,
  kCluster = 4,
  kTransactionalId = 5,
  kDelegationToken = 6,
  kUser = 7,
};
enum class PatternType : int8_t { kUnknown = 0, kAny = 1, kMatch = 2, kLiteral = 3, kPrefixed = 4 };
enum class AclOperation : int8_t {
  kUnknown = 0,
  kAny = 1,
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
  kCreateTokens = 13,
  kDescribeTokens = 14,
};
enum class AclPermission : int8_t { kUnknown = 0, kAny = 1, kDeny = 2, kAllow = 3 };

struct AclBinding {
  ResourceType resource_type = ResourceType::kUnknown;
  std::string resource_name;
  PatternType pattern_type = PatternType::kLiteral;
  std::string principal;
  std::string host;
  AclOperation operation = AclOperation::kUnknown;
  AclPermission permission = AclPermission::kUnknown;

  auto Key() const {
    return std::tie(resource_type, resource_name, pattern_type, principal, host, operation,
                    permission);
  }
  bool operator<(const AclBinding& o) const { return Key() < o.Key(); }
  bool operator==(const AclBinding& o) const { return Key() == o.Key(); }
};

struct AclFilter {
  ResourceType resource_type = ResourceType::kAny;
  std::optional<std::string> resource_name;
  PatternType pattern_type = PatternType::kAny;
  std::optional<std::string> principal;
  std::optional<std::string> host;
  AclOperation operation = AclOperation::kAny;
  AclPermission permission = AclPermission::kAny;
};

// Returns an error message when the binding cannot be stored (as a broker would refuse it), or
// nullopt when it is valid.
std::optional<std::string> ValidateBinding(const AclBinding& b);
// Returns an error message when the filter is unusable (UNKNOWN values), or nullopt.
std::optional<std::string> ValidateFilter(const AclFilter& f);
bool Matches(const AclFilter& f, const AclBinding& b);

class AclStore {
 public:
  // Idempotent: storing an existing binding is a success.
  void Add(const AclBinding& b) { acls_.insert(b); }
  std::vector<AclBinding> Find(const AclFilter& f) const;
  // Removes and returns the bindings matching f.
  std::vector<AclBinding> Remove(const AclFilter& f);
  size_t size() const { return acls_.size(); }

 private:
  std::set<AclBinding> acls_;
};

}  // namespace kmirror::sandbox
