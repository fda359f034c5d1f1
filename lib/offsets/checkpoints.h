// CheckpointEmitter: every interval, translates the committed offsets of the flow's consumer
// groups on the source and writes MM2-format checkpoints to `<source>.checkpoints.internal` on the
// target (compacted, one partition, created if missing); optionally syncs the translated offsets
// into the target groups (GroupOffsetSync).
//
// A checkpoint is written only when it changed, and per (group, partition) the downstream offset
// never goes back, unless the source group itself rewound (its committed offset went down): then
// the lower checkpoint is written, as MM2 does. The last checkpoints are read back from the topic
// at start, so this holds across restarts and instances. Partitions whose translation is a miss
// (group ahead of replication) get no checkpoint and are counted.
// Runs on its own thread (Start); RunOnce() is the loop body, public for tests. Not thread-safe
// otherwise: call RunOnce() from one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lib/offsets/group_sync.h"
#include "lib/offsets/mm2_format.h"
#include "lib/offsets/periodic.h"
#include "lib/offsets/probe.h"
#include "lib/offsets/seams.h"
#include "lib/offsets/translator.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/topic_selector.h"

namespace kmirror::offsets {

class CheckpointEmitter {
 public:
  struct Options {
    std::string checkpoints_topic;  // policy.CheckpointsTopic(source alias)
    std::chrono::milliseconds interval{5000};
  };
  // Everything it talks to. `target_*` address the target cluster, `source_groups` the source.
  struct Io {
    GroupAdmin& source_groups;
    RecordWriter& target_writer;
    TopicReader& target_reader;
    TopicAdmin& target_admin;
  };
  // `group_sync` null: no group offset sync. `selector` decides which topics are replicated and
  // names them on the target; `groups` selects consumer groups. `probe` may be null. All
  // references must outlive the emitter.
  CheckpointEmitter(Io io, Translator& translator, const policy::TopicSelector& selector,
                    const policy::NameFilter& groups, GroupOffsetSync* group_sync,
                    OffsetsProbe* probe, Clock clock, Options options);
  ~CheckpointEmitter();

  struct PassResult {
    int64_t groups = 0;         // selected groups seen
    int64_t written = 0;        // checkpoint records written
    int64_t misses = 0;         // partitions without a translation yet
    int64_t groups_synced = 0;  // target groups written by group offset sync
  };
  // One pass: load existing checkpoints (first pass), list groups, translate, write, sync.
  absl::StatusOr<PassResult> RunOnce();

  // Failback checkpoints (call before Start()): committed offsets on remote topics that came
  // from the target (`A.orders` on B, flow B->A) are translated back through `reverse` and
  // checkpointed under the original name (`orders`), as MM2 renames them.
  void SetReverseTranslator(ReverseTranslator* reverse) { reverse_ = reverse; }
  // Turns group offset sync on for the passes that follow (a final pass at failover when periodic
  // sync is off). Call while no pass runs (before Start() or after Stop()).
  void EnableGroupSync(GroupOffsetSync* group_sync) { group_sync_ = group_sync; }

  void Start();
  void Stop();  // idempotent

  // The last checkpoint per (group, target topic, partition), as written or read back.
  std::optional<Checkpoint> Last(const std::string& group, const std::string& topic,
                                 int32_t partition) const;
  // When the last complete pass ended (clock ms), -1 before the first. Any thread.
  int64_t last_pass_ms() const { return last_pass_ms_.load(); }

 private:
  using Key = std::tuple<std::string, std::string, int32_t>;  // group, target topic, partition
  absl::Status Load();
  // The checkpoint topic name and translation of one committed offset; nullopt when the topic is
  // not checkpointed by this flow.
  std::optional<std::pair<std::string, absl::StatusOr<Translation>>> TranslateOne(
      const CommittedOffset& c);

  Io io_;
  Translator& translator_;
  const policy::TopicSelector& selector_;
  const policy::NameFilter& groups_;
  GroupOffsetSync* group_sync_;
  ReverseTranslator* reverse_ = nullptr;
  OffsetsProbe* probe_;
  Clock clock_;
  const Options options_;
  bool loaded_ = false;
  std::atomic<int64_t> last_pass_ms_{-1};
  mutable std::mutex mu_;  // guards last_ for Last() from other threads
  std::map<Key, Checkpoint> last_;
  PeriodicThread thread_;
};

}  // namespace kmirror::offsets
