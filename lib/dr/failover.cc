// Controller: failover (planned and forced), failback and switch back, and the failover marks.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lib/common/logging.h"
#include "lib/dr/controller.h"
#include "lib/dr/selection.h"
#include "lib/dr/verb_util.h"

namespace kmirror::dr {

using internal::Fail;
using nlohmann::json;

namespace {
auto Log() { return common::Logger("control"); }
}  // namespace

std::vector<Controller::Observed> Controller::Observations(const replication::FlowStatus& own,
                                                           bool own_only) {
  std::map<SourcePartition, Observed> seen;
  const int64_t now_ms = clock_.WallMs();
  const Clock::TimePoint now = clock_.Now();
  for (const auto& p : own.partitions) {
    if (IsApplicationTopic(p.source.topic)) {
      seen[p.source] = {p, now_ms, now, cfg_.daemon.instance_id};
    }
  }
  auto sorted = [&seen] {
    std::vector<Observed> out;
    for (auto& [tp, o] : seen) out.push_back(std::move(o));
    return out;
  };
  if (own_only) return sorted();
  // Other instances' partitions, as they last reported them. A stopped instance reports none; a
  // stale one (killed, or cut off from the target) left its last observation. Freshness is
  // judged on this instance's clock: how long ago the report was new here.
  auto peers = Peers();
  if (!peers.ok()) {
    Log()->warn(
        "msg=\"cannot read the other instances' reports; the failover marks cover this "
        "instance's partitions only\" flow={} error=\"{}\"",
        name_, peers.status().message());
  }
  for (const Peer& peer : peers.ok() ? *peers : std::vector<Peer>{}) {
    const InstanceReport& r = peer.report;
    if (r.instance == cfg_.daemon.instance_id || !r.replication) continue;
    const auto at = now - std::chrono::duration_cast<Clock::TimePoint::duration>(
                              std::chrono::duration<double>(peer.age_seconds));
    for (const ReportedPosition& e : r.replication->positions) {
      replication::PartitionStatus p;
      p.source = e.source;
      p.target = e.target;
      p.position = e.position;
      p.source_end = e.source_end;
      p.lag_seconds = e.lag_seconds;
      p.lag_records = p.position >= 0 ? std::max<int64_t>(0, p.source_end - p.position) : 0;
      auto it = seen.find(p.source);
      if (it == seen.end() || it->second.seen < at) seen[p.source] = {p, r.at_ms, at, r.instance};
    }
  }
  return sorted();
}

std::vector<PartitionMark> Controller::MarksFrom(const std::vector<Observed>& seen) {
  // What the target really holds: the provenance of the last record of each remote partition.
  // Without provenance headers, the flow's acknowledged positions.
  std::map<TargetPartition, replication::TailState> tails;
  if (flow_.provenance && !seen.empty()) {
    std::vector<TargetPartition> targets;
    for (const auto& o : seen) targets.push_back(o.partition.target);
    auto read = deps_.target->Tails(targets, flow_.source);
    if (read.ok()) {
      tails = std::move(*read);
    } else {
      Log()->warn(
          "msg=\"cannot read the target's tails for the failover marks; using the flow's "
          "positions\" flow={} error=\"{}\"",
          name_, read.status().message());
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
      auto wm = deps_.target->QueryWatermarks(p.target.topic, p.target.partition);
      m.target_end = wm.ok() ? wm->high : -1;
    }
    marks.push_back(std::move(m));
  }
  std::sort(marks.begin(), marks.end(), [](const PartitionMark& a, const PartitionMark& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  });
  return marks;
}

std::map<std::string, int64_t> Controller::ReverseStartOffsets() {
  std::map<std::string, int64_t> out;
  auto topics = deps_.target->Topics();
  if (!topics.ok()) {
    Log()->warn("msg=\"cannot list target topics for the reverse start\" flow={} error=\"{}\"",
                name_, topics.status().message());
    return out;
  }
  for (const auto& [topic, partitions] : *topics) {
    if (!reverse_selector_->ShouldReplicate(topic)) continue;
    for (int32_t p = 0; p < partitions; ++p) {
      auto wm = deps_.target->QueryWatermarks(topic, p);
      if (wm.ok()) out[PartitionKey(topic, p)] = wm->high;
    }
  }
  return out;
}

OpResult Controller::Failover(bool planned, std::chrono::milliseconds timeout,
                              const std::string& who) {
  const Verb verb = planned ? Verb::kFailoverPlanned : Verb::kFailoverForced;
  const std::string kind = planned ? "planned" : "forced";
  OpResult refused;
  auto op = BeginOp(kind + " failover", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  {
    int64_t missing = 0;
    json marks = internal::MarksReport(s.marks, missing);
    if (auto answer = Refuse(verb, s,
                             {{"failover_kind", s.failover_kind},
                              {"failover_ms", s.failover_ms},
                              {"marks", marks},
                              {"rpo_records", missing}})) {
      return *answer;
    }
  }
  std::shared_ptr<ReplicationUnit> unit = Forward();
  if (!unit) {
    return Fail(absl::UnavailableError("flow " + name_ +
                                       " has no running replication on "
                                       "this instance (see its state error)"));
  }
  json report{{"failover_kind", kind}};
  // The marks cover every application partition of the flow: this instance's and those the
  // other instances of the flow report. A planned failover waits for their fresh reports below;
  // otherwise the partitions must be known now.
  const bool peers = PeersRun(/*reverse=*/false);
  if ((!planned || !peers) && Observations(unit->Status()).empty()) {
    return Fail(NoPartitionsError());
  }
  if (planned && peers && s.phase == Phase::kPaused) {
    return Fail(absl::FailedPreconditionError(
        "flow " + name_ +
        " is paused and other instances hold some of its partitions: they copy what is left "
        "only while the flow runs. Resume it (kmirrorctl resume), then fail over; nothing was "
        "changed"));
  }
  const auto started = clock_.Now();
  replication::FlowStatus final_status;
  if (planned) {
    unit->SetPaused(false);  // a paused flow drains too (held by this instance alone)
    if (absl::Status lag = WaitForZeroLag(*unit, timeout, report, peers); !lag.ok()) {
      if (s.phase == Phase::kPaused) unit->SetPaused(true);
      return Fail(lag, report);
    }
    if (peers) {
      if (absl::Status lag = WaitForPeersDrained(
              /*reverse=*/false, name_, started, timeout,
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
    const auto settle = clock_.Now() + options_.drain_timeout;
    while (clock_.Now() < settle) {
      replication::FlowStatus st = unit->Status();
      if (st.paused && st.in_flight_bytes == 0) break;
      clock_.SleepFor(std::chrono::milliseconds(50));
    }
    final_status = unit->Status();
    // Leave the source group and write the last offset syncs.
    if (absl::Status drained = unit->Stop(options_.drain_timeout); !drained.ok()) {
      Reapply(s);  // back to replicating
      return Fail(drained, report);
    }
    // Final checkpoints and group offset sync into the target, with nothing left in flight.
    report["final_checkpoints"] = unit->FinalCheckpoints();
  } else {
    // The source is not asked: its end offsets are the last observation. Stop fetching, stop the
    // unit on its own thread (a close towards dead brokers may be slow) and give what is in
    // flight a short moment to land before the target's tails are read.
    unit->SetPaused(true);
    final_status = unit->Status();
    std::shared_future<void> stopped;
    {
      std::lock_guard<std::mutex> apply(apply_mu_);
      {
        std::lock_guard<std::mutex> lock(mu_);
        // applied_version_ stays: the control loop must not restart what this verb stops.
        if (forward_ == unit) forward_.reset();
      }
      stopped = Retire(unit, std::min(options_.drain_timeout, std::chrono::milliseconds(3000)));
    }
    unit.reset();
    if (stopped.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
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
      auto wm = deps_.source->QueryWatermarks(m.topic, m.partition);
      if (wm.ok()) {
        m.source_end = wm->high;
        m.observed_ms = clock_.WallMs();
      }
    }
    return marks;
  };
  std::vector<PartitionMark> marks = marks_now();
  json observed_by = json::object();
  for (const auto& o : seen) observed_by[o.instance] = observed_by.value(o.instance, 0) + 1;
  report["partitions_by_instance"] = observed_by;
  s.phase = RuleFor(s.phase, verb).to;
  s.changed_by = who;
  s.reason = kind + " failover";
  s.failover_kind = kind;
  s.failover_ms = clock_.WallMs();
  s.marks = marks;
  s.reverse_start = ReverseStartOffsets();
  s.resume_floor.clear();
  s.divergence = nullptr;
  if (absl::Status st = Commit(s); !st.ok()) {
    // Back to replicating as before (the unit was stopped above), then to whatever the stored
    // state says now: another instance may have changed it first.
    Reapply(Current());
    (void)Sync();
    return Fail(absl::Status(st.code(), absl::StrCat("failover not recorded: ", st.message())),
                report);
  }
  if (planned && peers) {
    // The other instances stop with their next state poll; what they copy until then is on the
    // target, so their partitions' marks are read again once they stopped.
    auto pending =
        WaitForPeers(clock_.Now() + std::max<std::chrono::milliseconds>(std::chrono::seconds(15),
                                                                        3 * options_.state_poll),
                     [](const InstanceReport& r) { return !r.replication.has_value(); });
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
  report["marks"] = internal::MarksReport(marks, missing);
  report["rpo_records"] = missing;
  double rpo_s = 0;
  for (const auto& m : marks) rpo_s = std::max(rpo_s, m.MissingRecords() > 0 ? m.lag_seconds : 0);
  report["rpo_seconds"] = rpo_s;
  report["rpo_clock"] =
      "lag_seconds: source record timestamps (producer clocks, CreateTime) against the clock of "
      "the instance that observed the partition";
  report["duration_seconds"] = std::chrono::duration<double>(clock_.Now() - started).count();
  report["note"] = planned ? (missing == 0 ? "every record of the source is on the target (RPO 0)"
                                           : "records were written on the source after the lag "
                                             "reached zero; failback reports and preserves them")
                           : "RPO is an estimate from the last observation of the source; "
                             "failback reports exactly what never arrived";
  Log()->warn("msg=\"flow failed over\" flow={} kind={} rpo_records={} by=\"{}\"", name_, kind,
              missing, who);
  return {absl::OkStatus(), report};
}

OpResult Controller::Failback(const FailbackOptions& options, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("failback", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(Verb::kFailback, s,
                           {{"divergence", s.divergence},
                            {"note",
                             "already failing back; run failback --switch-back once "
                             "applications stopped writing to " +
                                 flow_.target}})) {
    return *answer;
  }
  for (const auto& f : cfg_.flows) {
    if (f.enabled && f.source == flow_.target && f.target == flow_.source) {
      return Fail(absl::FailedPreconditionError(
          "the configuration already runs " + f.name() +
          " (active-active): it carries the records back; resume " + name_ +
          " by removing the failover with a new planned failover of " + f.name()));
    }
  }
  // What the source holds beyond the mark never reached the target; so does every record of a
  // topic or partition of the flow created on the source after the failover (no mark).
  auto topics = deps_.source->Topics();
  if (!topics.ok()) {
    return Fail(absl::UnavailableError(absl::StrCat(flow_.source, " is not reachable (",
                                                    topics.status().message(),
                                                    "); failback needs it. Nothing was changed")));
  }
  std::map<SourcePartition, int64_t> next;  // first source offset not on the target
  for (const auto& m : s.marks) next[{m.topic, m.partition}] = m.source_next;
  for (const auto& [topic, partitions] : *topics) {
    if (!selector_->ShouldReplicate(topic) || !IsApplicationTopic(topic)) continue;
    for (int32_t p = 0; p < partitions; ++p) next.try_emplace({topic, p}, -1);
  }
  std::vector<DivergentRange> ranges;
  std::map<std::string, int64_t> floors;
  for (const auto& [sp, source_next] : next) {
    auto wm = deps_.source->QueryWatermarks(sp.topic, sp.partition);
    if (!wm.ok()) {
      return Fail(absl::UnavailableError(
          absl::StrCat(flow_.source, " is not reachable (", sp.topic, "[", sp.partition,
                       "]: ", wm.status().message(), "); failback needs it. Nothing was changed")));
    }
    // -1: no mark (new since the failover) or not known: everything the source still holds.
    const int64_t from = source_next >= 0 ? std::max(source_next, wm->low) : wm->low;
    ranges.push_back({sp.topic, sp.partition, from, wm->high});
    floors[PartitionKey(sp.topic, sp.partition)] = std::max(from, wm->high);
  }
  PreserveTarget where;
  where.to_file = options.preserve == FailbackOptions::Preserve::kFile;
  where.file = options.file;
  where.source_alias = flow_.source;
  where.target_alias = flow_.target;
  auto preserved = deps_.preserver->Preserve(ranges, where, std::chrono::minutes(5));
  if (!preserved.ok()) {
    return Fail(absl::Status(preserved.status().code(),
                             absl::StrCat("divergent records could not be preserved: ",
                                          preserved.status().message(), ". Nothing was changed")));
  }
  int64_t divergent = 0;
  for (const auto& r : ranges) divergent += std::max<int64_t>(0, r.to - r.from);
  s.phase = RuleFor(s.phase, Verb::kFailback).to;
  s.changed_by = who;
  s.reason = "failback";
  s.resume_floor = floors;
  s.divergence = {{"records", divergent},
                  {"preserved_to", where.to_file ? "file" : "quarantine_topic"},
                  {"partitions", *preserved}};
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st);
  const std::string reverse = ReverseFlow(flow_).name();
  Log()->warn("msg=\"failback started\" flow={} reverse={} divergent_records={} by=\"{}\"", name_,
              reverse, divergent, who);
  return {absl::OkStatus(),
          {{"phase", "failing_back"},
           {"changed", true},
           {"reverse_flow", reverse},
           {"divergence", s.divergence},
           {"reverse_start", s.reverse_start},
           {"note", "records written on " + flow_.target + " since the failover now flow back to " +
                        flow_.source + "; when applications stop writing to " + flow_.target +
                        ", run failback --switch-back"}}};
}

OpResult Controller::SwitchBack(std::chrono::milliseconds timeout, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("switch back", refused);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(Verb::kSwitchBack, s, {{"note", "the flow already runs " + name_}})) {
    return *answer;
  }
  std::shared_ptr<ReplicationUnit> reverse = Reverse();
  if (!reverse) {
    return Fail(absl::UnavailableError("the reverse flow is not running on this instance"));
  }
  json report;
  // Other live instances run their share of the reverse flow: their partitions drain too.
  const bool peers = PeersRun(/*reverse=*/true);
  const auto started = clock_.Now();
  if (absl::Status lag = WaitForZeroLag(*reverse, timeout, report, peers); !lag.ok()) {
    return Fail(lag, report);
  }
  if (peers) {
    if (absl::Status lag = WaitForPeersDrained(
            /*reverse=*/true, ReverseFlow(flow_).name(), started, timeout,
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
  report["final_checkpoints"] = reverse->FinalCheckpoints();
  s.phase = RuleFor(s.phase, Verb::kSwitchBack).to;
  s.changed_by = who;
  s.reason = "switch back";
  s.marks.clear();
  s.reverse_start.clear();
  if (absl::Status st = Commit(s); !st.ok()) return Fail(st, report);
  report["phase"] = "running";
  report["changed"] = true;
  report["resume_floor"] = s.resume_floor;
  report["note"] = name_ + " replicates again; applications may use " + flow_.source;
  Log()->warn("msg=\"switched back\" flow={} by=\"{}\"", name_, who);
  return {absl::OkStatus(), report};
}

}  // namespace kmirror::dr
