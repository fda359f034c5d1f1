#include "lib/offsets/group_sync.h"

#include <map>
#include <utility>

#include "lib/kafka/types.h"

namespace kmirror::offsets {

GroupOffsetSync::GroupOffsetSync(GroupAdmin& target_groups, OffsetsProbe* probe)
    : target_groups_(target_groups), probe_(probe) {}

absl::StatusOr<GroupOffsetSync::Outcome> GroupOffsetSync::Sync(
    const std::string& group, const std::vector<CommittedOffset>& translated) {
  if (IsPaused(group)) {
    if (probe_) probe_->RecordGroupSyncSkipped("paused");
    return Outcome::kSkippedPaused;
  }
  auto info = target_groups_.DescribeGroup(group);
  if (!info.ok()) {
    if (probe_) probe_->RecordGroupSyncSkipped("error");
    return info.status();
  }
  const bool idle = info->members == 0 && (info->state == kafka::GroupState::kEmpty ||
                                           info->state == kafka::GroupState::kDead ||
                                           info->state == kafka::GroupState::kUnknown);
  if (!idle) {
    if (probe_) probe_->RecordGroupSyncSkipped("active_members");
    return Outcome::kSkippedActive;
  }
  auto current = target_groups_.Committed(group);
  if (!current.ok()) {
    if (probe_) probe_->RecordGroupSyncSkipped("error");
    return current.status();
  }
  std::map<kafka::TopicPartition, int64_t> existing;
  for (const CommittedOffset& c : *current) existing[{c.topic, c.partition}] = c.offset;
  std::vector<CommittedOffset> forward;
  for (const CommittedOffset& t : translated) {
    auto it = existing.find({t.topic, t.partition});
    // Never backwards, unless the group points past the partition's end (the target topic was
    // recreated or truncated): consumers there would skip every record up to it.
    const bool past_end = t.log_end >= 0 && it != existing.end() && it->second > t.log_end;
    if (it != existing.end() && it->second >= t.offset && !past_end) continue;
    forward.push_back(t);
  }
  if (forward.empty()) return Outcome::kUnchanged;
  // The broker rejects a generation-less commit once a member has joined since the describe,
  // so a consumer starting right now is not overwritten either.
  absl::Status s = target_groups_.Commit(group, forward);
  if (!s.ok()) {
    if (probe_) probe_->RecordGroupSyncSkipped("error");
    return s;
  }
  if (probe_) probe_->RecordGroupSyncWritten();
  return Outcome::kWritten;
}

void GroupOffsetSync::Pause(const std::string& group) { SetPaused(group, true); }

void GroupOffsetSync::Resume(const std::string& group) { SetPaused(group, false); }

void GroupOffsetSync::SetPaused(const std::string& group, bool paused) {
  std::function<void(const std::string&, bool)> hook;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool changed = paused ? paused_.insert(group).second : paused_.erase(group) > 0;
    if (!changed) return;
    hook = hook_;
  }
  if (hook) hook(group, paused);
}

bool GroupOffsetSync::IsPaused(const std::string& group) const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_.count(group) > 0;
}

std::set<std::string> GroupOffsetSync::Paused() const {
  std::lock_guard<std::mutex> lock(mu_);
  return paused_;
}

void GroupOffsetSync::SetPauseHook(std::function<void(const std::string&, bool)> hook) {
  std::lock_guard<std::mutex> lock(mu_);
  hook_ = std::move(hook);
}

std::string_view ToString(GroupOffsetSync::Outcome outcome) {
  switch (outcome) {
    case GroupOffsetSync::Outcome::kWritten:
      return "written";
    case GroupOffsetSync::Outcome::kUnchanged:
      return "unchanged";
    case GroupOffsetSync::Outcome::kSkippedActive:
      return "skipped_active";
    case GroupOffsetSync::Outcome::kSkippedPaused:
      return "skipped_paused";
  }
  return "unknown";
}

}  // namespace kmirror::offsets
