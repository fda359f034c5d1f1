// Where a flow with provenance headers turned off resumes: the latest MM2 offset sync of each
// partition (lib/offsets' OffsetSyncWriter records one at least every 100 records and every
// second). The flow continues after the sync's upstream offset, so records replicated after the
// last sync are copied again: at-least-once, as docs/replication.md states.
//
// Not thread-safe: used from one thread at a time (the flow's resolver thread), like every
// TargetTail.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/offsets/seams.h"
#include "lib/replication/io.h"

namespace kmirror::daemon {

class OffsetSyncProgress : public replication::TargetTail {
 public:
  // `syncs_topic` is the flow's offset-syncs topic on the target; `remote_topic` names a source
  // topic on the target (the flow's replication policy).
  // `admin` addresses the cluster of the syncs topic: a flow that never wrote a sync finds the
  // topic created (empty) rather than waiting for it.
  OffsetSyncProgress(offsets::TopicReader* reader, offsets::TopicAdmin* admin,
                     std::string syncs_topic,
                     std::function<std::string(const std::string&)> remote_topic)
      : reader_(reader),
        admin_(admin),
        topic_(std::move(syncs_topic)),
        remote_topic_(std::move(remote_topic)) {}

  absl::StatusOr<std::map<TargetPartition, replication::TailState>> Read(
      const std::vector<TargetPartition>& partitions, const std::string& source_alias) override;

 private:
  offsets::TopicReader* reader_;
  offsets::TopicAdmin* admin_;
  std::string topic_;
  std::function<std::string(const std::string&)> remote_topic_;
};

}  // namespace kmirror::daemon
