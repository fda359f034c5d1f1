#include "lib/topicsync/change.h"

#include "fmt/format.h"

namespace kmirror::topicsync {

std::string_view ToString(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kTopicCreated:
      return "topic_created";
    case ChangeKind::kPartitionsAdded:
      return "partitions_added";
    case ChangeKind::kConfigSet:
      return "config_set";
    case ChangeKind::kConfigReset:
      return "config_reset";
    case ChangeKind::kAclAdded:
      return "acl_added";
    case ChangeKind::kAclRemoved:
      return "acl_removed";
  }
  return "unknown";
}

nlohmann::json ToJson(const Change& change) {
  nlohmann::json j;
  j["kind"] = std::string(ToString(change.kind));
  j["resource"] = change.resource;
  if (!change.name.empty()) j["name"] = change.name;
  j["before"] = change.before ? nlohmann::json(*change.before) : nlohmann::json(nullptr);
  j["after"] = change.after ? nlohmann::json(*change.after) : nlohmann::json(nullptr);
  return j;
}

std::string ToLogText(const Change& change) {
  const bool config =
      change.kind == ChangeKind::kConfigSet || change.kind == ChangeKind::kConfigReset;
  auto show = [config](const std::optional<std::string>& v) {
    return v ? fmt::format("\"{}\"", *v) : std::string(config ? "(default)" : "(absent)");
  };
  std::string out =
      fmt::format("change={} resource=\"{}\"", ToString(change.kind), change.resource);
  if (!change.name.empty()) out += fmt::format(" config={}", change.name);
  out += fmt::format(" before={} after={}", show(change.before), show(change.after));
  return out;
}

}  // namespace kmirror::topicsync
