// Controller::Drill: a non-disruptive DR test of a running flow. Each check passes or fails
// with its reason; the report is also written to the state topic (drill/<flow>/<time>).
//
//   canary        canary records produced on the source arrive on the target (latency measured)
//   translation   a consumer offset in the canary range translates to exactly the target record
//   compare       canary and sampled application records are byte-identical on both sides
//   checkpoints   the last checkpoint pass is recent
//   heartbeats    heartbeats from the source are recent on the target
//   estimate      RPO (current lag) and RTO (the time a forced failover takes to collect its marks)
#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/dr/controller.h"
#include "lib/dr/verb_util.h"

namespace kmirror::dr {
namespace {

using nlohmann::json;

void AddCheck(json& checks, const std::string& name, bool passed, const std::string& detail,
              json extra = json::object()) {
  extra["name"] = name;
  extra["passed"] = passed;
  extra["detail"] = detail;
  checks.push_back(std::move(extra));
}

}  // namespace

OpResult Controller::Drill(const DrillOptions& options, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("drill", refused, /*fresh=*/false);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  FlowState s = Current();
  if (auto answer = Refuse(Verb::kDrill, s)) return *answer;
  std::shared_ptr<ReplicationUnit> unit = Forward();
  if (!unit) return {absl::UnavailableError("the flow is not running on this instance"), {}};
  auto log = common::Logger("control");
  const auto deadline = clock_.Now() + options.timeout;
  const int64_t started_ms = clock_.WallMs();
  json checks = json::array();
  const std::string canary_remote = selector_->RemoteTopic(std::string(policy::kDrillTopic));

  // 1. Canary records: produced on the source, watched until the flow has replicated them.
  const std::string drill_id = absl::StrCat(cfg_.daemon.instance_id, "-", started_ms);
  (void)deps_.source->EnsureTopic(std::string(policy::kDrillTopic), 1);
  unit->RequestDiscovery();
  auto produced =
      deps_.drill->ProduceCanaries(drill_id, options.canary_records, options.timeout / 3);
  std::vector<int64_t> canary_offsets;
  if (produced.ok()) canary_offsets = *produced;
  std::sort(canary_offsets.begin(), canary_offsets.end());
  const auto sent_at = clock_.Now();
  bool canary_ok = false;
  if (canary_offsets.empty()) {
    AddCheck(
        checks, "canary", false,
        absl::StrCat("cannot produce canary records to ", flow_.source, "/", policy::kDrillTopic,
                     ": ", produced.ok() ? "none acknowledged" : produced.status().message()));
  } else {
    const int64_t last = canary_offsets.back();
    int64_t position = -1;
    // Where the canary partition stands: this instance's position when it holds the partition,
    // otherwise (another instance of the flow holds it) the provenance of the target's newest
    // record of it.
    const TargetPartition canary_target{canary_remote, 0};
    while (clock_.Now() < deadline) {
      bool held = false;
      for (const auto& p : unit->Status().partitions) {
        if (p.source.topic == policy::kDrillTopic && p.source.partition == 0) {
          position = p.position;
          held = true;
        }
      }
      if (!held) {
        auto read = deps_.target->Tails({canary_target}, flow_.source);
        if (read.ok()) {
          auto it = read->find(canary_target);
          if (it != read->end() && it->second.last) position = it->second.last->value + 1;
        }
      }
      if (position > last) break;
      clock_.SleepFor(std::chrono::milliseconds(held ? 20 : 100));
    }
    if (position > last) {
      canary_ok = true;
      const double latency_s = std::chrono::duration<double>(clock_.Now() - sent_at).count();
      AddCheck(checks, "canary", true,
               absl::StrCat(canary_offsets.size(), " canary records reached ", flow_.target, "/",
                            canary_remote, " in ", latency_s, " s"),
               {{"latency_seconds", latency_s}, {"records", canary_offsets.size()}});
    } else {
      AddCheck(checks, "canary", false,
               absl::StrCat("canary records did not reach ", flow_.target, " within ",
                            options.timeout.count() / 1000.0, " s: replicated up to source offset ",
                            position, ", last canary at ", last, ". Is ", flow_.target,
                            " reachable? (kmirrorctl status shows the flow's partitions)"));
    }
  }

  // 2 and 3. Exact translation of a canary offset, and byte-for-byte comparison.
  if (!canary_ok) {
    AddCheck(checks, "translation", false, "skipped: the canary records did not arrive");
  } else if (!flow_.provenance) {
    AddCheck(
        checks, "translation", false,
        "not checkable: provenance headers are off for this flow, so translation is not exact");
  } else {
    // The committed offset of a consumer half-way through the canary records.
    const int64_t committed = canary_offsets[canary_offsets.size() / 2];
    // The target record holding it is among the newest of the remote canary partition.
    absl::StatusOr<DrillIo::Translation> t = absl::UnavailableError("not read");
    auto wm = deps_.target->QueryWatermarks(canary_remote, 0);
    if (wm.ok()) {
      const int64_t from = std::max<int64_t>(wm->low, wm->high - 10 * options.canary_records - 100);
      t = deps_.drill->TranslateCanary(canary_remote, committed, from, wm->high, deadline);
    } else {
      t = wm.status();
    }
    std::string detail;
    bool passed = false;
    json extra;
    if (!t.ok()) {
      detail = absl::StrCat("translation failed: ", t.status().message());
    } else if (!t->translated) {
      detail = "no translation for a replicated offset";
    } else if (!t->expected) {
      detail = "could not find the canary record on the target";
    } else {
      passed = *t->translated == *t->expected;
      extra = {
          {"source_offset", committed}, {"translated", *t->translated}, {"expected", *t->expected}};
      detail = passed ? absl::StrCat("source offset ", committed, " translates to ", *t->expected,
                                     ", the target record holding it")
                      : absl::StrCat("source offset ", committed, " translates to ", *t->translated,
                                     " but the record is at ", *t->expected);
    }
    AddCheck(checks, "translation", passed, detail, extra);
  }
  if (!canary_ok) {
    AddCheck(checks, "compare", false, "skipped: the canary records did not arrive");
  } else if (!flow_.provenance) {
    AddCheck(checks, "compare", false,
             "not checkable: provenance headers are off, target records cannot be paired");
  } else {
    int64_t compared = 0;
    absl::Status cmp;
    // The canary records, then the newest records of up to 3 application partitions picked at
    // random among the flow's (whichever instance holds them).
    std::vector<replication::PartitionStatus> sample;
    for (const auto& o : Observations(unit->Status())) sample.push_back(o.partition);
    std::shuffle(sample.begin(), sample.end(), std::mt19937(static_cast<uint32_t>(started_ms)));
    if (sample.size() > 3) sample.resize(3);
    replication::PartitionStatus canary_partition;
    canary_partition.source = {std::string(policy::kDrillTopic), 0};
    canary_partition.target = {canary_remote, 0};
    sample.insert(sample.begin(), canary_partition);
    int partitions = 0;
    for (const auto& p : sample) {
      const bool canary = p.source.topic == policy::kDrillTopic;
      auto wm = deps_.target->QueryWatermarks(p.target.topic, p.target.partition);
      if (!wm.ok()) {
        cmp = wm.status();
        break;
      }
      const int64_t n = canary ? options.canary_records : 5;
      auto got = deps_.drill->Compare(p.source.topic, p.target.topic, p.source.partition,
                                      std::max(wm->low, wm->high - n), wm->high, deadline);
      if (!got.ok()) {
        cmp = got.status();
        break;
      }
      compared += *got;
      ++partitions;
    }
    AddCheck(checks, "compare", cmp.ok() && compared > 0,
             cmp.ok() ? absl::StrCat(compared,
                                     " records identical on both clusters (key, value, "
                                     "headers, timestamp) across ",
                                     partitions, " partitions")
                      : std::string(cmp.message()),
             {{"records", compared}});
  }

  // 4 and 5. Freshness of checkpoints and heartbeats: by default three intervals may pass.
  const int64_t now = clock_.WallMs();
  const int64_t max_checkpoint_ms =
      options.max_checkpoint_age.count() > 0
          ? options.max_checkpoint_age.count()
          : std::max<int64_t>(60000, 3 * absl::ToInt64Milliseconds(flow_.checkpoint_interval));
  const int64_t max_heartbeat_ms =
      options.max_heartbeat_age.count() > 0
          ? options.max_heartbeat_age.count()
          : std::max<int64_t>(30000, 3 * absl::ToInt64Milliseconds(flow_.heartbeat_interval));
  if (auto last_pass = unit->LastCheckpointMs(); !last_pass) {
    AddCheck(checks, "checkpoints", false, "checkpoints are off for this flow (emit_checkpoints)");
  } else {
    const int64_t last = *last_pass;
    const bool fresh = last >= 0 && now - last <= max_checkpoint_ms;
    AddCheck(checks, "checkpoints", fresh,
             last < 0 ? "no checkpoint pass has completed yet"
                      : absl::StrCat("last checkpoint pass ", (now - last) / 1000.0,
                                     " s ago (limit ", max_checkpoint_ms / 1000.0, " s)"));
  }
  if (auto ups = unit->Upstreams(); !ups) {
    AddCheck(checks, "heartbeats", false, "heartbeats are off for this flow (emit_heartbeats)");
  } else {
    auto it = ups->find(flow_.source);
    const bool fresh =
        it != ups->end() && it->second.age_ms >= 0 && it->second.age_ms <= max_heartbeat_ms;
    AddCheck(checks, "heartbeats", fresh,
             it == ups->end() || it->second.age_ms < 0
                 ? absl::StrCat("no heartbeat from ", flow_.source, " seen on ", flow_.target)
                 : absl::StrCat("newest heartbeat from ", flow_.source, " is ",
                                it->second.age_ms / 1000.0, " s old (limit ",
                                max_heartbeat_ms / 1000.0, " s)"));
  }

  // 6. RPO now, and how long a forced failover takes to collect its marks.
  // Over the flow's application partitions, as this instance sees its own now and the others
  // reported theirs (to the state topic on the target: only asked when the target answers).
  const std::vector<Observed> seen = Observations(unit->Status(), /*own_only=*/!canary_ok);
  int64_t lag = 0;
  double lag_s = 0;
  for (const auto& o : seen) {
    lag += o.partition.lag_records;
    lag_s = std::max(lag_s, o.partition.lag_seconds);
  }
  if (canary_ok) {
    // What a forced failover does before it can record the switch, timed.
    const auto rto_start = clock_.Now();
    (void)MarksFrom(seen);
    (void)ReverseStartOffsets();
    const double rto_s = std::chrono::duration<double>(clock_.Now() - rto_start).count();
    AddCheck(checks, "estimate", true,
             absl::StrCat("RPO now: ", lag, " records, ", lag_s,
                          " s; a forced failover collects its marks in ", rto_s, " s"),
             {{"rpo_records", lag}, {"rpo_seconds", lag_s}, {"rto_seconds", rto_s}});
  } else {
    AddCheck(checks, "estimate", false,
             absl::StrCat("RPO now: ", lag, " records, ", lag_s,
                          " s; RTO not measured: the target did not take the canaries"),
             {{"rpo_records", lag}, {"rpo_seconds", lag_s}});
  }

  bool passed = true;
  std::string first_failure;
  for (const auto& c : checks) {
    if (!c["passed"].get<bool>()) {
      if (passed) {
        first_failure = c["name"].get<std::string>() + ": " + c["detail"].get<std::string>();
      }
      passed = false;
    }
  }
  json report{{"drill", drill_id},
              {"flow", name_},
              {"started_ms", started_ms},
              {"by", who},
              {"passed", passed},
              {"checks", checks},
              {"duration_seconds", (clock_.WallMs() - started_ms) / 1000.0}};
  if (absl::Status saved = store_.Append(DrillKey(name_, started_ms), report); !saved.ok()) {
    report["state_topic_error"] = std::string(saved.message());
  }
  log->info("msg=\"drill finished\" flow={} passed={} first_failure=\"{}\"", name_, passed,
            first_failure);
  if (!passed) return {absl::UnknownError("drill failed: " + first_failure), report};
  return {absl::OkStatus(), report};
}

}  // namespace kmirror::dr
