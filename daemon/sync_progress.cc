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
  const std::set<TargetPartition> wanted(partitions.begin(), partitions.end());
  std::map<TargetPartition, replication::TailState> out;
  for (const auto& [source, sync] : *syncs) {
    TargetPartition target{remote_topic_(source.topic), source.partition};
    if (!wanted.count(target)) continue;
    replication::TailState& t = out[target];
    t.last = SourceOffset(sync.upstream_offset);
  }
  return out;
}

}  // namespace kmirror::daemon
