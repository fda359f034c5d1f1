#include "lib/dr/selection.h"

#include <utility>

#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"

namespace kmirror::dr {

absl::StatusOr<std::shared_ptr<policy::TopicSelector>> SelectorFor(const config::FlowConfig& f) {
  auto filter = policy::NameFilter::Create(f.topics, f.topics_exclude);
  if (!filter.ok()) return filter.status();
  std::shared_ptr<const policy::ReplicationPolicy> naming;
  if (f.replication_policy == config::ReplicationPolicyKind::kIdentity) {
    naming = std::make_shared<policy::IdentityPolicy>(f.source, f.separator);
  } else {
    naming = std::make_shared<policy::PrefixPolicy>(f.separator);
  }
  return std::make_shared<policy::TopicSelector>(std::move(naming), std::move(*filter), f.source,
                                                 f.target);
}

config::FlowConfig ReverseFlow(const config::FlowConfig& f) {
  config::FlowConfig r = f;
  std::swap(r.source, r.target);
  r.source_kafka.clear();
  r.target_kafka.clear();
  r.source_kafka_secret_refs.clear();
  r.target_kafka_secret_refs.clear();
  r.group_id = "kmirror." + r.source + "-" + r.target + ".failback";
  r.start_from = config::StartFrom::kEarliest;
  r.emit_checkpoints = true;
  r.sync_group_offsets = true;
  r.mm2_takeover = false;  // the reverse flow starts at the failover mark, never after MM2
  r.enabled = true;
  return r;
}

}  // namespace kmirror::dr
