// One change topic management made (or, in a plan, would make) on the target cluster, in a form
// that is logged, counted and printed by `kmirrord --check-config FILE --plan`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"

namespace kmirror::topicsync {

enum class ChangeKind {
  kTopicCreated,
  kPartitionsAdded,
  kConfigSet,
  kConfigReset,
  kAclAdded,
  kAclRemoved,
};
// "topic_created", "partitions_added", "config_set", "config_reset", "acl_added", "acl_removed"
std::string_view ToString(ChangeKind kind);

struct Change {
  ChangeKind kind = ChangeKind::kConfigSet;
  std::string resource;               // remote topic name, or the ACL binding as text
  std::string name;                   // config name (config changes only)
  std::optional<std::string> before;  // nullopt: absent / default
  std::optional<std::string> after;   // nullopt: absent / default
};

// {"kind":..., "resource":..., "name":..., "before":..., "after":...}; absent values are null and
// `name` is left out when empty.
nlohmann::json ToJson(const Change& change);
// One-line "key=value" text for logs.
std::string ToLogText(const Change& change);

}  // namespace kmirror::topicsync
