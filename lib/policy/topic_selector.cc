#include "lib/policy/topic_selector.h"

#include <optional>
#include <utility>

#include "lib/common/status.h"

namespace kmirror::policy {

TopicSelector::TopicSelector(std::shared_ptr<const ReplicationPolicy> policy, NameFilter filter,
                             std::string source_alias, std::string target_alias)
    : policy_(std::move(policy)),
      filter_(std::move(filter)),
      source_alias_(std::move(source_alias)),
      target_alias_(std::move(target_alias)) {
  KM_CHECK(policy_ != nullptr);
}

bool TopicSelector::ShouldReplicate(std::string_view topic) const {
  // Heartbeats are replicated whatever the filter says (MM2: emit/replicate heartbeats enabled),
  // which is what lets every cluster see the whole topology; so is the drill's canary topic.
  const bool selected =
      filter_.Matches(topic) || policy_->IsHeartbeatsTopic(topic) || topic == kDrillTopic;
  return selected && !policy_->IsInternalTopic(topic) && !IsCycle(topic);
}

bool TopicSelector::IsCycle(std::string_view topic) const {
  std::string current(topic);
  // Each real hop shortens the name; the bound guards against a policy that never converges.
  for (size_t hops = 0; hops <= topic.size(); ++hops) {
    std::optional<std::string> source = policy_->TopicSource(current);
    if (!source.has_value()) return false;
    if (*source == target_alias_) return true;
    std::optional<std::string> upstream = policy_->UpstreamTopic(current);
    // Identity-like policies return the topic itself: names carry no further history.
    if (!upstream.has_value() || *upstream == current) return false;
    current = std::move(*upstream);
  }
  return false;
}

std::string TopicSelector::RemoteTopic(std::string_view topic) const {
  return policy_->FormatRemoteTopic(source_alias_, topic);
}

}  // namespace kmirror::policy
