// AckObserver: how a replication flow tells lib/offsets what it has replicated.
//
// The flow calls OnReplicated() once per record the target acknowledged (any order across
// partitions, in any order within one), and OnSourcePosition() after it has processed, i.e.
// replicated or deliberately skipped, every source record below `next` of a partition (its
// consumer position once all acks are in). Both are called from the flow's worker thread and
// must be cheap and non-blocking; implementations are thread-safe.
#pragma once

#include <vector>

#include "lib/common/types.h"

namespace kmirror::offsets {

class AckObserver {
 public:
  virtual ~AckObserver() = default;
  virtual void OnReplicated(const SourcePartition& partition, SourceOffset source,
                            TargetOffset target) = 0;
  // Optional: lets the translator answer for a group ahead of the last replicated record across a
  // gap (transaction markers, compacted-away records). Default: ignored.
  virtual void OnSourcePosition(const SourcePartition& partition, SourceOffset next) {
    (void)partition;
    (void)next;
  }
  // Optional: the target partition holds less than was acknowledged (truncated or recreated), so
  // whatever was learnt about its offsets is void. Default: ignored.
  virtual void OnTargetReset(const SourcePartition& partition) { (void)partition; }
};

// Forwards to several observers (e.g. the Translator and the OffsetSyncWriter) in order. The
// observers must outlive it. Thread-safe if they are.
class AckFanout final : public AckObserver {
 public:
  explicit AckFanout(std::vector<AckObserver*> observers) : observers_(std::move(observers)) {}
  void OnReplicated(const SourcePartition& partition, SourceOffset source,
                    TargetOffset target) override {
    for (AckObserver* o : observers_) o->OnReplicated(partition, source, target);
  }
  void OnSourcePosition(const SourcePartition& partition, SourceOffset next) override {
    for (AckObserver* o : observers_) o->OnSourcePosition(partition, next);
  }
  void OnTargetReset(const SourcePartition& partition) override {
    for (AckObserver* o : observers_) o->OnTargetReset(partition);
  }

 private:
  std::vector<AckObserver*> observers_;
};

}  // namespace kmirror::offsets
