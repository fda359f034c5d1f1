#include "lib/sandbox/acl.h"

#include "absl/strings/match.h"

namespace kmirror::sandbox {
namespace {

bool IsConcrete(ResourceType t) { return t > ResourceType::kAny && t <= ResourceType::kUser; }
bool IsConcrete(AclOperation o) {
  return o > AclOperation::kAny && o <= AclOperation::kDescribeTokens;
}
bool IsConcrete(AclPermission p) { return p == AclPermission::kDeny || p == AclPermission::kAllow; }

bool PatternMatches(const AclFilter& f, const AclBinding& b) {
  if (f.resource_type != ResourceType::kAny && f.resource_type != b.resource_type) return false;
  if (f.pattern_type != PatternType::kAny && f.pattern_type != PatternType::kMatch &&
      f.pattern_type != b.pattern_type) {
    return false;
  }
  if (!f.resource_name) return true;
  if (f.pattern_type == PatternType::kAny || f.pattern_type == b.pattern_type) {
    return *f.resource_name == b.resource_name;
  }
  // MATCH: which bindings would apply to a resource with this exact name.
  switch (b.pattern_type) {
    case PatternType::kLiteral:
      return *f.resource_name == b.resource_name || b.resource_name == "*";
    case PatternType::kPrefixed:
      return absl::StartsWith(*f.resource_name, b.resource_name);
    default:
      return false;
  }
}

}  // namespace

std::optional<std::string> ValidateBinding(const AclBinding& b) {
  if (!IsConcrete(b.resource_type)) return "resource type must be a concrete type, not ANY/UNKNOWN";
  if (b.pattern_type != PatternType::kLiteral && b.pattern_type != PatternType::kPrefixed) {
    return "pattern type must be LITERAL or PREFIXED";
  }
  if (b.resource_name.empty()) return "resource name must not be empty";
  if (b.resource_type == ResourceType::kCluster && b.resource_name != "kafka-cluster") {
    return "the only valid name for the CLUSTER resource is kafka-cluster";
  }
  if (b.pattern_type == PatternType::kPrefixed && b.resource_name == "*") {
    return "a PREFIXED pattern cannot be the wildcard '*'";
  }
  auto colon = b.principal.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == b.principal.size()) {
    return "principal must have the form Type:name, e.g. User:alice";
  }
  if (b.host.empty()) return "host must not be empty (use * for any host)";
  if (!IsConcrete(b.operation)) return "operation must be concrete, not ANY/UNKNOWN";
  if (!IsConcrete(b.permission)) return "permission type must be ALLOW or DENY";
  return std::nullopt;
}

std::optional<std::string> ValidateFilter(const AclFilter& f) {
  if (f.resource_type == ResourceType::kUnknown) return "filter resource type is UNKNOWN";
  if (f.pattern_type == PatternType::kUnknown) return "filter pattern type is UNKNOWN";
  if (f.operation == AclOperation::kUnknown) return "filter operation is UNKNOWN";
  if (f.permission == AclPermission::kUnknown) return "filter permission type is UNKNOWN";
  return std::nullopt;
}

bool Matches(const AclFilter& f, const AclBinding& b) {
  if (!PatternMatches(f, b)) return false;
  if (f.principal && *f.principal != b.principal) return false;
  if (f.host && *f.host != b.host) return false;
  if (f.operation != AclOperation::kAny && f.operation != b.operation) return false;
  if (f.permission != AclPermission::kAny && f.permission != b.permission) return false;
  return true;
}

std::vector<AclBinding> AclStore::Find(const AclFilter& f) const {
  std::vector<AclBinding> out;
  for (const AclBinding& b : acls_) {
    if (Matches(f, b)) out.push_back(b);
  }
  return out;
}

std::vector<AclBinding> AclStore::Remove(const AclFilter& f) {
  std::vector<AclBinding> out;
  for (auto it = acls_.begin(); it != acls_.end();) {
    if (Matches(f, *it)) {
      out.push_back(*it);
      it = acls_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

}  // namespace kmirror::sandbox
