// Exact offset translation: source committed offset -> target offset, read from the target
// partition itself.
//
// Every record kmirror replicates carries its source offset in a provenance header, so the remote
// partition is a persistent, ordered index from target offset to source offset. translate(X) is
// the position on the target where a consumer must resume to see exactly the replicated records
// whose source offset is >= X: the target offset of the first such record, reached as "one past
// the last replicated record with source offset < X" (identical when the partition holds only
// replicated records, and it never skips foreign records interleaved under identity naming).
// Found by binary search over the target partition (TargetIndex), with a per-partition cache of
// recent (source, target) pairs fed by the flow's acknowledgements so steady-state checkpoints
// read nothing from Kafka. See docs/offsets.md for the exactness argument.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/offsets/ack_observer.h"

namespace kmirror::offsets {

// One replicated record of this flow on the target: its target offset and source offset.
struct IndexEntry {
  TargetOffset target;
  SourceOffset source;
  bool operator==(const IndexEntry&) const = default;
};

// Read access to a target partition as an index. "Ours" means a record whose provenance says it
// was copied from this flow's source cluster; records without provenance, or copied from another
// cluster (active-active, multi-source identity naming), are not ours and are skipped.
// Called from one thread at a time.
class TargetIndex {
 public:
  struct Bounds {
    TargetOffset low;   // log start offset
    TargetOffset high;  // end offset (next offset to be written)
  };
  virtual ~TargetIndex() = default;
  virtual absl::StatusOr<Bounds> GetBounds(const TargetPartition& partition) = 0;
  // The first record of ours at target offset >= `from` and < `limit`, or nullopt if none.
  virtual absl::StatusOr<std::optional<IndexEntry>> NextOurs(const TargetPartition& partition,
                                                             TargetOffset from,
                                                             TargetOffset limit) = 0;
};

struct Translation {
  enum class Kind {
    kExact,  // `target` is the exact resume position.
    kMiss,   // No mapping yet: the group is ahead of what has been replicated. Do not checkpoint.
  };
  Kind kind = Kind::kMiss;
  TargetOffset target;
  bool from_cache = false;  // answered without reading the target partition
  int64_t target_end = -1;  // the target partition's end when it was read (-1: from the cache)
};

// Thread-safe: OnReplicated/OnSourcePosition (flow worker threads) only take a short lock;
// Translate() is meant for one thread (the checkpoint emitter) and does its Kafka reads without
// holding the lock.
class Translator final : public AckObserver {
 public:
  struct Options {
    // Cached (source, target) pairs per partition; the oldest are evicted first.
    size_t cache_entries_per_partition = 512;
  };
  // `remote_topic` names a source topic on the target (TopicSelector::RemoteTopic).
  Translator(TargetIndex& index, std::function<std::string(std::string_view)> remote_topic,
             Options options);
  Translator(TargetIndex& index, std::function<std::string(std::string_view)> remote_topic)
      : Translator(index, std::move(remote_topic), Options{}) {}

  // The target position for source committed offset `committed` of `partition`.
  absl::StatusOr<Translation> Translate(const SourcePartition& partition, SourceOffset committed);

  void OnReplicated(const SourcePartition& partition, SourceOffset source,
                    TargetOffset target) override;
  void OnSourcePosition(const SourcePartition& partition, SourceOffset next) override;

  // Forgets cached pairs of a partition (e.g. when the target topic was recreated).
  void Forget(const SourcePartition& partition);
  // The flow found the target partition holding less than was acknowledged: what the cache knows
  // of it is void.
  void OnTargetReset(const SourcePartition& partition) override { Forget(partition); }

 private:
  struct Pair {
    int64_t target = -1;
    // True when the next entry of the map is known to be the next record of ours on the target
    // (nothing of ours lies between them).
    bool next_adjacent = false;
  };
  struct PartitionCache {
    std::map<int64_t, Pair> pairs;  // source offset -> target offset
    int64_t position = -1;          // OnSourcePosition: all source offsets below are done
  };
  void RememberLocked(PartitionCache& cache, IndexEntry e);
  // Records that `a` and `b` are consecutive records of ours.
  void RememberAdjacentLocked(PartitionCache& cache, IndexEntry a, IndexEntry b);
  std::optional<Translation> FromCache(const SourcePartition& partition, SourceOffset x);
  absl::StatusOr<Translation> Search(const SourcePartition& partition, SourceOffset x);

  TargetIndex& index_;
  std::function<std::string(std::string_view)> remote_topic_;
  const Options options_;
  std::mutex mu_;
  std::map<SourcePartition, PartitionCache> cache_;  // guarded by mu_
};

// Failback translation: a group on this flow's source cluster committed offset Y on a remote
// topic that came FROM the target (`A.orders` on B, for the flow B->A); where must it resume on
// the original topic (`orders` on A)? The remote partition's provenance answers: one past the
// source offset of the last replicated record below Y (the group consumed it and everything
// before), or, with none below Y, the source offset of the first one at or after Y.
// `index` reads this flow's SOURCE cluster, and its "ours" is the target cluster's alias.
// Not thread-safe: one thread (the checkpoint emitter).
class ReverseTranslator {
 public:
  explicit ReverseTranslator(TargetIndex& index) : index_(index) {}
  // `remote`: the partition on this flow's source (e.g. {"A.orders", 0}); `committed`: the
  // group's offset there. The Translation's `target` is the offset in the original topic.
  absl::StatusOr<Translation> Translate(const TargetPartition& remote, int64_t committed);

 private:
  TargetIndex& index_;
};

}  // namespace kmirror::offsets
