// Offset syncs: MM2-format (upstream offset, downstream offset) pairs per source partition,
// written to MM2's offset-syncs topic, and read back as the latest sync per partition.
//
// OffsetSyncWriter is an AckObserver: the flow's worker thread hands it every acknowledged record
// (a short lock, no I/O); its own thread (Start) writes the due syncs. A sync is due for a
// partition on its first ack, whenever the (downstream - upstream) delta changes (a gap on either
// side: compaction, retention, skipped or foreign records), when the downstream offset went back
// (topic recreated), after `max_offset_lag` records without one (MM2's offset.lag.max, 100) and
// `max_interval` after the last one if records arrived since (so the latest position is never
// older than that). Pending syncs are one per partition (a newer sync replaces an unwritten one:
// counted as dropped) and bounded by `max_pending_partitions`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/offsets/ack_observer.h"
#include "lib/offsets/mm2_format.h"
#include "lib/offsets/periodic.h"
#include "lib/offsets/probe.h"
#include "lib/offsets/seams.h"

namespace kmirror::offsets {

// Thread-safe: OnReplicated() from any thread; Flush() from one thread at a time (the writer
// thread once started).
class OffsetSyncWriter final : public AckObserver {
 public:
  struct Options {
    // MM2's name: policy.OffsetSyncsTopic(<other cluster>), where the other cluster is the
    // target alias when the topic lives on the source and the source alias when it lives on the
    // target (MirrorSourceConfig.offsetSyncsTopic()).
    std::string topic;
    int64_t max_offset_lag = 100;
    std::chrono::milliseconds max_interval{1000};
    std::chrono::milliseconds flush_interval{200};
    size_t max_pending_partitions = 100000;
  };
  // `writer` and `admin` address the cluster holding the topic; `probe` may be null.
  OffsetSyncWriter(RecordWriter& writer, TopicAdmin& admin, OffsetsProbe* probe, Clock clock,
                   Options options);
  ~OffsetSyncWriter() override;

  void OnReplicated(const SourcePartition& partition, SourceOffset source,
                    TargetOffset target) override;

  // Creates the topic (compacted, one partition) if needed and writes every due sync. Failed
  // syncs stay pending unless a newer one replaced them.
  absl::Status Flush();

  // Runs Flush() every flush_interval on a thread of its own.
  void Start();
  // Stops the thread, then writes the latest position of every partition (due or not), so a
  // restart in provenance-off mode re-reads as little as possible. Idempotent.
  void Stop();

  int64_t dropped() const;

 private:
  struct State {
    int64_t prev_up = -1;
    int64_t prev_down = -1;
    int64_t last_sync_down = -1;
    int64_t last_sync_up = -1;
    int64_t last_sync_ms = 0;
    bool unsynced = false;  // prev_* is newer than the last sync
  };
  absl::Status FlushImpl(bool everything);
  void EnqueueLocked(const SourcePartition& partition, State& state, int64_t now);

  RecordWriter& writer_;
  TopicAdmin& admin_;
  OffsetsProbe* probe_;
  Clock clock_;
  const Options options_;
  bool topic_ready_ = false;  // Flush() thread only
  mutable std::mutex mu_;
  std::map<SourcePartition, State> states_;        // guarded by mu_
  std::map<SourcePartition, OffsetSync> pending_;  // guarded by mu_
  int64_t dropped_ = 0;                            // guarded by mu_
  PeriodicThread thread_;
};

// The latest offset sync per source partition in `topic` (read from its start). For the
// provenance-off progress store: resume replication at upstream_offset + 1 (at-least-once).
absl::StatusOr<std::map<SourcePartition, OffsetSync>> ReadLatestOffsetSyncs(
    TopicReader& reader, const std::string& topic);

}  // namespace kmirror::offsets
