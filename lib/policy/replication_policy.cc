#include "lib/policy/replication_policy.h"

#include <utility>

#include "lib/common/status.h"

namespace kmirror::policy {
namespace {

constexpr std::string_view kHeartbeats = "heartbeats";

std::string Concat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p);
  return out;
}

}  // namespace

std::string ReplicationPolicy::OriginalTopic(std::string_view topic) const {
  std::string current(topic);
  // Every real hop shortens the name; the bound only guards against a policy that never
  // converges.
  for (size_t hops = 0; hops <= topic.size(); ++hops) {
    std::optional<std::string> upstream = UpstreamTopic(current);
    if (!upstream.has_value() || *upstream == current) return current;
    current = std::move(*upstream);
  }
  return current;
}

std::string ReplicationPolicy::CheckpointsTopic(std::string_view cluster_alias) const {
  return Concat({cluster_alias, ".checkpoints.internal"});
}

std::string ReplicationPolicy::OffsetSyncsTopic(std::string_view cluster_alias) const {
  return Concat({"mm2-offset-syncs.", cluster_alias, ".internal"});
}

bool ReplicationPolicy::IsHeartbeatsTopic(std::string_view topic) const {
  return OriginalTopic(topic) == HeartbeatsTopic();
}

bool ReplicationPolicy::IsCheckpointsTopic(std::string_view topic) const {
  return topic.ends_with(".checkpoints.internal");
}

bool ReplicationPolicy::IsMm2InternalTopic(std::string_view topic) const {
  return topic.ends_with(".internal");
}

bool ReplicationPolicy::IsInternalTopic(std::string_view topic) const {
  const bool kafka_internal = topic.starts_with("__") || topic.starts_with(".");
  const bool connect_internal = topic.ends_with("-internal") || topic.ends_with(".internal");
  return IsMm2InternalTopic(topic) || kafka_internal || connect_internal;
}

// ---------------------------------------------------------------------------------------------

PrefixPolicy::PrefixPolicy(std::string separator) : separator_(std::move(separator)) {
  KM_CHECK_MSG(!separator_.empty(), "replication policy separator must not be empty");
}

std::string PrefixPolicy::FormatRemoteTopic(std::string_view source_alias,
                                            std::string_view topic) const {
  return Concat({source_alias, separator_, topic});
}

std::optional<std::string> PrefixPolicy::TopicSource(std::string_view topic) const {
  const size_t pos = topic.find(separator_);
  if (pos == std::string_view::npos || pos == 0) return std::nullopt;
  std::string_view rest = topic.substr(pos + separator_.size());
  while (rest.starts_with(separator_)) rest.remove_prefix(separator_.size());
  if (rest.empty()) return std::nullopt;
  return std::string(topic.substr(0, pos));
}

std::optional<std::string> PrefixPolicy::UpstreamTopic(std::string_view topic) const {
  std::optional<std::string> source = TopicSource(topic);
  if (!source.has_value()) return std::nullopt;
  return std::string(topic.substr(source->size() + separator_.size()));
}

std::string PrefixPolicy::CheckpointsTopic(std::string_view cluster_alias) const {
  return Concat({cluster_alias, separator_, "checkpoints", separator_, "internal"});
}

std::string PrefixPolicy::OffsetSyncsTopic(std::string_view cluster_alias) const {
  return Concat({"mm2-offset-syncs", separator_, cluster_alias, separator_, "internal"});
}

bool PrefixPolicy::IsCheckpointsTopic(std::string_view topic) const {
  return topic.ends_with(Concat({separator_, "checkpoints", separator_, "internal"}));
}

bool PrefixPolicy::IsMm2InternalTopic(std::string_view topic) const {
  return topic.ends_with(Concat({separator_, "internal"}));
}

// ---------------------------------------------------------------------------------------------

IdentityPolicy::IdentityPolicy(std::string source_alias, std::string separator)
    : source_alias_(std::move(source_alias)), prefix_(std::move(separator)) {}

bool IdentityPolicy::LooksLikeHeartbeats(std::string_view topic) const {
  return topic == kHeartbeats || topic.ends_with(Concat({prefix_.separator(), kHeartbeats}));
}

std::string IdentityPolicy::FormatRemoteTopic(std::string_view source_alias,
                                              std::string_view topic) const {
  if (LooksLikeHeartbeats(topic)) return prefix_.FormatRemoteTopic(source_alias, topic);
  return std::string(topic);
}

std::optional<std::string> IdentityPolicy::TopicSource(std::string_view topic) const {
  if (LooksLikeHeartbeats(topic)) return prefix_.TopicSource(topic);
  if (source_alias_.empty()) return std::nullopt;
  return source_alias_;
}

std::optional<std::string> IdentityPolicy::UpstreamTopic(std::string_view topic) const {
  if (LooksLikeHeartbeats(topic)) return prefix_.UpstreamTopic(topic);
  return std::string(topic);
}

std::string IdentityPolicy::CheckpointsTopic(std::string_view cluster_alias) const {
  return prefix_.CheckpointsTopic(cluster_alias);
}

std::string IdentityPolicy::OffsetSyncsTopic(std::string_view cluster_alias) const {
  return prefix_.OffsetSyncsTopic(cluster_alias);
}

bool IdentityPolicy::IsCheckpointsTopic(std::string_view topic) const {
  return prefix_.IsCheckpointsTopic(topic);
}

bool IdentityPolicy::IsMm2InternalTopic(std::string_view topic) const {
  return prefix_.IsMm2InternalTopic(topic);
}

}  // namespace kmirror::policy
