// Decides which source topics a flow replicates and what they are called on the target.
//
// MM2's MirrorSourceConnector.shouldReplicateTopic: a topic is replicated when it passes the
// flow's filter (heartbeat topics always do), is not internal, and is not a cycle, i.e. it did not
// come from the target cluster in the first place (A->B->A), through any number of hops.
//
// Thread-safety: immutable after construction; safe to call from any thread.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"

namespace kmirror::policy {

// The drill's canary topic (kmirrorctl drill): replicated like heartbeats, whatever the filter.
inline constexpr char kDrillTopic[] = "kmirror-drill";

class TopicSelector {
 public:
  // `policy` must not be null.
  TopicSelector(std::shared_ptr<const ReplicationPolicy> policy, NameFilter filter,
                std::string source_alias, std::string target_alias);

  // True when `topic` on the source cluster is to be copied to the target.
  bool ShouldReplicate(std::string_view topic) const;

  // True when `topic`'s name says it (or any upstream hop of it) came from the target cluster.
  // With identity naming, names carry no history, so this only catches heartbeats; loops of data
  // topics are stopped per record by the provenance header (later issue, lib/replication).
  bool IsCycle(std::string_view topic) const;

  // Name of `topic` on the target cluster.
  std::string RemoteTopic(std::string_view topic) const;

  const ReplicationPolicy& policy() const { return *policy_; }
  const std::string& source_alias() const { return source_alias_; }
  const std::string& target_alias() const { return target_alias_; }

 private:
  std::shared_ptr<const ReplicationPolicy> policy_;
  NameFilter filter_;
  std::string source_alias_;
  std::string target_alias_;
};

}  // namespace kmirror::policy
