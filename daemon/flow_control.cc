#include "daemon/flow_control.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "daemon/client_properties.h"
#include "daemon/divergence.h"
#include "daemon/topic_sync.h"
#include "lib/common/logging.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/kafka_io.h"

namespace kmirror::daemon {
namespace {

using control::FlowState;
using control::PartitionMark;
using control::Phase;
using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

auto Log() { return common::Logger("control"); }

// How long `status` keeps listing an instance after it stopped cleanly.
constexpr int64_t kStoppedInstanceShownMs = 3600 * 1000;

OpResult Fail(absl::Status status, json report = json::object()) {
  return OpResult{std::move(status), std::move(report)};
}

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

// Every partition has replicated all the unit knows of its source, and nothing is in flight. A
// partition started from the latest offset that saw no record yet has nothing to copy.
bool AllStarted(const replication::FlowStatus& st) {
  for (const auto& p : st.partitions) {
    if (!p.resolved || p.source_end < 0) return false;
  }
  return true;
}

bool Drained(const replication::FlowStatus& st, bool may_hold_none = false) {
  if (st.partitions.empty()) return may_hold_none && st.in_flight_bytes == 0;
  return AllStarted(st) && st.LagRecords() == 0 && st.in_flight_bytes == 0;
}

// The last checkpoint pass of a stopped unit, with group offset sync into its target whatever
// sync_group_offsets says: what consumers resume from after a switch.
json FinalCheckpoints(FlowUnit& unit) {
  auto* cp = unit.offsets().checkpoints();
  if (cp == nullptr) return {{"error", "checkpoints are off for this flow (emit_checkpoints)"}};
  cp->EnableGroupSync(unit.offsets().group_sync());  // the emitter's thread has stopped
  auto pass = cp->RunOnce();
  if (!pass.ok()) return {{"error", std::string(pass.status().message())}};
  return {{"groups", pass->groups},
          {"written", pass->written},
          {"groups_synced", pass->groups_synced},
          {"misses", pass->misses}};
}

json UnitJson(FlowUnit& unit) {
  replication::FlowStatus st = unit.Status();
  const int64_t lag = st.LagRecords();
  const double lag_s = st.LagSeconds();
  json j{{"flow", st.name},
         {"ready", unit.Ready()},
         {"paused", st.paused},
         {"partitions", PartitionsJson(st)},
         {"lag_records", lag},
         {"lag_seconds", lag_s},
         {"replicated_records", st.replicated_records},
         {"in_flight_bytes", st.in_flight_bytes}};
  const int64_t now = NowMs();
  if (auto* cp = unit.offsets().checkpoints(); cp != nullptr && cp->last_pass_ms() >= 0) {
    j["last_checkpoint_ms"] = cp->last_pass_ms();
    j["checkpoint_age_seconds"] = (now - cp->last_pass_ms()) / 1000.0;
  } else {
    j["last_checkpoint_ms"] = nullptr;
    j["checkpoint_age_seconds"] = nullptr;
  }
  json hb = json::object();
  if (auto* obs = unit.offsets().heartbeats(); obs != nullptr) {
    for (const auto& [upstream, u] : obs->Upstreams()) {
      hb[upstream] = {
          {"hops", u.hops},
          {"age_seconds", u.age_ms < 0 ? json(nullptr) : json(u.age_ms / 1000.0)},
          {"latency_seconds", u.latency_ms < 0 ? json(nullptr) : json(u.latency_ms / 1000.0)}};
    }
  }
  j["heartbeats"] = hb;
  return j;
}

}  // namespace

config::FlowConfig ReverseFlow(const config::FlowConfig& f) {
  config::FlowConfig r = f;
  std::swap(r.source, r.target);
  r.source_kafka.clear();
  r.target_kafka.clear();
  r.source_kafka_secret_refs.clear();
  r.target_kafka_secret_refs.clear();
  r.group_id = "kmirror." + r.source + "-" + r.target + ".failback";
  r.start_from = config::StartFrom::kEarliest;
  r.emit_checkpoints = true;
  r.sync_group_offsets = true;
  r.mm2_takeover = false;  // the reverse flow starts at the failover mark, never after MM2
  r.enabled = true;
  return r;
}

FlowController::FlowController(const config::Config& cfg, config::FlowConfig f,
                               prometheus::Registry& registry, control::StateStore& store,
                               Options options)
    : cfg_(cfg),
      flow_(std::move(f)),
      name_(flow_.name()),
      registry_(registry),
      store_(store),
      options_(options) {}

absl::StatusOr<std::unique_ptr<FlowController>> FlowController::Create(
    const config::Config& cfg, const config::FlowConfig& f, prometheus::Registry& registry,
    control::StateStore& store, Options options) {
  std::unique_ptr<FlowController> c(new FlowController(cfg, f, registry, store, options));
  auto src = kafka::AdminClient::Create(ToProperties(config::SourceProperties(cfg, f)));
  if (!src.ok()) return src.status();
  c->source_admin_ = std::move(*src);
  auto dst = kafka::AdminClient::Create(ToProperties(config::TargetProperties(cfg, f)));
  if (!dst.ok()) return dst.status();
  c->target_admin_ = std::move(*dst);
  if (auto selector = SelectorFor(f); selector.ok()) c->selector_ = std::move(*selector);
  c->phase_family_ = &prometheus::BuildGauge()
                          .Name("kmirror_flow_phase")
                          .Help(
                              "1 for the flow's current control phase (running, paused, "
                              "failed_over, failing_back, unknown before its state is loaded)")
                          .Register(registry);
  c->SetPhaseMetric(Phase::kRunning);  // replaced once the state is loaded
  return c;
}

FlowController::~FlowController() { (void)Stop(std::chrono::milliseconds(0)); }

void FlowController::SetPhaseMetric(Phase phase) {
  for (Phase p : {Phase::kRunning, Phase::kPaused, Phase::kFailedOver, Phase::kFailingBack}) {
    phase_family_->Add({{"flow", flow_.name()}, {"phase", control::PhaseName(p)}})
        .Set(p == phase && state_.has_value() ? 1 : 0);
  }
  phase_family_->Add({{"flow", flow_.name()}, {"phase", "unknown"}})
      .Set(state_.has_value() ? 0 : 1);
}

void FlowController::Start() {
  std::lock_guard<std::mutex> lock(loop_mu_);
  if (loop_.joinable() || stop_) return;
  loop_ = std::thread([this] { ControlLoop(); });
}

void FlowController::ControlLoop() {
  bool reported = false;
  while (true) {
    absl::Status s = Sync();
    bool has_state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      has_state = state_.has_value();
      last_error_ = s.ok() ? std::string() : std::string(s.message());
    }
    if (!s.ok()) {
      // Until the state is known nothing starts: a failed-over flow must not resume by accident.
      if (!reported || !has_state) {
        Log()->error(
            "msg=\"cannot read the flow's control state; {}\" flow={} topic={} error=\"{}\"",
            has_state ? "keeping the current state" : "not starting replication until it can",
            flow_.name(), control::kStateTopic, s.message());
      }
      reported = true;
    } else {
      reported = false;
      PublishInstance();
    }
    std::unique_lock<std::mutex> lock(loop_mu_);
    auto wait = has_state ? options_.state_poll : std::chrono::milliseconds(2000);
    if (loop_cv_.wait_for(lock, wait, [this] { return stop_; })) return;
  }
}

std::string FlowController::InstanceKey() const {
  return "instance/" + flow_.name() + "/" + cfg_.daemon.instance_id;
}

void FlowController::PublishInstance() {
  // This instance's share of the flow, beside the others' (kmirrorctl status lists them all).
  // The positions of its application partitions are what a failover run on another instance
  // records as their marks: [topic, partition, remote topic, remote partition, position,
  // source end, lag seconds].
  json mine{{"instance", cfg_.daemon.instance_id}, {"at_ms", NowMs()}};
  for (const auto& [unit, role] :
       {std::pair{Forward(), "replication"}, {Reverse(), "reverse_replication"}}) {
    if (!unit) continue;
    replication::FlowStatus st = unit->Status();
    // Drained: every application partition it holds has replicated all it saw of the source
    // (kmirror's own topics are written every second and never stay at zero lag).
    replication::FlowStatus app = st;
    std::erase_if(app.partitions, [&](const replication::PartitionStatus& p) {
      return !IsApplicationTopic(p.source.topic);
    });
    json& r = mine[role];
    r = {{"flow", st.name},
         {"partitions", st.partitions.size()},
         {"lag_records", st.LagRecords()},
         {"lag_seconds", st.LagSeconds()},
         {"drained", AllStarted(app) && app.LagRecords() == 0}};
    if (role != std::string_view("replication")) continue;
    json positions = json::array();
    for (const auto& p : app.partitions) {
      positions.push_back({p.source.topic, p.source.partition, p.target.topic, p.target.partition,
                           p.position, p.source_end, p.lag_seconds});
    }
    r["positions"] = std::move(positions);
  }
  absl::Status wrote = store_.Append(InstanceKey(), mine);
  auto all = InstanceReports();
  std::lock_guard<std::mutex> lock(mu_);
  if (wrote.ok() && all.ok()) {
    instances_ = json::array();
    for (auto& i : *all) {
      if (i.contains("replication")) i["replication"].erase("positions");
      instances_.push_back(std::move(i));
    }
  }
}

absl::StatusOr<std::vector<json>> FlowController::InstanceReports() {
  auto all = store_.List("instance/" + flow_.name() + "/", 1000);
  if (!all.ok()) return all.status();
  std::vector<json> out;
  const int64_t now = NowMs();
  // An instance that stopped says so; one that stopped reporting was killed or lost the
  // target. Reports come every state poll, so three missed ones mean it is gone.
  const int64_t stale_ms = std::max<int64_t>(15000, 3 * options_.state_poll.count());
  for (auto& i : *all) {
    const int64_t age_ms = now - i.value("at_ms", int64_t{0});
    if (i.value("stopped", false) && age_ms > kStoppedInstanceShownMs) continue;
    i["age_seconds"] = age_ms / 1000.0;
    i["state"] = i.value("stopped", false) ? "stopped" : age_ms > stale_ms ? "stale" : "active";
    i.erase("stopped");
    out.push_back(std::move(i));
  }
  return out;
}

bool FlowController::PeersRun(const std::string& role) {
  auto reports = InstanceReports();
  if (!reports.ok()) return false;
  return std::any_of(reports->begin(), reports->end(), [&](const json& i) {
    return i.value("instance", "") != cfg_.daemon.instance_id && i.value("state", "") == "active" &&
           i.contains(role);
  });
}

absl::Status FlowController::NoPartitionsError() const {
  return absl::FailedPreconditionError(
      "flow " + flow_.name() +
      ": no instance of the flow reports any of its application partitions (not assigned yet, "
      "or the instances cannot reach the source), so the failover marks cannot be recorded; "
      "nothing was changed. Retry once `kmirrorctl status` shows the partitions");
}

absl::StatusOr<std::unique_ptr<replication::KafkaTargetTail>> FlowController::NewTargetTail(
    const std::string& purpose) const {
  kafka::Properties props = ToProperties(config::TargetProperties(cfg_, flow_));
  props.Set("group.id", "kmirror." + purpose + "." + flow_.name());
  auto tail = replication::KafkaTargetTail::Create(props);
  if (!tail.ok()) {
    Log()->warn(
        "msg=\"cannot create a reader of the target's tails\" flow={} purpose={} "
        "error=\"{}\"",
        flow_.name(), purpose, tail.status().message());
  }
  return tail;
}

absl::Status FlowController::WaitForPeersDrained(const std::string& role, const std::string& flow,
                                                 std::chrono::steady_clock::time_point started,
                                                 std::chrono::milliseconds timeout,
                                                 const std::string& advice, json& report) {
  // The other instances report their drain with every state poll.
  auto pending = WaitForPeers(
      NowMs(),
      std::max(started + timeout, std::chrono::steady_clock::now() + 2 * options_.state_poll),
      [&role](const json& i) { return !i.contains(role) || i[role].value("drained", false); });
  if (pending.empty()) return absl::OkStatus();
  report["instances_not_drained"] = pending;
  return absl::DeadlineExceededError(
      absl::StrCat("flow ", flow, ": other instances of the flow did not report zero lag in time (",
                   absl::StrJoin(pending, ", "), "); ", advice, ". Nothing was changed"));
}

bool FlowController::IsApplicationTopic(const std::string& topic) const {
  return topic != policy::kDrillTopic &&
         !(selector_ && selector_->policy().IsHeartbeatsTopic(topic));
}

void FlowController::PublishStopped() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // The state topic was not readable: do not hold the shutdown for the writer's timeout.
    if (!state_ || !last_error_.empty()) return;
  }
  absl::Status s = store_.Append(
      InstanceKey(),
      json{{"instance", cfg_.daemon.instance_id}, {"at_ms", NowMs()}, {"stopped", true}});
  if (!s.ok()) {
    Log()->warn("msg=\"could not record this instance's stop\" flow={} error=\"{}\"", flow_.name(),
                s.message());
  }
}

absl::Status FlowController::Sync() {
  auto loaded = store_.LoadFlow(flow_.name());
  if (!loaded.ok()) return loaded.status();
  FlowState s;
  if (*loaded) {
    s = **loaded;
  } else {
    s.flow = flow_.name();
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
                flow_.name(), control::PhaseName(s.phase), s.changed_by);
  }
  return ApplyLocked(s);
}

absl::Status FlowController::ApplyLocked(const FlowState& s) {
  std::shared_ptr<FlowUnit> forward, reverse;
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward = forward_;
    reverse = reverse_;
  }
  const bool want_forward = s.phase == Phase::kRunning || s.phase == Phase::kPaused;
  const bool want_reverse = s.phase == Phase::kFailingBack;
  absl::Status result;
  if (!want_forward && forward) {
    Retire(std::move(forward));
    forward.reset();
  }
  if (!want_reverse && reverse) {
    Retire(std::move(reverse));
    reverse.reset();
  }
  if (want_forward && !forward) {
    FlowUnitOptions o;
    o.paused = s.phase == Phase::kPaused;
    if (!s.resume_floor.empty()) {
      auto floors = s.resume_floor;
      o.start_floor = [floors](const SourcePartition& p) -> absl::StatusOr<std::optional<int64_t>> {
        auto it = floors.find(control::PartitionKey(p.topic, p.partition));
        if (it == floors.end()) return std::nullopt;
        return it->second;
      };
    }
    // The drill's canary topic exists before the first discovery, so a drill never waits for
    // a rebalance (a kmirror topic on the source, like heartbeats).
    kafka::NewTopic canary;
    canary.name = policy::kDrillTopic;
    canary.partitions = 1;
    (void)source_admin_->CreateTopics({canary}, std::chrono::seconds(5));
    auto unit = FlowUnit::Create(cfg_, flow_, registry_, std::move(o));
    if (unit.ok()) {
      forward = std::shared_ptr<FlowUnit>(std::move(*unit));
    } else {
      result = unit.status();
    }
  }
  if (want_reverse && !reverse) {
    FlowUnitOptions o;
    auto starts = s.reverse_start;
    o.start_floor = [starts](const SourcePartition& p) -> absl::StatusOr<std::optional<int64_t>> {
      auto it = starts.find(control::PartitionKey(p.topic, p.partition));
      if (it == starts.end()) return std::nullopt;
      return it->second;
    };
    auto unit = FlowUnit::Create(cfg_, ReverseFlow(flow_), registry_, std::move(o));
    if (unit.ok()) {
      reverse = std::shared_ptr<FlowUnit>(std::move(*unit));
    } else {
      result = unit.status();
    }
  }
  if (forward) {
    forward->SetPaused(s.phase == Phase::kPaused);
    std::map<SourcePartition, int64_t> skips;
    for (const auto& [key, offset] : s.skips) {
      const size_t colon = key.rfind(':');
      if (colon == std::string::npos) continue;
      int32_t partition = 0;
      if (!absl::SimpleAtoi(key.substr(colon + 1), &partition)) continue;
      skips[SourcePartition{key.substr(0, colon), partition}] = offset;
    }
    forward->SetSkips(std::move(skips));
  }
  for (const auto& unit : {forward, reverse}) {
    if (!unit) continue;
    if (auto* gs = unit->offsets().group_sync(); gs != nullptr) {
      for (const std::string& g : gs->Paused()) {
        if (!s.paused_groups.count(g)) gs->Resume(g);
      }
      for (const std::string& g : s.paused_groups) gs->Pause(g);
    }
    // Idempotent; a new unit starts only now, with its pauses already in place.
    unit->Start();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward_ = forward;
    reverse_ = reverse;
    state_ = s;
    if (result.ok()) applied_version_ = s.version;
    SetPhaseMetric(s.phase);
  }
  Log()->info("msg=\"flow state applied\" flow={} phase={} version={} forward={} reverse={}",
              flow_.name(), control::PhaseName(s.phase), s.version, forward != nullptr,
              reverse != nullptr);
  return result;
}

void FlowController::Retire(std::shared_ptr<FlowUnit> unit) {
  const auto drain = options_.drain_timeout;
  std::lock_guard<std::mutex> lock(mu_);
  retiring_.emplace_back([unit = std::move(unit), drain]() mutable {
    absl::Status s = unit->Stop(drain);
    if (!s.ok()) {
      Log()->warn("msg=\"unit stopped without a full drain\" flow={} error=\"{}\"",
                  unit->flow().name(), s.message());
    }
    unit.reset();
  });
}

absl::Status FlowController::Stop(std::chrono::milliseconds drain_timeout) {
  {
    std::lock_guard<std::mutex> lock(loop_mu_);
    stop_ = true;
  }
  loop_cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  std::shared_ptr<FlowUnit> forward, reverse;
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

void FlowController::Reload(const config::FlowConfig& f) {
  if (auto unit = Forward(); unit) {
    if (absl::Status s = unit->Reload(f); !s.ok()) {
      Log()->error("msg=\"reload: flow keeps its old filters\" flow={} error=\"{}\"", f.name(),
                   s.message());
      return;
    }
  }
  Log()->info("msg=\"reload: topic filters applied\" flow={}", f.name());
}

bool FlowController::Ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!state_ || applied_version_ != state_->version) return false;
  if (forward_ && !forward_->Ready()) return false;
  if (reverse_ && !reverse_->Ready()) return false;
  return true;
}

FlowState FlowController::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (state_) return *state_;
  FlowState s;
  s.flow = flow_.name();
  return s;
}

std::shared_ptr<FlowUnit> FlowController::Forward() const {
  std::lock_guard<std::mutex> lock(mu_);
  return forward_;
}

std::shared_ptr<FlowUnit> FlowController::Reverse() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reverse_;
}

std::vector<replication::FlowStatus> FlowController::UnitStatus() const {
  std::vector<replication::FlowStatus> out;
  for (const auto& unit : {Forward(), Reverse()}) {
    if (unit) out.push_back(unit->Status());
  }
  return out;
}

json FlowController::Status() const {
  std::optional<FlowState> state;
  std::string error, op;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state = state_;
    error = last_error_;
    op = op_name_;
  }
  json j{{"flow", flow_.name()},
         {"source", flow_.source},
         {"target", flow_.target},
         {"instance", cfg_.daemon.instance_id},
         {"phase", state ? control::PhaseName(state->phase) : "unknown"},
         {"operation_in_progress", op.empty() ? json(nullptr) : json(op)},
         {"state_error", error.empty() ? json(nullptr) : json(error)}};
  if (state) {
    j["state"] = control::ToJson(*state);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    j["instances"] = instances_;
  }
  if (auto unit = Forward(); unit) j["replication"] = UnitJson(*unit);
  if (auto unit = Reverse(); unit) j["reverse_replication"] = UnitJson(*unit);
  return j;
}

json FlowController::Topology() const {
  json upstreams = json::object();
  for (const auto& unit : {Forward(), Reverse()}) {
    if (!unit || unit->offsets().heartbeats() == nullptr) continue;
    json ups = json::object();
    for (const auto& [alias, u] : unit->offsets().heartbeats()->Upstreams()) {
      ups[alias] = {{"hops", u.hops},
                    {"age_seconds", u.age_ms < 0 ? json(nullptr) : json(u.age_ms / 1000.0)}};
    }
    upstreams[unit->flow().target] = ups;
  }
  return json{{"flow", flow_.name()}, {"upstreams_seen_on", upstreams}};
}

std::optional<std::unique_lock<std::mutex>> FlowController::BeginOp(const std::string& what,
                                                                    OpResult& refused, bool fresh) {
  std::unique_lock<std::mutex> op(op_mu_, std::try_to_lock);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!op.owns_lock()) {
      refused = Fail(absl::AbortedError(absl::StrCat("flow ", flow_.name(), ": ", op_name_,
                                                     " is in progress; ", what,
                                                     " refused. Retry once it has finished.")));
      return std::nullopt;
    }
    if (!state_) {
      refused = Fail(absl::UnavailableError(absl::StrCat(
          "flow ", flow_.name(), ": its control state has not been read from ", flow_.target,
          " yet (", last_error_.empty() ? "loading" : last_error_, "); ", what, " refused")));
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
        "flow ", flow_.name(), ": cannot read its state from ", control::kStateTopic, " on ",
        flow_.target, " (", st.message(), "); ", what, " refused, nothing was changed")));
    return std::nullopt;
  }
  return op;
}

void FlowController::Reapply(const FlowState& s) {
  std::lock_guard<std::mutex> apply(apply_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    forward_.reset();
    reverse_.reset();
    applied_version_ = -1;
  }
  (void)ApplyLocked(s);
}

absl::Status FlowController::Commit(FlowState next) {
  next.version = Current().version + 1;
  next.changed_ms = NowMs();
  if (absl::Status s = store_.SaveFlow(next); !s.ok()) return s;
  std::lock_guard<std::mutex> apply(apply_mu_);
  return ApplyLocked(next);
}

FlowController::OpName::~OpName() {
  std::lock_guard<std::mutex> lock(mu);
  name.clear();
}

OpResult FlowController::Pause(const std::string& who) {
  OpResult refused;
  auto op = BeginOp("pause", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase == Phase::kPaused)
    return {absl::OkStatus(), {{"phase", "paused"}, {"changed", false}}};
  if (s.phase != Phase::kRunning) {
    return Fail(absl::FailedPreconditionError(absl::StrCat("flow ", flow_.name(), " is ",
                                                           control::PhaseName(s.phase),
                                                           "; only a running flow can be paused")));
  }
  s.phase = Phase::kPaused;
  s.changed_by = who;
  s.reason = "pause";
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  return {absl::OkStatus(), {{"phase", "paused"}, {"changed", true}}};
}

OpResult FlowController::Resume(const std::string& who) {
  OpResult refused;
  auto op = BeginOp("resume", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase == Phase::kRunning)
    return {absl::OkStatus(), {{"phase", "running"}, {"changed", false}}};
  if (s.phase != Phase::kPaused) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("flow ", flow_.name(), " is ", control::PhaseName(s.phase),
                     "; resume only restarts a paused flow (a failed-over flow comes back with "
                     "failback)")));
  }
  s.phase = Phase::kRunning;
  s.changed_by = who;
  s.reason = "resume";
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  return {absl::OkStatus(), {{"phase", "running"}, {"changed", true}}};
}

OpResult FlowController::PauseGroup(const std::string& group, bool paused, const std::string& who) {
  OpResult refused;
  auto op = BeginOp(paused ? "group pause" : "group resume", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
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

OpResult FlowController::Skip(const std::string& topic, int32_t partition, int64_t offset,
                              const std::string& who) {
  OpResult refused;
  auto op = BeginOp("skip", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase != Phase::kRunning && s.phase != Phase::kPaused) {
    return Fail(absl::FailedPreconditionError(
        absl::StrCat("flow ", flow_.name(), " is ", control::PhaseName(s.phase),
                     "; records are skipped only on a running or paused flow")));
  }
  const std::string key = control::PartitionKey(topic, partition);
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

absl::Status FlowController::WaitForZeroLag(FlowUnit& unit, std::chrono::milliseconds timeout,
                                            json& report, bool may_hold_none) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    replication::FlowStatus st = unit.Status();
    if (Drained(st, may_hold_none)) {
      report["partitions"] = PartitionsJson(st);
      return absl::OkStatus();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const int64_t lag = st.LagRecords();
      report["partitions"] = PartitionsJson(st);
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
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::vector<std::string> FlowController::WaitForPeers(
    int64_t since_ms, std::chrono::steady_clock::time_point deadline,
    const std::function<bool(const json&)>& done) {
  while (true) {
    std::vector<std::string> pending;
    auto reports = InstanceReports();
    if (reports.ok()) {
      for (const json& i : *reports) {
        const std::string instance = i.value("instance", "");
        if (instance == cfg_.daemon.instance_id || i.value("state", "") != "active") continue;
        if (i.value("at_ms", int64_t{0}) < since_ms || !done(i)) pending.push_back(instance);
      }
    } else {
      pending.push_back("(state topic unreadable: " + std::string(reports.status().message()) +
                        ")");
    }
    if (pending.empty() || std::chrono::steady_clock::now() >= deadline) return pending;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

std::vector<FlowController::Observed> FlowController::Observations(
    const replication::FlowStatus& own, bool own_only) {
  std::map<SourcePartition, Observed> seen;
  const int64_t now = NowMs();
  for (const auto& p : own.partitions) {
    if (IsApplicationTopic(p.source.topic)) seen[p.source] = {p, now, cfg_.daemon.instance_id};
  }
  auto sorted = [&seen] {
    std::vector<Observed> out;
    for (auto& [tp, o] : seen) out.push_back(std::move(o));
    return out;
  };
  if (own_only) return sorted();
  // Other instances' partitions, as they last reported them. A stopped instance reports none; a
  // stale one (killed, or cut off from the target) left its last observation.
  auto reports = InstanceReports();
  if (!reports.ok()) {
    Log()->warn(
        "msg=\"cannot read the other instances' reports; the failover marks cover this "
        "instance's partitions only\" flow={} error=\"{}\"",
        flow_.name(), reports.status().message());
  }
  for (const json& i : reports.ok() ? *reports : std::vector<json>{}) {
    const std::string instance = i.value("instance", "");
    if (instance == cfg_.daemon.instance_id || !i.contains("replication")) continue;
    const int64_t at_ms = i.value("at_ms", int64_t{0});
    for (const json& e : i["replication"].value("positions", json::array())) {
      replication::PartitionStatus p;
      try {
        p.source = {e.at(0).get<std::string>(), e.at(1).get<int32_t>()};
        p.target = {e.at(2).get<std::string>(), e.at(3).get<int32_t>()};
        p.position = e.at(4).get<int64_t>();
        p.source_end = e.at(5).get<int64_t>();
        p.lag_seconds = e.at(6).get<double>();
        p.lag_records = p.position >= 0 ? std::max<int64_t>(0, p.source_end - p.position) : 0;
      } catch (const json::exception& ex) {
        Log()->warn(
            "msg=\"ignoring a malformed position in an instance report\" flow={} "
            "instance={} error=\"{}\"",
            flow_.name(), instance, ex.what());
        continue;
      }
      auto it = seen.find(p.source);
      if (it == seen.end() || it->second.at_ms < at_ms) seen[p.source] = {p, at_ms, instance};
    }
  }
  return sorted();
}

std::vector<PartitionMark> FlowController::MarksFrom(const std::vector<Observed>& seen) {
  // What the target really holds: the provenance of the last record of each remote partition.
  // Without provenance headers, the flow's acknowledged positions.
  std::map<TargetPartition, replication::TailState> tails;
  if (flow_.provenance && !seen.empty()) {
    std::vector<TargetPartition> targets;
    for (const auto& o : seen) targets.push_back(o.partition.target);
    auto tail = NewTargetTail("marks");
    if (tail.ok()) {
      auto read = (*tail)->Read(targets, flow_.source);
      if (read.ok()) {
        tails = std::move(*read);
      } else {
        Log()->warn(
            "msg=\"cannot read the target's tails for the failover marks; using the "
            "flow's positions\" flow={} error=\"{}\"",
            flow_.name(), read.status().message());
      }
    }
  }
  std::vector<PartitionMark> marks;
  for (const auto& o : seen) {
    const replication::PartitionStatus& p = o.partition;
    PartitionMark m;
    m.topic = p.source.topic;
    m.partition = p.source.partition;
    m.remote_topic = p.target.topic;
    m.source_next = p.position;
    m.source_end = p.source_end;
    m.lag_seconds = p.lag_seconds;
    m.observed_ms = o.at_ms;
    auto it = tails.find(p.target);
    if (it != tails.end()) {
      m.target_end = it->second.target.high;
      // The target's newest copy says where records stop; the flow's position can be further
      // when only offsets without a record (transaction markers, compacted) follow it.
      if (it->second.last) m.source_next = std::max(it->second.last->value + 1, p.position);
    } else {
      auto wm = target_admin_->QueryWatermarks(p.target.topic, p.target.partition,
                                               std::chrono::seconds(5));
      m.target_end = wm.ok() ? wm->high : -1;
    }
    marks.push_back(std::move(m));
  }
  std::sort(marks.begin(), marks.end(), [](const PartitionMark& a, const PartitionMark& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return marks;
}

std::map<std::string, int64_t> FlowController::ReverseStartOffsets() {
  std::map<std::string, int64_t> out;
  auto selector = SelectorFor(ReverseFlow(flow_));
  if (!selector.ok()) return out;
  auto md = target_admin_->Metadata(std::nullopt, std::chrono::seconds(10));
  if (!md.ok()) {
    Log()->warn("msg=\"cannot list target topics for the reverse start\" flow={} error=\"{}\"",
                flow_.name(), md.status().message());
    return out;
  }
  for (const auto& t : md->topics) {
    if (!t.status.ok() || !(*selector)->ShouldReplicate(t.name)) continue;
    for (size_t p = 0; p < t.partitions.size(); ++p) {
      auto wm =
          target_admin_->QueryWatermarks(t.name, static_cast<int32_t>(p), std::chrono::seconds(5));
      if (wm.ok()) out[control::PartitionKey(t.name, static_cast<int32_t>(p))] = wm->high;
    }
  }
  return out;
}

namespace {
json MarksReport(const std::vector<PartitionMark>& marks, int64_t& missing_total) {
  json out = json::array();
  missing_total = 0;
  for (const auto& m : marks) {
    json j = control::ToJson(m);
    j["last_replicated_source_offset"] =
        m.source_next >= 0 ? json(m.source_next - 1) : json(nullptr);
    missing_total += m.MissingRecords();
    out.push_back(std::move(j));
  }
  return out;
}
}  // namespace

OpResult FlowController::Failover(bool planned, std::chrono::milliseconds timeout,
                                  const std::string& who) {
  const std::string kind = planned ? "planned" : "forced";
  OpResult refused;
  auto op = BeginOp(kind + " failover", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase == Phase::kFailedOver) {
    int64_t missing = 0;
    json marks = MarksReport(s.marks, missing);
    return {absl::OkStatus(),
            {{"phase", "failed_over"},
             {"changed", false},
             {"failover_kind", s.failover_kind},
             {"failover_ms", s.failover_ms},
             {"marks", marks},
             {"rpo_records", missing},
             {"note", "already failed over; nothing was changed"}}};
  }
  if (s.phase == Phase::kFailingBack) {
    return Fail(absl::FailedPreconditionError(
        "flow " + flow_.name() + " is failing back; finish with failback --switch-back first"));
  }
  std::shared_ptr<FlowUnit> unit = Forward();
  if (!unit) {
    return Fail(absl::UnavailableError("flow " + flow_.name() +
                                       " has no running replication on "
                                       "this instance (see its state error)"));
  }
  json report{{"failover_kind", kind}};
  // The marks cover every application partition of the flow: this instance's and those the
  // other instances of the flow report. A planned failover waits for their fresh reports below;
  // otherwise the partitions must be known now.
  const bool peers = PeersRun("replication");
  if ((!planned || !peers) && Observations(unit->Status()).empty()) {
    return Fail(NoPartitionsError());
  }
  if (planned && peers && s.phase == Phase::kPaused) {
    return Fail(absl::FailedPreconditionError(
        "flow " + flow_.name() +
        " is paused and other instances hold some of its partitions: they copy what is left "
        "only while the flow runs. Resume it (kmirrorctl resume), then fail over; nothing was "
        "changed"));
  }
  const auto started = std::chrono::steady_clock::now();
  replication::FlowStatus final_status;
  if (planned) {
    unit->SetPaused(false);  // a paused flow drains too (held by this instance alone)
    if (absl::Status lag = WaitForZeroLag(*unit, timeout, report, peers); !lag.ok()) {
      if (s.phase == Phase::kPaused) unit->SetPaused(true);
      return Fail(lag, report);
    }
    if (peers) {
      if (absl::Status lag = WaitForPeersDrained(
              "replication", flow_.name(), started, timeout,
              "stop the producers on the source, or use a longer --timeout; the flow keeps "
              "replicating",
              report);
          !lag.ok()) {
        if (s.phase == Phase::kPaused) unit->SetPaused(true);
        return Fail(lag, report);
      }
    }
    // Stop fetching and let what is in flight land: the status then holds the exact positions.
    unit->SetPaused(true);
    const auto settle = std::chrono::steady_clock::now() + options_.drain_timeout;
    while (std::chrono::steady_clock::now() < settle) {
      replication::FlowStatus st = unit->Status();
      if (st.paused && st.in_flight_bytes == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    final_status = unit->Status();
    // Leave the source group and write the last offset syncs.
    if (absl::Status drained = unit->Stop(options_.drain_timeout); !drained.ok()) {
      Reapply(s);  // back to replicating
      return Fail(drained, report);
    }
    // Final checkpoints and group offset sync into the target, with nothing left in flight.
    report["final_checkpoints"] = FinalCheckpoints(*unit);
  } else {
    // The source is not asked: its end offsets are the last observation. Stop fetching, stop the
    // unit on its own thread (a close towards dead brokers may be slow) and give what is in
    // flight a short moment to land before the target's tails are read.
    unit->SetPaused(true);
    final_status = unit->Status();
    auto done = std::make_shared<std::atomic<bool>>(false);
    {
      std::lock_guard<std::mutex> apply(apply_mu_);
      std::lock_guard<std::mutex> lock(mu_);
      // applied_version_ stays: the control loop must not restart what this verb stops.
      if (forward_ == unit) forward_.reset();
      const auto drain = std::min(options_.drain_timeout, std::chrono::milliseconds(3000));
      retiring_.emplace_back([unit, drain, done]() mutable {
        (void)unit->Stop(drain);
        unit.reset();
        done->store(true);
      });
    }
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done->load() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!done->load()) {
      report["warning"] =
          "replication had not stopped within 5 s; records in flight may still land on the "
          "target, so the missing counts are an upper bound";
    }
  }
  const std::vector<Observed> seen = Observations(final_status);
  if (seen.empty()) {
    Reapply(s);  // back to replicating
    return Fail(NoPartitionsError(), report);
  }
  // The source is reachable in a planned failover: compare with its end offsets now, not at the
  // last fetch.
  auto marks_now = [&] {
    std::vector<PartitionMark> marks = MarksFrom(seen);
    if (!planned) return marks;
    for (auto& m : marks) {
      auto wm = source_admin_->QueryWatermarks(m.topic, m.partition, std::chrono::seconds(5));
      if (wm.ok()) {
        m.source_end = wm->high;
        m.observed_ms = NowMs();
      }
    }
    return marks;
  };
  std::vector<PartitionMark> marks = marks_now();
  json observed_by = json::object();
  for (const auto& o : seen) {
    observed_by[o.instance] = observed_by.value(o.instance, 0) + 1;
  }
  report["partitions_by_instance"] = observed_by;
  s.phase = Phase::kFailedOver;
  s.changed_by = who;
  s.reason = kind + " failover";
  s.failover_kind = kind;
  s.failover_ms = NowMs();
  s.marks = marks;
  s.reverse_start = ReverseStartOffsets();
  s.resume_floor.clear();
  s.divergence = nullptr;
  if (absl::Status st = Commit(s); !st.ok()) {
    Reapply(Current());  // back to what the stored state says (the unit was stopped above)
    return Fail(absl::Status(st.code(), absl::StrCat("failover not recorded: ", st.message())),
                report);
  }
  if (planned && peers) {
    // The other instances stop with their next state poll; what they copy until then is on the
    // target, so their partitions' marks are read again once they stopped.
    const int64_t committed_ms = NowMs();
    auto pending = WaitForPeers(
        committed_ms,
        std::chrono::steady_clock::now() +
            std::max<std::chrono::milliseconds>(std::chrono::seconds(15), 3 * options_.state_poll),
        [](const json& i) { return !i.contains("replication"); });
    marks = marks_now();
    FlowState again = Current();
    again.marks = marks;
    if (absl::Status st = Commit(again); !st.ok() || !pending.empty()) {
      report["warning"] = absl::StrCat(
          "the marks could not be confirmed after every instance stopped (",
          st.ok() ? "still replicating: " + absl::StrJoin(pending, ", ")
                  : std::string(st.message()),
          "); records copied after the first reading of the target are reported by failback "
          "as divergent although the target holds them");
      if (!st.ok()) marks = Current().marks;
    }
  }
  int64_t missing = 0;
  report["phase"] = "failed_over";
  report["changed"] = true;
  report["marks"] = MarksReport(marks, missing);
  report["rpo_records"] = missing;
  double rpo_s = 0;
  for (const auto& m : marks) rpo_s = std::max(rpo_s, m.MissingRecords() > 0 ? m.lag_seconds : 0);
  report["rpo_seconds"] = rpo_s;
  report["duration_seconds"] =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  report["note"] = planned ? (missing == 0 ? "every record of the source is on the target (RPO 0)"
                                           : "records were written on the source after the lag "
                                             "reached zero; failback reports and preserves them")
                           : "RPO is an estimate from the last observation of the source; "
                             "failback reports exactly what never arrived";
  Log()->warn("msg=\"flow failed over\" flow={} kind={} rpo_records={} by=\"{}\"", flow_.name(),
              kind, missing, who);
  return {absl::OkStatus(), report};
}

OpResult FlowController::Failback(const FailbackOptions& options, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("failback", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase == Phase::kFailingBack) {
    return {absl::OkStatus(),
            {{"phase", "failing_back"},
             {"changed", false},
             {"divergence", s.divergence},
             {"note",
              "already failing back; run failback --switch-back once applications "
              "stopped writing to " +
                  flow_.target}}};
  }
  if (s.phase != Phase::kFailedOver) {
    return Fail(absl::FailedPreconditionError("flow " + flow_.name() + " is " +
                                              control::PhaseName(s.phase) +
                                              "; failback starts from a failed-over flow"));
  }
  for (const auto& f : cfg_.flows) {
    if (f.enabled && f.source == flow_.target && f.target == flow_.source) {
      return Fail(absl::FailedPreconditionError(
          "the configuration already runs " + f.name() +
          " (active-active): it carries the records back; resume " + flow_.name() +
          " by removing the failover with a new planned failover of " + f.name()));
    }
  }
  // What the source holds beyond the mark never reached the target.
  std::vector<DivergentRange> ranges;
  std::map<std::string, int64_t> floors;
  for (const auto& m : s.marks) {
    auto wm = source_admin_->QueryWatermarks(m.topic, m.partition, std::chrono::seconds(5));
    if (!wm.ok()) {
      return Fail(absl::UnavailableError(
          absl::StrCat(flow_.source, " is not reachable (", m.topic, "[", m.partition,
                       "]: ", wm.status().message(), "); failback needs it. Nothing was changed")));
    }
    const int64_t from = m.source_next >= 0 ? std::max(m.source_next, wm->low) : wm->low;
    ranges.push_back({m.topic, m.partition, from, wm->high});
    floors[control::PartitionKey(m.topic, m.partition)] = std::max(from, wm->high);
  }
  PreserveTarget where;
  where.to_file = options.preserve == FailbackOptions::Preserve::kFile;
  where.file = options.file;
  where.source_alias = flow_.source;
  where.target_alias = flow_.target;
  auto preserved = PreserveDivergent(ToProperties(config::SourceProperties(cfg_, flow_)), ranges,
                                     where, std::chrono::minutes(5));
  if (!preserved.ok()) {
    return Fail(absl::Status(preserved.status().code(),
                             absl::StrCat("divergent records could not be preserved: ",
                                          preserved.status().message(), ". Nothing was changed")));
  }
  int64_t divergent = 0;
  for (const auto& r : ranges) divergent += std::max<int64_t>(0, r.to - r.from);
  s.phase = Phase::kFailingBack;
  s.changed_by = who;
  s.reason = "failback";
  s.resume_floor = floors;
  s.divergence = {{"records", divergent},
                  {"preserved_to", where.to_file ? "file" : "quarantine_topic"},
                  {"partitions", *preserved}};
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  Log()->warn("msg=\"failback started\" flow={} reverse={} divergent_records={} by=\"{}\"",
              flow_.name(), ReverseFlow(flow_).name(), divergent, who);
  return {absl::OkStatus(),
          {{"phase", "failing_back"},
           {"changed", true},
           {"reverse_flow", ReverseFlow(flow_).name()},
           {"divergence", s.divergence},
           {"reverse_start", s.reverse_start},
           {"note", "records written on " + flow_.target + " since the failover now flow back to " +
                        flow_.source + "; when applications stop writing to " + flow_.target +
                        ", run failback --switch-back"}}};
}

OpResult FlowController::SwitchBack(std::chrono::milliseconds timeout, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("switch back", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (s.phase == Phase::kRunning || s.phase == Phase::kPaused) {
    return {absl::OkStatus(),
            {{"phase", control::PhaseName(s.phase)},
             {"changed", false},
             {"note", "the flow already runs " + flow_.name()}}};
  }
  if (s.phase != Phase::kFailingBack) {
    return Fail(absl::FailedPreconditionError(
        "flow " + flow_.name() + " is " + control::PhaseName(s.phase) + "; run failback first"));
  }
  std::shared_ptr<FlowUnit> reverse = Reverse();
  if (!reverse) {
    return Fail(absl::UnavailableError("the reverse flow is not running on this instance"));
  }
  json report;
  // Other live instances run their share of the reverse flow: their partitions drain too.
  const bool peers = PeersRun("reverse_replication");
  const auto started = std::chrono::steady_clock::now();
  if (absl::Status lag = WaitForZeroLag(*reverse, timeout, report, peers); !lag.ok()) {
    return Fail(lag, report);
  }
  if (peers) {
    if (absl::Status lag = WaitForPeersDrained(
            "reverse_replication", ReverseFlow(flow_).name(), started, timeout,
            "stop the applications writing to " + flow_.target + ", or use a longer --timeout",
            report);
        !lag.ok()) {
      return Fail(lag, report);
    }
  }
  if (absl::Status drained = reverse->Stop(options_.drain_timeout); !drained.ok()) {
    Reapply(s);
    return Fail(drained, report);
  }
  report["final_checkpoints"] = FinalCheckpoints(*reverse);
  s.phase = Phase::kRunning;
  s.changed_by = who;
  s.reason = "switch back";
  s.marks.clear();
  s.reverse_start.clear();
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st, report);
  report["phase"] = "running";
  report["changed"] = true;
  report["resume_floor"] = s.resume_floor;
  report["note"] = flow_.name() + " replicates again; applications may use " + flow_.source;
  Log()->warn("msg=\"switched back\" flow={} by=\"{}\"", flow_.name(), who);
  return {absl::OkStatus(), report};
}

}  // namespace kmirror::daemon
