#include "lib/dr/controller.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/logging.h"
#include "lib/dr/selection.h"
#include "lib/dr/verb_util.h"

namespace kmirror::dr {

using internal::AllStarted;
using internal::Fail;
using nlohmann::json;

namespace {

auto Log() { return common::Logger("control"); }

// How long `status` keeps listing an instance after it stopped cleanly (its own wall clock:
// display only).
constexpr int64_t kStoppedInstanceShownMs = 3600 * 1000;

}  // namespace

namespace internal {

json PartitionsJson(const replication::FlowStatus& st) {
  json parts = json::array();
  for (const auto& p : st.partitions) {
    parts.push_back({{"topic", p.source.topic},
                     {"partition", p.source.partition},
                     {"remote_topic", p.target.topic},
                     {"position", p.position},
                     {"source_end", p.source_end},
                     {"lag_records", p.lag_records},
                     {"lag_seconds", p.lag_seconds},
                     {"replicated", p.replicated},
                     {"lost", p.lost},
                     {"resolved", p.resolved},
                     {"stopped", p.stopped},
                     {"stop_reason", p.stop_reason},
                     {"stop_offset", p.stop_offset}});
  }
  return parts;
}

// A partition started from the latest offset that saw no record yet has nothing to copy.
bool AllStarted(const replication::FlowStatus& st) {
  for (const auto& p : st.partitions) {
    if (!p.resolved || p.source_end < 0) return false;
  }
  return true;
}

bool Drained(const replication::FlowStatus& st, bool may_hold_none) {
  if (st.partitions.empty()) return may_hold_none && st.in_flight_bytes == 0;
  return AllStarted(st) && st.LagRecords() == 0 && st.in_flight_bytes == 0;
}

json MarksReport(const std::vector<PartitionMark>& marks, int64_t& missing_total) {
  json out = json::array();
  missing_total = 0;
  for (const auto& m : marks) {
    json j = ToJson(m);
    j["last_replicated_source_offset"] =
        m.source_next >= 0 ? json(m.source_next - 1) : json(nullptr);
    missing_total += m.MissingRecords();
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace internal

Controller::Controller(const config::Config& cfg, config::FlowConfig f, ControllerDeps deps,
                       Options options)
    : cfg_(cfg),
      flow_(std::move(f)),
      name_(flow_.name()),
      deps_(std::move(deps)),
      clock_(*deps_.clock),
      store_(*deps_.store),
      options_(options),
      // Reports come every state poll, so three missed ones mean the instance is gone.
      peers_(
          std::max<std::chrono::milliseconds>(std::chrono::seconds(15), 3 * options.state_poll)) {}

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(const config::Config& cfg,
                                                               const config::FlowConfig& f,
                                                               ControllerDeps deps,
                                                               Options options) {
  if (!deps.clock || !deps.store || !deps.units || !deps.source || !deps.target ||
      !deps.preserver || !deps.drill) {
    return absl::InvalidArgumentError("controller of flow " + f.name() +
                                      ": a dependency is missing");
  }
  std::unique_ptr<Controller> c(new Controller(cfg, f, std::move(deps), options));
  auto selector = SelectorFor(f);
  if (!selector.ok()) return selector.status();
  c->selector_ = std::move(*selector);
  auto reverse = SelectorFor(ReverseFlow(f));
  if (!reverse.ok()) return reverse.status();
  c->reverse_selector_ = std::move(*reverse);
  c->sequence_ = c->clock_.WallMs();  // changes with every report, and across restarts
  c->PublishPhase(std::nullopt);
  return c;
}

Controller::~Controller() { (void)Stop(std::chrono::milliseconds(0)); }

void Controller::PublishPhase(std::optional<Phase> phase) {
  if (deps_.on_phase) deps_.on_phase(phase);
}

void Controller::Start() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (loop_.joinable() || stop_) return;
  loop_ = std::thread([this] { ControlLoop(); });
}

absl::Status Controller::Poll() {
  const Clock::TimePoint now = clock_.Now();  // before the load, which may block for a while
  bool load_failed = false;
  absl::Status s = Sync(&load_failed);
  bool has_state, reported, overdue = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    has_state = state_.has_value();
    reported = !last_error_.empty();
    last_error_ = s.ok() ? std::string() : std::string(s.message());
    if (!load_failed) {
      unreadable_since_.reset();
      stopped_unreadable_ = false;
    } else {
      if (!unreadable_since_) unreadable_since_ = now;
      overdue = !stopped_unreadable_ && now - *unreadable_since_ >= options_.state_grace;
    }
  }
  if (!s.ok()) {
    // Until the state is known nothing starts: a failed-over flow must not resume by accident.
    if (!reported || !has_state) {
      Log()->error("msg=\"cannot read the flow's control state; {}\" flow={} topic={} error=\"{}\"",
                   has_state ? "replication goes on for the grace period"
                             : "not starting replication until it can",
                   name_, kStateTopic, s.message());
    }
    if (overdue) StopForUnreadableState();
    return s;
  }
  PublishInstance();
  return s;
}

void Controller::StopForUnreadableState() {
  std::lock_guard<std::mutex> apply(apply_mu_);
  std::shared_ptr<ReplicationUnit> forward, reverse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward.swap(forward_);
    reverse.swap(reverse_);
    applied_version_ = -1;  // the next successful Sync applies the state again
    stopped_unreadable_ = true;
  }
  for (auto& unit : {forward, reverse}) {
    if (unit) (void)Retire(unit, options_.drain_timeout);
  }
  Log()->error(
      "msg=\"the flow's control state has been unreadable for {} s; replication stopped until it "
      "can be read (another instance may have failed the flow over)\" flow={} topic={}",
      std::chrono::duration_cast<std::chrono::seconds>(options_.state_grace).count(), name_,
      kStateTopic);
}

void Controller::ControlLoop() {
  while (true) {
    (void)Poll();
    bool has_state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      has_state = state_.has_value();
    }
    std::unique_lock<std::mutex> lock(loop_mu_);
    auto wait = has_state ? options_.state_poll : std::chrono::milliseconds(2000);
    if (loop_cv_.wait_for(lock, wait, [this] { return stop_; })) return;
  }
}

std::string Controller::InstanceKey() const {
  return "instance/" + name_ + "/" + cfg_.daemon.instance_id;
}

void Controller::PublishInstance() {
  // This instance's share of the flow, beside the others' (kmirrorctl status lists them all).
  // The positions of its application partitions are what a failover run on another instance
  // records as their marks.
  InstanceReport mine;
  mine.instance = cfg_.daemon.instance_id;
  mine.sequence = ++sequence_;
  mine.at_ms = clock_.WallMs();
  for (const auto& [unit, reverse] : {std::pair{Forward(), false}, {Reverse(), true}}) {
    if (!unit) continue;
    replication::FlowStatus st = unit->Status();
    // Drained: every application partition it holds has replicated all it saw of the source
    // (kmirror's own topics are written every second and never stay at zero lag).
    replication::FlowStatus app = st;
    std::erase_if(app.partitions, [&](const replication::PartitionStatus& p) {
      return !IsApplicationTopic(p.source.topic);
    });
    UnitReport r;
    r.flow = st.name;
    r.partitions = static_cast<int64_t>(st.partitions.size());
    r.lag_records = st.LagRecords();
    r.lag_seconds = st.LagSeconds();
    r.drained = AllStarted(app) && app.LagRecords() == 0;
    if (!reverse) {
      for (const auto& p : app.partitions) {
        r.positions.push_back({p.source, p.target, p.position, p.source_end, p.lag_seconds});
      }
    }
    (reverse ? mine.reverse_replication : mine.replication) = std::move(r);
  }
  absl::Status wrote = store_.Append(InstanceKey(), ToJson(mine));
  auto all = Peers();
  std::lock_guard<std::mutex> lock(mu_);
  if (wrote.ok() && all.ok()) {
    instances_ = json::array();
    for (const Peer& p : *all) {
      json i = ToJson(p.report, /*with_positions=*/false);
      i["age_seconds"] = p.age_seconds;
      i["state"] = PeerStateName(p.state);
      i.erase("stopped");
      instances_.push_back(std::move(i));
    }
  }
}

absl::StatusOr<std::vector<Peer>> Controller::Peers() {
  auto all = store_.List("instance/" + name_ + "/", 1000);
  if (!all.ok()) return all.status();
  std::vector<InstanceReport> reports;
  const int64_t now_ms = clock_.WallMs();
  for (const json& j : *all) {
    auto r = InstanceReportFromJson(j);
    if (!r.ok()) {
      Log()->warn("msg=\"ignoring an instance report kmirrord cannot read\" flow={} error=\"{}\"",
                  name_, r.status().message());
      continue;
    }
    if (r->stopped && now_ms - r->at_ms > kStoppedInstanceShownMs) continue;
    reports.push_back(std::move(*r));
  }
  return peers_.Observe(reports, clock_.Now());
}

bool Controller::PeersRun(bool reverse) {
  auto peers = Peers();
  if (!peers.ok()) return false;
  return std::any_of(peers->begin(), peers->end(), [&](const Peer& p) {
    return p.report.instance != cfg_.daemon.instance_id && p.state == PeerState::kActive &&
           (reverse ? p.report.reverse_replication.has_value() : p.report.replication.has_value());
  });
}

absl::Status Controller::NoPartitionsError() const {
  return absl::FailedPreconditionError(
      "flow " + name_ +
      ": no instance of the flow reports any of its application partitions (not assigned yet, "
      "or the instances cannot reach the source), so the failover marks cannot be recorded; "
      "nothing was changed. Retry once `kmirrorctl status` shows the partitions");
}

std::vector<std::string> Controller::WaitForPeers(
    Clock::TimePoint deadline, const std::function<bool(const InstanceReport&)>& done) {
  // A report counts once the peer wrote a new one after the wait began: the sequences of the
  // first successful read are the baseline (nothing counts before it).
  std::optional<std::map<std::string, int64_t>> before;
  auto snapshot = [&before](const std::vector<Peer>& peers) {
    before.emplace();
    for (const Peer& p : peers) (*before)[p.report.instance] = p.report.sequence;
  };
  if (auto peers = Peers(); peers.ok()) snapshot(*peers);
  while (true) {
    std::vector<std::string> pending;
    auto peers = Peers();
    if (peers.ok() && !before) {
      snapshot(*peers);
      pending.push_back("(the other instances' reports were not readable when the wait began)");
    } else if (peers.ok()) {
      for (const Peer& p : *peers) {
        const std::string& instance = p.report.instance;
        if (instance == cfg_.daemon.instance_id || p.state != PeerState::kActive) continue;
        auto it = before->find(instance);
        const bool fresh = it == before->end() || it->second != p.report.sequence;
        if (!fresh || !done(p.report)) pending.push_back(instance);
      }
    } else {
      pending.push_back("(state topic unreadable: " + std::string(peers.status().message()) + ")");
    }
    if (pending.empty() || clock_.Now() >= deadline) return pending;
    clock_.SleepFor(std::chrono::milliseconds(500));
  }
}

absl::Status Controller::WaitForPeersDrained(bool reverse, const std::string& flow,
                                             Clock::TimePoint started,
                                             std::chrono::milliseconds timeout,
                                             const std::string& advice, json& report) {
  // The other instances report their drain with every state poll.
  auto pending = WaitForPeers(std::max(started + timeout, clock_.Now() + 2 * options_.state_poll),
                              [reverse](const InstanceReport& r) {
                                const auto& u = reverse ? r.reverse_replication : r.replication;
                                return !u || u->drained;
                              });
  if (pending.empty()) return absl::OkStatus();
  report["instances_not_drained"] = pending;
  return absl::DeadlineExceededError(
      absl::StrCat("flow ", flow, ": other instances of the flow did not report zero lag in time (",
                   absl::StrJoin(pending, ", "), "); ", advice, ". Nothing was changed"));
}

bool Controller::IsApplicationTopic(const std::string& topic) const {
  return topic != policy::kDrillTopic && !selector_->policy().IsHeartbeatsTopic(topic);
}

void Controller::PublishStopped() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The state topic was not readable: do not hold the shutdown for the writer's timeout.
    if (!state_ || !last_error_.empty()) return;
  }
  InstanceReport stopped;
  stopped.instance = cfg_.daemon.instance_id;
  stopped.sequence = ++sequence_;
  stopped.at_ms = clock_.WallMs();
  stopped.stopped = true;
  absl::Status s = store_.Append(InstanceKey(), ToJson(stopped));
  if (!s.ok()) {
    Log()->warn("msg=\"could not record this instance's stop\" flow={} error=\"{}\"", name_,
                s.message());
  }
}

absl::Status Controller::Sync(bool* load_failed) {
  auto loaded = store_.LoadFlow(name_);
  if (load_failed) *load_failed = !loaded.ok();
  if (!loaded.ok()) return loaded.status();
  FlowState s;
  if (*loaded) {
    s = **loaded;
  } else {
    s.flow = name_;
    s.phase = Phase::kRunning;
    s.version = 0;
  }
  std::lock_guard<std::mutex> apply(apply_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (applied_version_ == s.version && state_) return absl::OkStatus();
    if (state_ && state_->version > s.version) return absl::OkStatus();  // ours is newer
  }
  if (applied_version_ >= 0) {
    Log()->warn("msg=\"flow state changed by another instance; applying\" flow={} phase={} by={}",
                name_, PhaseName(s.phase), s.changed_by);
  }
  return ApplyLocked(s);
}

namespace {

// The floor of a partition from a "topic:partition" -> offset map; nullopt when absent.
std::function<absl::StatusOr<std::optional<int64_t>>(const SourcePartition&)> FloorFrom(
    std::map<std::string, int64_t> floors) {
  return [floors = std::move(floors)](
             const SourcePartition& p) -> absl::StatusOr<std::optional<int64_t>> {
    auto it = floors.find(PartitionKey(p.topic, p.partition));
    if (it == floors.end()) return std::nullopt;
    return it->second;
  };
}

std::map<SourcePartition, int64_t> SkipsFrom(const std::map<std::string, int64_t>& keyed) {
  std::map<SourcePartition, int64_t> skips;
  for (const auto& [key, offset] : keyed) {
    const size_t colon = key.rfind(':');
    if (colon == std::string::npos) continue;
    int32_t partition = 0;
    if (!absl::SimpleAtoi(key.substr(colon + 1), &partition)) continue;
    skips[SourcePartition{key.substr(0, colon), partition}] = offset;
  }
  return skips;
}

}  // namespace

absl::Status Controller::ApplyLocked(const FlowState& s) {
  std::shared_ptr<ReplicationUnit> forward, reverse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward = forward_;
    reverse = reverse_;
  }
  const bool want_forward = s.phase == Phase::kRunning || s.phase == Phase::kPaused;
  const bool want_reverse = s.phase == Phase::kFailingBack;
  absl::Status result;
  if (!want_forward && forward) {
    (void)Retire(std::move(forward), options_.drain_timeout);
    forward.reset();
  }
  if (!want_reverse && reverse) {
    (void)Retire(std::move(reverse), options_.drain_timeout);
    reverse.reset();
  }
  if (want_forward && !forward) {
    UnitOptions o;
    o.paused = s.phase == Phase::kPaused;
    if (!s.resume_floor.empty()) o.start_floor = FloorFrom(s.resume_floor);
    // The drill's canary topic exists before the first discovery, so a drill never waits for
    // a rebalance (a kmirror topic on the source, like heartbeats).
    (void)deps_.source->EnsureTopic(std::string(policy::kDrillTopic), 1);
    auto unit = deps_.units->Create(flow_, std::move(o));
    if (unit.ok()) {
      forward = std::shared_ptr<ReplicationUnit>(std::move(*unit));
    } else {
      result = unit.status();
    }
  }
  if (want_reverse && !reverse) {
    UnitOptions o;
    o.start_floor = FloorFrom(s.reverse_start);
    auto unit = deps_.units->Create(ReverseFlow(flow_), std::move(o));
    if (unit.ok()) {
      reverse = std::shared_ptr<ReplicationUnit>(std::move(*unit));
    } else {
      result = unit.status();
    }
  }
  if (forward) {
    forward->SetPaused(s.phase == Phase::kPaused);
    forward->SetSkips(SkipsFrom(s.skips));
  }
  for (const auto& unit : {forward, reverse}) {
    if (!unit) continue;
    unit->SetPausedGroups(s.paused_groups);
    // Idempotent; a new unit starts only now, with its pauses already in place.
    unit->Start();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward_ = forward;
    reverse_ = reverse;
    state_ = s;
    if (result.ok()) applied_version_ = s.version;
  }
  PublishPhase(s.phase);
  Log()->info("msg=\"flow state applied\" flow={} phase={} version={} forward={} reverse={}", name_,
              PhaseName(s.phase), s.version, forward != nullptr, reverse != nullptr);
  return result;
}

std::shared_future<void> Controller::Retire(std::shared_ptr<ReplicationUnit> unit,
                                            std::chrono::milliseconds drain) {
  auto stopped = std::make_shared<std::promise<void>>();
  std::shared_future<void> done = stopped->get_future().share();
  std::lock_guard<std::mutex> lock(mu_);
  retiring_.emplace_back([unit = std::move(unit), drain, stopped]() mutable {
    absl::Status s = unit->Stop(drain);
    if (!s.ok()) {
      Log()->warn("msg=\"unit stopped without a full drain\" flow={} error=\"{}\"",
                  unit->flow().name(), s.message());
    }
    unit.reset();
    stopped->set_value();
  });
  return done;
}

absl::Status Controller::Stop(std::chrono::milliseconds drain_timeout) {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  std::shared_ptr<ReplicationUnit> forward, reverse;
  std::vector<std::thread> retiring;
  {
    std::lock_guard<std::mutex> apply(apply_mu_);
    std::lock_guard<std::mutex> lock(mu_);
    forward.swap(forward_);
    reverse.swap(reverse_);
    retiring.swap(retiring_);
  }
  absl::Status result;
  for (auto& unit : {forward, reverse}) {
    if (unit) result.Update(unit->Stop(drain_timeout));
  }
  for (auto& t : retiring) t.join();
  if (!stop_published_) {
    stop_published_ = true;
    PublishStopped();
  }
  return result;
}

void Controller::Reload(const config::FlowConfig& f) {
  if (auto unit = Forward(); unit) {
    if (absl::Status s = unit->Reload(f); !s.ok()) {
      Log()->error("msg=\"reload: flow keeps its old filters\" flow={} error=\"{}\"", f.name(),
                   s.message());
      return;
    }
  }
  Log()->info("msg=\"reload: topic filters applied\" flow={}", f.name());
}

bool Controller::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state_ || applied_version_ != state_->version) return false;
  if (forward_ && !forward_->Ready()) return false;
  if (reverse_ && !reverse_->Ready()) return false;
  return true;
}

FlowState Controller::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_) return *state_;
  FlowState s;
  s.flow = name_;
  return s;
}

std::shared_ptr<ReplicationUnit> Controller::Forward() const {
  std::lock_guard<std::mutex> lock(mu_);
  return forward_;
}

std::shared_ptr<ReplicationUnit> Controller::Reverse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reverse_;
}

std::vector<replication::FlowStatus> Controller::UnitStatus() const {
  std::vector<replication::FlowStatus> out;
  for (const auto& unit : {Forward(), Reverse()}) {
    if (unit) out.push_back(unit->Status());
  }
  return out;
}

json Controller::UnitJson(ReplicationUnit& unit) const {
  replication::FlowStatus st = unit.Status();
  json j{{"flow", st.name},
         {"ready", unit.Ready()},
         {"paused", st.paused},
         {"partitions", internal::PartitionsJson(st)},
         {"lag_records", st.LagRecords()},
         {"lag_seconds", st.LagSeconds()},
         {"replicated_records", st.replicated_records},
         {"in_flight_bytes", st.in_flight_bytes}};
  const int64_t now = clock_.WallMs();
  if (auto last = unit.LastCheckpointMs(); last && *last >= 0) {
    j["last_checkpoint_ms"] = *last;
    j["checkpoint_age_seconds"] = (now - *last) / 1000.0;
  } else {
    j["last_checkpoint_ms"] = nullptr;
    j["checkpoint_age_seconds"] = nullptr;
  }
  json hb = json::object();
  for (const auto& [upstream, u] : unit.Upstreams().value_or(std::map<std::string, Upstream>{})) {
    hb[upstream] = {
        {"hops", u.hops},
        {"age_seconds", u.age_ms < 0 ? json(nullptr) : json(u.age_ms / 1000.0)},
        {"latency_seconds", u.latency_ms < 0 ? json(nullptr) : json(u.latency_ms / 1000.0)}};
  }
  j["heartbeats"] = hb;
  return j;
}

json Controller::Status() const {
  std::optional<FlowState> state;
  std::string error, op;
  json instances;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state = state_;
    error = last_error_;
    op = op_name_;
    instances = instances_;
  }
  json j{{"flow", name_},
         {"source", flow_.source},
         {"target", flow_.target},
         {"instance", cfg_.daemon.instance_id},
         {"phase", state ? PhaseName(state->phase) : "unknown"},
         {"operation_in_progress", op.empty() ? json(nullptr) : json(op)},
         {"state_error", error.empty() ? json(nullptr) : json(error)}};
  if (state) j["state"] = ToJson(*state);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_unreadable_) {
      j["replication_stopped"] =
          "the control state could not be read for longer than the grace period";
    }
  }
  j["instances"] = std::move(instances);
  if (auto unit = Forward(); unit) j["replication"] = UnitJson(*unit);
  if (auto unit = Reverse(); unit) j["reverse_replication"] = UnitJson(*unit);
  return j;
}

json Controller::Topology() const {
  json upstreams = json::object();
  for (const auto& unit : {Forward(), Reverse()}) {
    if (!unit) continue;
    auto ups = unit->Upstreams();
    if (!ups) continue;
    json seen = json::object();
    for (const auto& [alias, u] : *ups) {
      seen[alias] = {{"hops", u.hops},
                     {"age_seconds", u.age_ms < 0 ? json(nullptr) : json(u.age_ms / 1000.0)}};
    }
    upstreams[unit->flow().target] = seen;
  }
  return json{{"flow", name_}, {"upstreams_seen_on", upstreams}};
}

std::optional<std::unique_lock<std::mutex>> Controller::BeginOp(const std::string& what,
                                                                OpResult& refused, bool fresh) {
  std::unique_lock<std::mutex> op(op_mu_, std::try_to_lock);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!op.owns_lock()) {
      refused =
          Fail(absl::AbortedError(absl::StrCat("flow ", name_, ": ", op_name_, " is in progress; ",
                                               what, " refused. Retry once it has finished.")));
      return std::nullopt;
    }
    if (!state_) {
      refused = Fail(absl::UnavailableError(absl::StrCat(
          "flow ", name_, ": its control state has not been read from ", flow_.target, " yet (",
          last_error_.empty() ? "loading" : last_error_, "); ", what, " refused")));
      return std::nullopt;
    }
    op_name_ = what;
  }
  // A verb that changes the state acts on the newest one: another instance may have changed it
  // since the last poll. Unreadable, the verb could not record its change either.
  if (!fresh) return op;
  if (absl::Status st = Sync(); !st.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    op_name_.clear();
    refused = Fail(absl::UnavailableError(absl::StrCat(
        "flow ", name_, ": cannot read its state from ", kStateTopic, " on ", flow_.target, " (",
        st.message(), "); ", what, " refused, nothing was changed")));
    return std::nullopt;
  }
  return op;
}

std::optional<OpResult> Controller::Refuse(Verb verb, const FlowState& s, json already) const {
  const Rule rule = RuleFor(s.phase, verb);
  switch (rule.kind) {
    case Rule::Kind::kChange:
      return std::nullopt;
    case Rule::Kind::kRefused:
      return Fail(Check(name_, s.phase, verb));
    case Rule::Kind::kAlready:
      break;
  }
  already["phase"] = PhaseName(s.phase);
  already["changed"] = false;
  if (!already.contains("note")) already["note"] = std::string(rule.why);
  return OpResult{absl::OkStatus(), std::move(already)};
}

void Controller::Reapply(const FlowState& s) {
  std::lock_guard<std::mutex> apply(apply_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward_.reset();
    reverse_.reset();
    applied_version_ = -1;
  }
  (void)ApplyLocked(s);
}

absl::Status Controller::Commit(FlowState next) {
  next.version = Current().version + 1;
  next.changed_ms = clock_.WallMs();
  if (absl::Status s = store_.SaveFlow(next); !s.ok()) return s;
  std::lock_guard<std::mutex> apply(apply_mu_);
  return ApplyLocked(next);
}

Controller::OpName::~OpName() {
  std::lock_guard<std::mutex> lock(mu);
  name.clear();
}

OpResult Controller::Pause(const std::string& who) { return Move(Verb::kPause, who); }

OpResult Controller::Resume(const std::string& who) { return Move(Verb::kResume, who); }

OpResult Controller::Move(Verb verb, const std::string& who) {
  const std::string name(VerbName(verb));
  OpResult refused;
  auto op = BeginOp(name, refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(verb, s)) return *answer;
  s.phase = RuleFor(s.phase, verb).to;
  s.changed_by = who;
  s.reason = name;
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  return {absl::OkStatus(), {{"phase", PhaseName(s.phase)}, {"changed", true}}};
}

OpResult Controller::PauseGroup(const std::string& group, bool paused, const std::string& who) {
  OpResult refused;
  auto op = BeginOp(paused ? "group pause" : "group resume", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(Verb::kGroupSync, s)) return *answer;
  const bool changed =
      paused ? s.paused_groups.insert(group).second : s.paused_groups.erase(group) > 0;
  if (changed) {
    s.changed_by = who;
    s.reason = paused ? "group pause " + group : "group resume " + group;
    if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  }
  json groups = s.paused_groups;
  return {
      absl::OkStatus(),
      {{"group", group}, {"sync_paused", paused}, {"changed", changed}, {"paused_groups", groups}}};
}

OpResult Controller::Skip(const std::string& topic, int32_t partition, int64_t offset,
                          const std::string& who) {
  OpResult refused;
  auto op = BeginOp("skip", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(Verb::kSkip, s)) return *answer;
  const std::string key = PartitionKey(topic, partition);
  // Where this instance holds the partition: is it stopped at exactly that record?
  json here = nullptr;
  if (auto unit = Forward(); unit) {
    for (const auto& p : unit->Status().partitions) {
      if (p.source.topic != topic || p.source.partition != partition) continue;
      here = {{"stopped", p.stopped}, {"stop_offset", p.stop_offset}, {"position", p.position}};
      if (p.stopped && p.stop_offset != offset) {
        return Fail(absl::FailedPreconditionError(
            absl::StrCat(key, " is stopped at source offset ", p.stop_offset, ", not ", offset,
                         "; skip exactly the record it stopped at")));
      }
      if (!p.stopped && p.position > offset) {
        return Fail(absl::FailedPreconditionError(absl::StrCat(
            key, " is already past source offset ", offset, " (next: ", p.position, ")")));
      }
    }
  }
  auto it = s.skips.find(key);
  const bool changed = it == s.skips.end() || it->second != offset;
  if (changed) {
    s.skips[key] = offset;
    s.changed_by = who;
    s.reason = absl::StrCat("skip ", key, " offset ", offset);
    if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  }
  return {absl::OkStatus(),
          {{"partition", key},
           {"offset", offset},
           {"changed", changed},
           {"here", here},
           {"note",
            "the record is passed over where the partition reaches it and counted in "
            "kmirror_records_lost_total"}}};
}

absl::Status Controller::WaitForZeroLag(ReplicationUnit& unit, std::chrono::milliseconds timeout,
                                        json& report, bool may_hold_none) {
  const auto deadline = clock_.Now() + timeout;
  while (true) {
    replication::FlowStatus st = unit.Status();
    if (internal::Drained(st, may_hold_none)) {
      report["partitions"] = internal::PartitionsJson(st);
      return absl::OkStatus();
    }
    if (clock_.Now() >= deadline) {
      const int64_t lag = st.LagRecords();
      report["partitions"] = internal::PartitionsJson(st);
      report["lag_records"] = lag;
      if (st.partitions.empty()) {
        return absl::DeadlineExceededError(
            absl::StrCat("flow ", st.name,
                         ": this instance holds no partitions of the flow, so "
                         "it cannot see the lag drain; nothing was changed"));
      }
      return absl::DeadlineExceededError(absl::StrCat(
          "flow ", st.name, ": lag did not reach zero within ", timeout.count() / 1000.0, " s (",
          lag, " records behind", AllStarted(st) ? "" : ", some partitions not started yet",
          "); stop the producers on the source, or use a longer --timeout. Nothing was changed: "
          "the flow keeps replicating"));
    }
    clock_.SleepFor(std::chrono::milliseconds(200));
  }
}

}  // namespace kmirror::dr
