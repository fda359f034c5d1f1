// What each kmirrord instance running a flow tells the others, every state poll, in the flow's
// state topic (key instance/<flow>/<instance>): the partitions it holds, where each stands, and
// whether its share is drained. A failover run on any instance takes the other instances'
// partitions' marks from these reports.
//
// Liveness is judged on the reader's own monotonic clock, never by comparing the writer's wall
// clock with the reader's: every report carries a sequence number, and an instance whose
// sequence has not changed for `stale_after` of the reader's time is stale (killed, or cut off
// from the target). A skewed clock on a live peer changes nothing.
//
// Data types and JSON are pure; PeerTracker is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/dr/clock.h"

namespace kmirror::dr {

// One application partition as its instance sees it.
struct ReportedPosition {
  SourcePartition source;
  TargetPartition target;
  int64_t position = -1;    // next source offset to replicate (-1: not known yet)
  int64_t source_end = -1;  // source end offset last seen
  double lag_seconds = 0;
  bool operator==(const ReportedPosition&) const = default;
};

// One direction the instance runs ("replication", or "reverse_replication" while failing back).
struct UnitReport {
  std::string flow;
  int64_t partitions = 0;  // every partition it holds, kmirror's own topics included
  int64_t lag_records = 0;
  double lag_seconds = 0;
  // Every application partition it holds has started and replicated all it saw of the source.
  bool drained = false;
  std::vector<ReportedPosition> positions;  // application partitions (forward direction only)
  bool operator==(const UnitReport&) const = default;
};

struct InstanceReport {
  // 1: positions as positional arrays, no sequence (kmirror before lib/dr); still read.
  static constexpr int kVersion = 2;
  int version = kVersion;
  std::string instance;
  int64_t sequence = 0;  // changes with every report the instance writes
  int64_t at_ms = 0;     // the writer's wall clock: shown to people, never compared
  bool stopped = false;  // the instance stopped cleanly
  std::optional<UnitReport> replication;
  std::optional<UnitReport> reverse_replication;
  bool operator==(const InstanceReport&) const = default;
};

nlohmann::json ToJson(const InstanceReport& r, bool with_positions = true);
// InvalidArgument naming the field that is missing or of the wrong type.
absl::StatusOr<InstanceReport> InstanceReportFromJson(const nlohmann::json& j);

enum class PeerState { kActive, kStale, kStopped };
std::string PeerStateName(PeerState s);

// An instance's last report with its state as judged here.
struct Peer {
  InstanceReport report;
  PeerState state = PeerState::kActive;
  double age_seconds = 0;  // local time since its sequence last changed (or since first seen)
};

class PeerTracker {
 public:
  explicit PeerTracker(std::chrono::milliseconds stale_after) : stale_after_(stale_after) {}
  // Every instance's newest report as just read, judged at `now`. An instance seen for the first
  // time counts as active until its sequence stands still for `stale_after`: a dead one is
  // waited for a little, a live one (whatever its clock says) never skipped.
  std::vector<Peer> Observe(const std::vector<InstanceReport>& reports, Clock::TimePoint now);
  // The sequence last seen of `instance` (nullopt: never seen).
  std::optional<int64_t> Sequence(const std::string& instance) const;

 private:
  struct Seen {
    int64_t sequence = 0;
    Clock::TimePoint changed;
  };
  const std::chrono::milliseconds stale_after_;
  mutable std::mutex mu_;
  std::map<std::string, Seen> seen_;
};

}  // namespace kmirror::dr
