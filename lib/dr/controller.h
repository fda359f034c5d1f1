// The control plane of one configured flow A->B: keeps the running units in line with the flow's
// persisted state (state.h) and carries out the operator's verbs: pause, resume, planned and
// forced failover, failback (divergence report, preservation, reverse flow B->A), switch back,
// skip, group offset sync pause, drill. What each verb may do in each phase is the table in
// phases.h; everything outside the process is reached through seams.h.
//
// The state lives in the target cluster's state topic. Poll() loads it (a failed-over flow never
// silently restarts), applies it and publishes this instance's report; Start() runs Poll() every
// state_poll on a thread of its own, so a change made through another instance is applied here.
//
// Thread-safety: every public method may be called from any thread. Verbs run one at a time per
// flow: a second one is refused (kAborted) naming the one in progress.
// Lock order: op_mu_ (the verb), then apply_mu_ (changing the units), then mu_ (fields); mu_ is
// never held over I/O or while calling into a unit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "lib/config/config.h"
#include "lib/dr/clock.h"
#include "lib/dr/instance_report.h"
#include "lib/dr/phases.h"
#include "lib/dr/seams.h"
#include "lib/dr/state.h"
#include "lib/policy/topic_selector.h"

namespace kmirror::dr {

// What a verb returns: its outcome and a report (also on failure: e.g. the lag that did not
// drain). The report is what kmirrorctl prints.
struct OpResult {
  absl::Status status;
  nlohmann::json report = nlohmann::json::object();
};

struct FailbackOptions {
  enum class Preserve { kQuarantine, kFile };
  Preserve preserve = Preserve::kQuarantine;
  std::string file;  // kFile: absolute path, created (never overwritten) by kmirrord
};

struct DrillOptions {
  int canary_records = 20;
  std::chrono::milliseconds timeout{30000};
  // Freshness limits; zero: derived from the flow (3 intervals, at least 60 s and 30 s).
  std::chrono::milliseconds max_checkpoint_age{0};
  std::chrono::milliseconds max_heartbeat_age{0};
};

// Everything the controller talks to. Not owned; each outlives the controller.
struct ControllerDeps {
  Clock* clock = nullptr;
  StateStore* store = nullptr;
  UnitFactory* units = nullptr;
  Cluster* source = nullptr;
  Cluster* target = nullptr;
  Preserver* preserver = nullptr;
  DrillIo* drill = nullptr;
  // Told the phase whenever it changes (nullopt: not loaded yet), e.g. for a gauge.
  std::function<void(std::optional<Phase>)> on_phase;
};

class Controller {
 public:
  struct Options {
    std::chrono::milliseconds state_poll{5000};  // re-read of the persisted state
    std::chrono::milliseconds drain_timeout{10000};
    // How long replication goes on while the state cannot be read: then it stops (another
    // instance may have failed the flow over) until the state can be read again.
    std::chrono::milliseconds state_grace{30000};
  };
  // `cfg` gives the instance id and the other flows (active-active checks); `f` is this flow.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(const config::Config& cfg,
                                                            const config::FlowConfig& f,
                                                            ControllerDeps deps, Options options);
  ~Controller();

  void Start();
  absl::Status Stop(std::chrono::milliseconds drain_timeout);  // idempotent
  // One turn of the control loop: load and apply the state, then publish this instance's report
  // (only when the state could be read). Returns the load status.
  absl::Status Poll();
  void Reload(const config::FlowConfig& f);
  // True once the state is loaded and what it asks for runs (or is deliberately stopped).
  bool Ready() const;
  const std::string& name() const { return name_; }
  const config::FlowConfig& flow() const { return flow_; }
  StateStore& store() { return store_; }
  nlohmann::json Status() const;
  // Upstream clusters seen in heartbeats on the target, with hops and ages.
  nlohmann::json Topology() const;
  // Replication status of the running unit(s), for the demo and tests.
  std::vector<replication::FlowStatus> UnitStatus() const;

  OpResult Pause(const std::string& who);
  OpResult Resume(const std::string& who);
  OpResult Failover(bool planned, std::chrono::milliseconds timeout, const std::string& who);
  OpResult Failback(const FailbackOptions& options, const std::string& who);
  OpResult SwitchBack(std::chrono::milliseconds timeout, const std::string& who);
  // Gives up the record at `offset` of a source partition (kmirrorctl skip), persisted so that
  // every instance passes over it. Refused when this instance holds the partition stopped at
  // another offset or already past it.
  OpResult Skip(const std::string& topic, int32_t partition, int64_t offset,
                const std::string& who);
  OpResult PauseGroup(const std::string& group, bool paused, const std::string& who);
  OpResult Drill(const DrillOptions& options, const std::string& who);

 private:
  Controller(const config::Config& cfg, config::FlowConfig f, ControllerDeps deps, Options options);

  void ControlLoop();
  // Records this instance's share of the flow in the state topic and reads every instance's.
  void PublishInstance();
  // Records that this instance stopped (best effort; skipped while the state is unreadable).
  void PublishStopped();
  std::string InstanceKey() const;
  // Loads the persisted state and applies it when it changed. Returns the load or apply status;
  // `load_failed` tells which.
  absl::Status Sync(bool* load_failed = nullptr);
  // Makes the running units match `s`. Requires apply_mu_.
  absl::Status ApplyLocked(const FlowState& s);
  // The state has been unreadable for longer than state_grace: stops the running units (they are
  // rebuilt by the next successful Sync).
  void StopForUnreadableState();
  // After a verb stopped a unit and then failed: drops the stopped units, applies `s` again.
  void Reapply(const FlowState& s);
  // Persists `next` (version+1 of the current state) and applies it.
  absl::Status Commit(FlowState next);
  FlowState Current() const;
  std::shared_ptr<ReplicationUnit> Forward() const;
  std::shared_ptr<ReplicationUnit> Reverse() const;
  // A verb that only moves the phase (pause, resume), as the table says.
  OpResult Move(Verb verb, const std::string& who);
  // The verb's rule in the current phase: nullopt to go on (kChange), otherwise the answer.
  std::optional<OpResult> Refuse(Verb verb, const FlowState& s,
                                 nlohmann::json already = nlohmann::json::object()) const;
  // Waits until every partition of `unit` has replicated all it knows of the source. With
  // `may_hold_none`, a unit without partitions counts as drained (other instances hold them).
  absl::Status WaitForZeroLag(ReplicationUnit& unit, std::chrono::milliseconds timeout,
                              nlohmann::json& report, bool may_hold_none = false);
  // Waits until every other active instance of the flow has written a report after this call
  // began (its sequence moved) for which `done(report)` holds. Returns the instances that did
  // not before `deadline`.
  std::vector<std::string> WaitForPeers(Clock::TimePoint deadline,
                                        const std::function<bool(const InstanceReport&)>& done);
  // WaitForPeers until every other active instance reports its share of `role` drained;
  // otherwise a DeadlineExceeded naming them, with `advice`, and `instances_not_drained` in
  // `report`.
  absl::Status WaitForPeersDrained(bool reverse, const std::string& flow, Clock::TimePoint started,
                                   std::chrono::milliseconds timeout, const std::string& advice,
                                   nlohmann::json& report);
  // Every instance's last report of this flow (from the state topic), each with its state:
  // active, stale (its sequence stood still for three polls of local time) or stopped.
  absl::StatusOr<std::vector<Peer>> Peers();
  // Whether another active instance of the flow runs the forward (or reverse) direction as of
  // its last report.
  bool PeersRun(bool reverse);
  // A failover that finds no application partition on any instance.
  absl::Status NoPartitionsError() const;
  // kmirror's own topics (heartbeats, drill canaries) carry no application data.
  bool IsApplicationTopic(const std::string& topic) const;
  // One application partition as an instance of the flow last saw it.
  struct Observed {
    replication::PartitionStatus partition;
    int64_t at_ms = 0;      // when (wall clock of the observer; reports only, never compared)
    Clock::TimePoint seen;  // when, on this instance's clock
    std::string instance;
  };
  // The flow's application partitions: this instance's from `own`, the other instances' from
  // their last reports (unless `own_only`); the freshest observation of each partition wins.
  std::vector<Observed> Observations(const replication::FlowStatus& own, bool own_only = false);
  // Marks per partition: the source offset after the last record the target holds (from its
  // provenance; the observed position without provenance) and the observed source end.
  std::vector<PartitionMark> MarksFrom(const std::vector<Observed>& seen);
  // End offsets of every partition on the target that the reverse flow would copy.
  std::map<std::string, int64_t> ReverseStartOffsets();
  // Stops a unit on a thread of its own (a source that is down can make a close slow); the
  // future is ready once it stopped.
  std::shared_future<void> Retire(std::shared_ptr<ReplicationUnit> unit,
                                  std::chrono::milliseconds drain);
  // Refuses a verb while another runs; returns the lock to hold. With `fresh` (verbs that change
  // the state) the state is re-read first, and the verb refused if it cannot be.
  std::optional<std::unique_lock<std::mutex>> BeginOp(const std::string& what, OpResult& refused,
                                                      bool fresh = true);
  void PublishPhase(std::optional<Phase> phase);
  nlohmann::json UnitJson(ReplicationUnit& unit) const;
  // Clears the name of the verb in progress when the verb returns.
  struct OpName {
    std::mutex& mu;
    std::string& name;
    ~OpName();
  };

  const config::Config cfg_;
  const config::FlowConfig flow_;
  const std::string name_;  // "A->B"
  const ControllerDeps deps_;
  Clock& clock_;
  StateStore& store_;
  const Options options_;
  std::shared_ptr<policy::TopicSelector> selector_;          // the flow's, for its own topics
  std::shared_ptr<policy::TopicSelector> reverse_selector_;  // what a failback copies back
  PeerTracker peers_;
  std::atomic<int64_t> sequence_{0};  // of this instance's reports

  std::mutex op_mu_;                // one verb at a time
  std::string op_name_;             // guarded by mu_: the verb in progress, for refusals
  std::mutex apply_mu_;             // serialises ApplyLocked (control loop and verbs)
  mutable std::mutex mu_;           // guards the fields below
  std::optional<FlowState> state_;  // as last loaded or committed
  int64_t applied_version_ = -1;
  std::shared_ptr<ReplicationUnit> forward_;
  std::shared_ptr<ReplicationUnit> reverse_;
  std::string last_error_;
  std::optional<Clock::TimePoint> unreadable_since_;    // the state could not be read since
  bool stopped_unreadable_ = false;                     // StopForUnreadableState() ran
  nlohmann::json instances_ = nlohmann::json::array();  // every instance's last report
  bool stop_published_ = false;                         // Stop() has recorded this instance's stop
  std::vector<std::thread> retiring_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stop_ = false;
  std::thread loop_;
};

}  // namespace kmirror::dr
