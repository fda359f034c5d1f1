#include "daemon/sync_progress.h"

#include <set>

#include "lib/offsets/offset_syncs.h"

namespace kmirror::daemon {

absl::StatusOr<std::map<TargetPartition, replication::TailState>> OffsetSyncProgress::Read(
    const std::vector<TargetPartition>& partitions, const std::string& /*source_alias*/) {
  // The topic holds only this flow's syncs: it is named after the source cluster.
  if (absl::Status s = admin_->EnsureTopic(topic_, /*compacted=*/true); !s.ok()) return s;
  auto syncs = offsets::ReadLatestOffsetSyncs(*reader_, topic_);
  if (!syncs.ok()) return syncs.status();
  // Every partition was read: one without a sync has no progress yet (an empty state).
  std::map<TargetPartition, replication::TailState> out;
  for (const auto& p : partitions) out[p];
  for (const auto& [source, sync] : *syncs) {
    TargetPartition target{remote_topic_(source.topic), source.partition};
    auto it = out.find(target);
    if (it != out.end()) it->second.last = SourceOffset(sync.upstream_offset);
  }
  return out;
}

}  // namespace kmirror::daemon
