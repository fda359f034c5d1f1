// The persisted state of a flow as the control plane sees it: its phase (running, paused, failed
// over, failing back), the failover marks per partition, where a reverse flow starts and where
// the flow resumes after a failback, plus the record kinds kept beside it (audit entries, drill
// reports). Persisted as JSON in a compacted topic on the flow's target cluster (StateStore), so a
// restarted kmirrord or another instance of the flow honours it.
//
// Pure data and JSON; thread-compatible. StateStore implementations state their own safety.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kmirror::dr {

// The compacted topic on each target cluster that holds flow states, audit entries and drills.
inline constexpr char kStateTopic[] = "kmirror-state.internal";

enum class Phase {
  kRunning,      // replicating source -> target
  kPaused,       // fetching stopped by an operator; group membership and metrics kept
  kFailedOver,   // applications moved to the target; nothing is replicated
  kFailingBack,  // the reverse flow target -> source runs; applications still on the target
};
std::string PhaseName(Phase phase);
std::optional<Phase> ParsePhase(std::string_view name);

// One partition at the failover mark.
struct PartitionMark {
  std::string topic;  // source topic
  int32_t partition = 0;
  std::string remote_topic;  // its name on the target
  int64_t source_next = -1;  // first source offset that is NOT on the target (-1: unknown)
  int64_t target_end = -1;   // end offset of the remote partition at the mark (-1: unknown)
  int64_t source_end = -1;   // source end offset at the last observation (-1: unknown)
  double lag_seconds = 0;    // how far behind the partition was at that observation
  int64_t observed_ms = 0;   // when source_end was observed (ms since epoch)
  // Records on the source that never reached the target (source_end - source_next), as known.
  int64_t MissingRecords() const;
  bool operator==(const PartitionMark&) const = default;
};

// "topic:partition", the key of the per-partition offset maps below.
std::string PartitionKey(const std::string& topic, int32_t partition);

struct FlowState {
  std::string flow;  // "A->B"
  Phase phase = Phase::kRunning;
  int64_t version = 0;  // incremented by every change
  int64_t changed_ms = 0;
  std::string changed_by;  // who (peer description) and on which instance
  std::string reason;      // the action that made this state
  // Set by failover, kept until the switch back completes.
  std::string failover_kind;  // "planned" or "forced"
  int64_t failover_ms = 0;
  std::vector<PartitionMark> marks;
  // Where the reverse flow (target -> source) starts on each target partition it copies: the
  // target's end offsets at the failover, so only what applications wrote since is sent back.
  std::map<std::string, int64_t> reverse_start;
  // Set by failback: the source end offsets when the reverse flow started. The flow resumes no
  // lower after the switch back, so records reported as divergent are never copied late.
  std::map<std::string, int64_t> resume_floor;
  // Divergent records found by failback (on the source after the mark) and where they went.
  nlohmann::json divergence = nullptr;
  // Consumer groups whose offsets are not synced into the target (operators pause them before
  // starting consumers there).
  std::set<std::string> paused_groups;
  // Records an operator gave up (kmirrorctl skip): "topic:partition" -> the skipped source
  // offset. Every instance passes over exactly that record and counts it as lost.
  std::map<std::string, int64_t> skips;

  bool operator==(const FlowState&) const = default;
};

nlohmann::json ToJson(const PartitionMark& m);
nlohmann::json ToJson(const FlowState& s);
absl::StatusOr<FlowState> FlowStateFromJson(const nlohmann::json& j);

// An audit entry: every control action, whatever its result.
struct AuditEntry {
  int64_t at_ms = 0;
  std::string instance;  // daemon instance id
  std::string flow;      // may be empty (daemon-wide actions)
  std::string action;    // "pause", "failover", ...
  std::string who;       // peer description
  nlohmann::json args = nlohmann::json::object();
  std::string result;  // "ok", "refused", "failed"
  std::string detail;
};
nlohmann::json ToJson(const AuditEntry& e);

// Keys of the state topic.
std::string FlowKey(const std::string& flow);
std::string AuditKey(const AuditEntry& e, int64_t sequence);
std::string DrillKey(const std::string& flow, int64_t at_ms);

// Where flow states live. Thread-safe implementations.
class StateStore {
 public:
  virtual ~StateStore() = default;
  // The newest state of `flow`; nullopt when none was ever written. Reads what is new first.
  virtual absl::StatusOr<std::optional<FlowState>> LoadFlow(const std::string& flow) = 0;
  // Writes `next` (acknowledged by the cluster on return) if the stored version is still
  // `next.version - 1`; FailedPrecondition naming the newer change otherwise.
  virtual absl::Status SaveFlow(const FlowState& next) = 0;
  // Appends a record under a unique key (audit entries, drill reports).
  virtual absl::Status Append(const std::string& key, const nlohmann::json& value) = 0;
  // Records whose key starts with `prefix`, oldest first, at most `limit` (the newest ones).
  virtual absl::StatusOr<std::vector<nlohmann::json>> List(const std::string& prefix,
                                                           size_t limit) = 0;
};

}  // namespace kmirror::dr
