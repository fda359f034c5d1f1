#include "lib/topicsync/rules.h"

#include <set>
#include <utility>

#include "fmt/format.h"

namespace kmirror::topicsync {

using kafka::AclBinding;
using kafka::AclOperation;
using kafka::AclPermission;
using kafka::ConfigEntry;
using kafka::ConfigSource;
using kafka::PatternType;
using kafka::ResourceType;

absl::StatusOr<ConfigFilter> ConfigFilter::Create(const std::vector<std::string>& exclude) {
  auto names = policy::NameFilter::Create({".*"}, exclude);
  if (!names.ok()) return names.status();
  return ConfigFilter(std::move(*names));
}

bool IsDefault(const ConfigEntry& entry) {
  return entry.is_default || entry.source == ConfigSource::kDefault;
}

namespace {

// kmirror decides this name's value on the target: not excluded, and the source exposes it as a
// writable, non-secret topic config.
bool Managed(const ConfigEntry& source, const ConfigFilter& filter) {
  return !source.read_only && !source.sensitive && !filter.Excluded(source.name);
}

// The value the target must carry as an override for a managed name, or nullopt for "no
// override" (the target's default applies).
std::optional<std::string> WantedOverride(const ConfigEntry& source, const ConfigRules& rules) {
  if (!source.value.has_value() || source.source == ConfigSource::kStaticBroker) {
    return std::nullopt;  // server.properties of the source's brokers is theirs, not the topic's
  }
  if (!IsDefault(source) || rules.defaults_from == DefaultsFrom::kSource) return source.value;
  return std::nullopt;
}

}  // namespace

bool Copyable(const ConfigEntry& entry, const ConfigFilter& filter) {
  return Managed(entry, filter) && entry.value.has_value() &&
         entry.source != ConfigSource::kStaticBroker;
}

std::map<std::string, std::string> CreationConfigs(const std::vector<ConfigEntry>& source,
                                                   const ConfigRules& rules) {
  std::map<std::string, std::string> out;
  for (const ConfigEntry& e : source) {
    if (!Managed(e, *rules.filter)) continue;
    if (auto v = WantedOverride(e, rules)) out[e.name] = *v;
  }
  return out;
}

ConfigPlan PlanConfigs(const std::vector<ConfigEntry>& source,
                       const std::vector<ConfigEntry>& target, const ConfigRules& rules) {
  ConfigPlan plan;
  std::map<std::string, const ConfigEntry*> managed;  // by name, from the source
  for (const ConfigEntry& e : source) {
    if (Managed(e, *rules.filter)) managed[e.name] = &e;
  }
  std::map<std::string, const ConfigEntry*> effective;  // the target's entries by name
  std::map<std::string, std::string> overrides;         // the target topic's own overrides
  for (const ConfigEntry& e : target) {
    effective[e.name] = &e;
    if (e.source != ConfigSource::kDynamicTopic) continue;
    if (!e.value.has_value()) {
      plan.blocked_by = e.name;
      continue;
    }
    overrides[e.name] = *e.value;
  }
  for (const auto& [name, entry] : managed) {
    if (auto v = WantedOverride(*entry, rules)) plan.desired[name] = *v;
  }
  // Overrides of names kmirror does not manage (excluded, or unknown to the source) stay.
  for (const auto& [name, value] : overrides) {
    if (!managed.count(name)) plan.desired[name] = value;
  }
  for (const auto& [name, value] : plan.desired) {
    auto o = overrides.find(name);
    if (o != overrides.end() && o->second == value) continue;
    ConfigChange c;
    c.name = name;
    auto e = effective.find(name);
    if (e != effective.end()) c.before = e->second->value;
    c.after = value;
    plan.changes.push_back(std::move(c));
  }
  for (const auto& [name, value] : overrides) {
    if (plan.desired.count(name)) continue;
    plan.changes.push_back(ConfigChange{name, value, std::nullopt});
  }
  return plan;
}

// ---- ACLs -------------------------------------------------------------------------------------

std::optional<AclBinding> MapAcl(const AclBinding& source, const AclRules& rules,
                                 const AclScope& scope) {
  if (source.pattern_type != PatternType::kLiteral &&
      source.pattern_type != PatternType::kPrefixed) {
    return std::nullopt;
  }
  // A wildcard also covers the target's own topics and groups: not the source's to grant.
  if (source.name.empty() || source.name == "*") return std::nullopt;
  if (source.permission == AclPermission::kDeny && !rules.copy_deny) return std::nullopt;
  if (source.permission != AclPermission::kDeny && source.permission != AclPermission::kAllow) {
    return std::nullopt;
  }
  AclBinding out = source;
  if (source.resource_type == ResourceType::kTopic) {
    if (source.pattern_type == PatternType::kLiteral) {
      if (!scope.replicate_topic(source.name)) return std::nullopt;
    } else {
      bool covers = false;
      for (const std::string& t : scope.replicated_topics) {
        if (t.compare(0, source.name.size(), source.name) == 0) {
          covers = true;
          break;
        }
      }
      if (!covers) return std::nullopt;
    }
    out.name = scope.remote_topic(source.name);
    if (source.permission == AclPermission::kAllow) {
      if (source.operation == AclOperation::kWrite && !rules.copy_write) return std::nullopt;
      if (source.operation == AclOperation::kAll && rules.downgrade_all) {
        out.operation = AclOperation::kRead;
      }
    }
    return out;
  }
  if (source.resource_type == ResourceType::kGroup) {
    // Group names do not change across clusters; a prefix is judged by the filter as a name.
    if (!rules.sync_groups || !scope.sync_group(source.name)) return std::nullopt;
    return out;
  }
  return std::nullopt;
}

std::string AclKey(const AclBinding& b) {
  return fmt::format("{}:{}:{}|{}|{}|{}|{}", kafka::ToString(b.resource_type),
                     kafka::ToString(b.pattern_type), b.name, b.principal, b.host,
                     kafka::ToString(b.operation), kafka::ToString(b.permission));
}

namespace {
std::map<std::string, AclBinding> ByKey(const std::vector<AclBinding>& bindings) {
  std::map<std::string, AclBinding> out;
  for (const AclBinding& b : bindings) out.emplace(AclKey(b), b);
  return out;
}
}  // namespace

AclPlan PlanAcls(const std::vector<AclBinding>& source, const std::vector<AclBinding>& target,
                 const std::vector<AclBinding>& owned, const AclRules& rules,
                 const AclScope& scope) {
  std::map<std::string, AclBinding> desired;
  for (const AclBinding& b : source) {
    if (auto m = MapAcl(b, rules, scope)) desired.emplace(AclKey(*m), *m);
  }
  const std::map<std::string, AclBinding> present = ByKey(target);
  std::map<std::string, AclBinding> mine;  // owned and still on the target
  for (auto& [key, b] : ByKey(owned)) {
    if (present.count(key)) mine.emplace(key, b);
  }
  AclPlan plan;
  for (const auto& [key, b] : desired) {
    if (!present.count(key)) {
      plan.add.push_back(b);
      mine.emplace(key, b);
    }
  }
  for (auto it = mine.begin(); it != mine.end();) {
    if (rules.remove_stale && !desired.count(it->first)) {
      plan.remove.push_back(it->second);
      it = mine.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, b] : mine) plan.owned.push_back(b);
  return plan;
}

}  // namespace kmirror::topicsync
