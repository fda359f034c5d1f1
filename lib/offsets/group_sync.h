// GroupOffsetSync: commits translated offsets into the same consumer group on the target, so
// consumers started there resume where the source group stopped.
//
// Safety rules: a group is written only while it has no active members on the target (state
// Empty, Dead or unknown, no members), a partition's target offset never moves backwards, and a
// paused group is never touched (operators pause a group before starting its consumers on the
// target). Skips are counted by reason. The pause set lives in memory; SetPauseHook lets the
// control plane persist it.
// Thread-safe: Sync() from the checkpoint thread; Pause/Resume/Paused from any thread.
#pragma once

#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/offsets/probe.h"
#include "lib/offsets/seams.h"

namespace kmirror::offsets {

class GroupOffsetSync {
 public:
  enum class Outcome {
    kWritten,        // at least one partition moved forward
    kUnchanged,      // the target group was already at or beyond every offset
    kSkippedActive,  // members on the target: not touched
    kSkippedPaused,  // paused: not touched
  };
  // `target_groups` addresses the target cluster; `probe` may be null.
  GroupOffsetSync(GroupAdmin& target_groups, OffsetsProbe* probe);

  // `translated`: target topic names and translated offsets of one group.
  absl::StatusOr<Outcome> Sync(const std::string& group,
                               const std::vector<CommittedOffset>& translated);

  void Pause(const std::string& group);
  void Resume(const std::string& group);
  bool IsPaused(const std::string& group) const;
  std::set<std::string> Paused() const;
  // Called after every change of the pause set, outside the lock, with the group and its new
  // state. Also used to restore a persisted set: call Pause() for each at startup.
  void SetPauseHook(std::function<void(const std::string& group, bool paused)> hook);

 private:
  void SetPaused(const std::string& group, bool paused);

  GroupAdmin& target_groups_;
  OffsetsProbe* probe_;
  mutable std::mutex mu_;
  std::set<std::string> paused_;                        // guarded by mu_
  std::function<void(const std::string&, bool)> hook_;  // guarded by mu_
};

std::string_view ToString(GroupOffsetSync::Outcome outcome);

}  // namespace kmirror::offsets
