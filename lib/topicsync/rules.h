// The rules of remote topic management, as pure functions over plain values: which topic configs
// the target must carry given the source's and the target's current ones, and which ACLs must be
// added to or removed from the target given both clusters' ACLs and the ACLs kmirror created.
//
// No I/O here: the Syncer (syncer.h) gathers the inputs and applies the outputs, and
// `kmirrord --plan` prints them. Thread-safety: ConfigFilter is immutable after Create(); the
// functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/kafka/admin_types.h"
#include "lib/policy/name_filter.h"

namespace kmirror::topicsync {

// ---- Topic configs ----------------------------------------------------------------------------

// MM2's use.defaults.from: a config at its default on the source is removed from the target
// (kTarget: the target's own default applies) or set to the source's default value (kSource).
enum class DefaultsFrom { kTarget, kSource };

// Which config names may be copied: every name except those fully matching an exclude pattern.
class ConfigFilter {
 public:
  // kInvalidArgument naming the first bad RE2 pattern.
  static absl::StatusOr<ConfigFilter> Create(const std::vector<std::string>& exclude);
  bool Excluded(std::string_view name) const { return !names_.Matches(name); }

 private:
  explicit ConfigFilter(policy::NameFilter names) : names_(std::move(names)) {}
  policy::NameFilter names_;
};

struct ConfigRules {
  const ConfigFilter* filter = nullptr;  // must not be null
  DefaultsFrom defaults_from = DefaultsFrom::kTarget;
};

// One config difference on one remote topic. `before`/`after` are values as the target reports
// them; nullopt means "not overridden on the topic" (the target's default applies).
struct ConfigChange {
  std::string name;
  std::optional<std::string> before;
  std::optional<std::string> after;
  friend bool operator==(const ConfigChange&, const ConfigChange&) = default;
};

// What one remote topic's configs must become.
struct ConfigPlan {
  // The complete set of topic overrides to send with (non-incremental) AlterConfigs: copied
  // source values plus the target's own overrides of excluded names.
  std::map<std::string, std::string> desired;
  std::vector<ConfigChange> changes;  // empty: the target already matches, send nothing
  // Set when the target holds an override whose value it does not reveal (sensitive): a
  // non-incremental AlterConfigs would erase it, so the topic must not be altered.
  std::optional<std::string> blocked_by;
};

// True when a source entry may be copied at all: not read-only, not sensitive, has a value, not
// a static broker setting (server.properties belongs to the source's brokers), not excluded.
bool Copyable(const kafka::ConfigEntry& entry, const ConfigFilter& filter);
// True when the entry is the source's default (not set on the topic or the source's brokers).
bool IsDefault(const kafka::ConfigEntry& entry);

// The configs to create a remote topic with: the source's copyable non-default values (and, with
// DefaultsFrom::kSource, its copyable defaults too).
std::map<std::string, std::string> CreationConfigs(const std::vector<kafka::ConfigEntry>& source,
                                                   const ConfigRules& rules);

// Compares `source` (the source topic's DescribeConfigs entries) with `target` (the remote
// topic's) and says what to send. Target overrides of excluded names are kept as they are;
// overrides of other names that the source no longer sets are removed (or set to the source's
// default with DefaultsFrom::kSource).
ConfigPlan PlanConfigs(const std::vector<kafka::ConfigEntry>& source,
                       const std::vector<kafka::ConfigEntry>& target, const ConfigRules& rules);

// ---- ACLs -------------------------------------------------------------------------------------

struct AclRules {
  bool copy_write = false;    // ALLOW WRITE on topics is copied
  bool downgrade_all = true;  // ALLOW ALL on topics becomes ALLOW READ
  bool copy_deny = true;      // DENY bindings are copied
  bool sync_groups = true;    // GROUP bindings of selected groups are copied
  bool remove_stale = true;   // bindings kmirror created that no longer follow are removed
};

// The flow's naming and selection, as the ACL mapping needs it.
struct AclScope {
  std::function<bool(const std::string&)> replicate_topic;      // the flow's topic selection
  std::function<std::string(const std::string&)> remote_topic;  // name (or prefix) on the target
  std::function<bool(const std::string&)> sync_group;           // the flow's group filter
  // Source topics the flow replicates now; a PREFIXED topic binding is copied when it covers at
  // least one of them.
  std::vector<std::string> replicated_topics;
};

// The binding `source` becomes on the target, or nullopt when it is not copied.
std::optional<kafka::AclBinding> MapAcl(const kafka::AclBinding& source, const AclRules& rules,
                                        const AclScope& scope);

// A stable text key of a binding (resource, pattern, principal, host, operation, permission).
std::string AclKey(const kafka::AclBinding& binding);

struct AclPlan {
  std::vector<kafka::AclBinding> add;     // mapped from the source, missing on the target
  std::vector<kafka::AclBinding> remove;  // created by kmirror, no longer mapped from the source
  // Bindings kmirror owns once the plan is applied (the ledger's next content).
  std::vector<kafka::AclBinding> owned;
};

// `owned` is what the ledger says kmirror created. Only owned bindings that still exist on the
// target count: a binding someone deleted by hand is forgotten, so re-creating it by hand later
// makes it foreign. A binding already on the target that kmirror did not create is left alone
// and never becomes owned, even when the source maps onto it.
AclPlan PlanAcls(const std::vector<kafka::AclBinding>& source,
                 const std::vector<kafka::AclBinding>& target,
                 const std::vector<kafka::AclBinding>& owned, const AclRules& rules,
                 const AclScope& scope);

}  // namespace kmirror::topicsync
