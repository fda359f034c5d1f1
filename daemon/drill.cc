// FlowController::Drill: a non-disruptive DR test of a running flow. Each check passes or fails
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
#include "daemon/client_properties.h"
#include "daemon/flow_control.h"
#include "daemon/record_reader.h"
#include "daemon/topic_sync.h"
#include "lib/common/logging.h"
#include "lib/kafka/producer.h"
#include "lib/offsets/kafka_io.h"
#include "lib/offsets/translator.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/kafka_io.h"
#include "lib/replication/provenance.h"

namespace kmirror::daemon {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Seen {
  int64_t offset;
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;  // without provenance
  // The record's own timestamp; nullopt when the broker replaced it (LogAppendTime), which says
  // nothing about the copy.
  std::optional<int64_t> timestamp_ms;
  std::optional<int64_t> source_offset;  // from provenance (target records)
};

Seen Capture(const kafka::Message& m) {
  Seen s;
  s.offset = m.offset();
  if (m.key()) s.key = std::string(*m.key());
  if (m.value()) s.value = std::string(*m.value());
  if (m.timestamp_type() != kafka::TimestampType::kLogAppendTime) s.timestamp_ms = m.timestamp_ms();
  for (const auto& h : m.headers()) {
    if (h.name == replication::kProvenanceHeader) {
      if (h.value) {
        if (auto p = replication::DecodeProvenance(*h.value); p) s.source_offset = p->offset.value;
      }
      continue;
    }
    s.headers.emplace_back(
        std::string(h.name),
        h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
  }
  return s;
}

// Compares the records of [from, to) of a target partition with their source records.
absl::Status CompareRange(kafka::Consumer& source, kafka::Consumer& target,
                          const std::string& source_topic, const std::string& target_topic,
                          int32_t partition, int64_t from, int64_t to, Clock::time_point deadline,
                          int64_t& compared) {
  std::vector<Seen> on_target;
  absl::Status read =
      ReadRange(target, target_topic, partition, from, to, deadline, [&](const kafka::Message& m) {
        on_target.push_back(Capture(m));
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  for (const Seen& t : on_target) {
    if (!t.source_offset) continue;  // not ours (written there by someone else)
    std::optional<Seen> s;
    absl::Status got = ReadRange(source, source_topic, partition, *t.source_offset,
                                 *t.source_offset + 1, deadline, [&](const kafka::Message& m) {
                                   s = Capture(m);
                                   return absl::OkStatus();
                                 });
    if (!got.ok()) return got;
    if (!s) {
      continue;  // gone from the source (retention): nothing to compare
    }
    auto where = absl::StrCat(target_topic, "[", partition, "]@", t.offset, " vs ", source_topic,
                              "[", partition, "]@", *t.source_offset);
    if (s->key != t.key) return absl::DataLossError("key differs: " + where);
    if (s->value != t.value) return absl::DataLossError("value differs: " + where);
    if (s->headers != t.headers) return absl::DataLossError("headers differ: " + where);
    if (s->timestamp_ms && t.timestamp_ms && s->timestamp_ms != t.timestamp_ms)
      return absl::DataLossError("timestamp differs: " + where);
    ++compared;
  }
  return absl::OkStatus();
}

void AddCheck(json& checks, const std::string& name, bool passed, const std::string& detail,
              json extra = json::object()) {
  extra["name"] = name;
  extra["passed"] = passed;
  extra["detail"] = detail;
  checks.push_back(std::move(extra));
}

}  // namespace

OpResult FlowController::Drill(const DrillOptions& options, const std::string& who) {
  OpResult refused;
  auto op = BeginOp("drill", refused, /*fresh=*/false);
  if (!op) return refused;
  OpName clear{mu_, op_name_};
  control::FlowState s = Current();
  if (s.phase != control::Phase::kRunning) {
    return {absl::FailedPreconditionError("flow " + flow_.name() + " is " +
                                          control::PhaseName(s.phase) +
                                          "; a drill tests a running flow"),
            json::object()};
  }
  std::shared_ptr<FlowUnit> unit = Forward();
  if (!unit) return {absl::UnavailableError("the flow is not running on this instance"), {}};
  auto log = common::Logger("control");
  const auto deadline = Clock::now() + options.timeout;
  const int64_t started_ms = WallMs();
  json checks = json::array();
  auto selector = SelectorFor(flow_);
  const std::string canary_remote =
      selector.ok() ? (*selector)->RemoteTopic(policy::kDrillTopic) : policy::kDrillTopic;
  const auto source_props = ToProperties(config::SourceProperties(cfg_, flow_));
  const auto target_props = ToProperties(config::TargetProperties(cfg_, flow_));

  // 1. Canary records: produced on the source, watched until the flow has replicated them.
  const std::string drill_id = absl::StrCat(cfg_.daemon.instance_id, "-", started_ms);
  std::vector<int64_t> canary_offsets;
  absl::Status produced;
  {
    auto topic = kafka::NewTopic{};
    topic.name = policy::kDrillTopic;
    topic.partitions = 1;
    (void)source_admin_->CreateTopics({topic});
    unit->RequestDiscovery();
    std::mutex mu;
    auto producer = kafka::Producer::Create(source_props, [&](const kafka::DeliveryReport& r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.status.ok()) {
        canary_offsets.push_back(r.offset);
      } else if (produced.ok()) {
        produced = r.status;
      }
    });
    if (!producer.ok()) {
      produced = producer.status();
    } else {
      for (int i = 0; i < options.canary_records && produced.ok(); ++i) {
        kafka::ProduceRecord r;
        r.topic = policy::kDrillTopic;
        r.partition = 0;
        r.key = absl::StrCat("drill-", drill_id, "-", i);
        r.value = json{{"drill", drill_id}, {"seq", i}, {"sent_ms", WallMs()}}.dump();
        r.headers.push_back({"kmirror-drill", drill_id});
        produced = (*producer)->Produce(r);
      }
      absl::Status flushed = (*producer)->Flush(options.timeout / 3);
      if (produced.ok() && !flushed.ok()) produced = flushed;
    }
  }
  std::sort(canary_offsets.begin(), canary_offsets.end());
  const auto sent_at = Clock::now();
  bool canary_ok = false;
  double latency_s = -1;
  if (!produced.ok() || canary_offsets.empty()) {
    AddCheck(checks, "canary", false,
             absl::StrCat("cannot produce canary records to ", flow_.source, "/",
                          policy::kDrillTopic, ": ", produced.message()));
  } else {
    const int64_t last = canary_offsets.back();
    int64_t position = -1;
    // Where the canary partition stands: this instance's position when it holds the partition,
    // otherwise (another instance of the flow holds it) the provenance of the target's newest
    // record of it.
    std::unique_ptr<replication::KafkaTargetTail> tail;
    const TargetPartition canary_target{canary_remote, 0};
    while (Clock::now() < deadline) {
      bool held = false;
      for (const auto& p : unit->Status().partitions) {
        if (p.source.topic == policy::kDrillTopic && p.source.partition == 0) {
          position = p.position;
          held = true;
        }
      }
      if (!held && !tail) {
        if (auto t = NewTargetTail("drill"); t.ok()) tail = std::move(*t);
      }
      if (!held && tail) {
        auto read = tail->Read({canary_target}, flow_.source);
        if (read.ok()) {
          auto it = read->find(canary_target);
          if (it != read->end() && it->second.last) position = it->second.last->value + 1;
        }
      }
      if (position > last) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(held ? 20 : 100));
    }
    if (position > last) {
      canary_ok = true;
      latency_s = std::chrono::duration<double>(Clock::now() - sent_at).count();
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
  // Readers only when the canaries made it: a consumer towards a cluster that is down is slow to
  // close.
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> source_reader =
      absl::UnavailableError("not needed");
  absl::StatusOr<std::unique_ptr<kafka::Consumer>> target_reader =
      absl::UnavailableError("not needed");
  if (canary_ok) {
    source_reader = RangeConsumer(source_props, "kmirror.drill." + flow_.name());
    target_reader = RangeConsumer(target_props, "kmirror.drill." + flow_.name());
  }
  if (!canary_ok) {
    AddCheck(checks, "translation", false, "skipped: the canary records did not arrive");
  } else if (!flow_.provenance) {
    AddCheck(
        checks, "translation", false,
        "not checkable: provenance headers are off for this flow, so translation is not exact");
  } else {
    // The committed offset of a consumer half-way through the canary records.
    const int64_t committed = canary_offsets[canary_offsets.size() / 2];
    offsets::KafkaTargetIndex::Options io;
    io.source_alias = flow_.source;
    io.header = std::string(replication::kProvenanceHeader);
    io.decode = ProvenanceIndexDecoder();
    io.timeout = std::chrono::milliseconds(5000);
    auto index = offsets::KafkaTargetIndex::Create(target_props, io);
    std::string detail;
    bool passed = false;
    json extra;
    if (!index.ok()) {
      detail = std::string(index.status().message());
    } else {
      std::string remote = canary_remote;
      offsets::Translator translator(**index, [remote](std::string_view) { return remote; });
      auto t = translator.Translate({policy::kDrillTopic, 0}, SourceOffset(committed));
      auto wm = target_admin_->QueryWatermarks(canary_remote, 0, std::chrono::seconds(5));
      std::optional<int64_t> expected;
      if (wm.ok() && target_reader.ok()) {
        // The first target record whose source offset is >= committed.
        int64_t from = std::max<int64_t>(wm->low, wm->high - 10 * options.canary_records - 100);
        (void)ReadRange(**target_reader, canary_remote, 0, from, wm->high, deadline,
                        [&](const kafka::Message& m) {
                          Seen seen = Capture(m);
                          if (!expected && seen.source_offset && *seen.source_offset >= committed) {
                            expected = seen.offset;
                          }
                          return absl::OkStatus();
                        });
      }
      if (!t.ok()) {
        detail = absl::StrCat("translation failed: ", t.status().message());
      } else if (t->kind != offsets::Translation::Kind::kExact) {
        detail = "no translation for a replicated offset";
      } else if (!expected) {
        detail = "could not find the canary record on the target";
      } else {
        passed = t->target.value == *expected;
        extra = {
            {"source_offset", committed}, {"translated", t->target.value}, {"expected", *expected}};
        detail = passed ? absl::StrCat("source offset ", committed, " translates to ", *expected,
                                       ", the target record holding it")
                        : absl::StrCat("source offset ", committed, " translates to ",
                                       t->target.value, " but the record is at ", *expected);
      }
    }
    AddCheck(checks, "translation", passed, detail, extra);
  }
  if (!canary_ok) {
    AddCheck(checks, "compare", false, "skipped: the canary records did not arrive");
  } else if (!source_reader.ok() || !target_reader.ok()) {
    AddCheck(checks, "compare", false, "cannot create readers");
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
      if (!cmp.ok()) break;
      const bool canary = p.source.topic == policy::kDrillTopic;
      auto wm = target_admin_->QueryWatermarks(p.target.topic, p.target.partition,
                                               std::chrono::seconds(5));
      if (!wm.ok()) {
        cmp = wm.status();
        break;
      }
      const int64_t n = canary ? options.canary_records : 5;
      cmp = CompareRange(**source_reader, **target_reader, p.source.topic, p.target.topic,
                         p.source.partition, std::max(wm->low, wm->high - n), wm->high, deadline,
                         compared);
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
  const int64_t now = WallMs();
  const int64_t max_checkpoint_ms =
      options.max_checkpoint_age.count() > 0
          ? options.max_checkpoint_age.count()
          : std::max<int64_t>(60000, 3 * absl::ToInt64Milliseconds(flow_.checkpoint_interval));
  const int64_t max_heartbeat_ms =
      options.max_heartbeat_age.count() > 0
          ? options.max_heartbeat_age.count()
          : std::max<int64_t>(30000, 3 * absl::ToInt64Milliseconds(flow_.heartbeat_interval));
  if (auto* cp = unit->offsets().checkpoints(); cp == nullptr) {
    AddCheck(checks, "checkpoints", false, "checkpoints are off for this flow (emit_checkpoints)");
  } else {
    const int64_t last = cp->last_pass_ms();
    const bool fresh = last >= 0 && now - last <= max_checkpoint_ms;
    AddCheck(checks, "checkpoints", fresh,
             last < 0 ? "no checkpoint pass has completed yet"
                      : absl::StrCat("last checkpoint pass ", (now - last) / 1000.0,
                                     " s ago (limit ", max_checkpoint_ms / 1000.0, " s)"));
  }
  if (auto* hb = unit->offsets().heartbeats(); hb == nullptr) {
    AddCheck(checks, "heartbeats", false, "heartbeats are off for this flow (emit_heartbeats)");
  } else {
    auto ups = hb->Upstreams();
    auto it = ups.find(flow_.source);
    const bool fresh =
        it != ups.end() && it->second.age_ms >= 0 && it->second.age_ms <= max_heartbeat_ms;
    AddCheck(checks, "heartbeats", fresh,
             it == ups.end() || it->second.age_ms < 0
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
    const auto rto_start = Clock::now();
    (void)MarksFrom(seen);
    (void)ReverseStartOffsets();
    const double rto_s = std::chrono::duration<double>(Clock::now() - rto_start).count();
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
      if (passed)
        first_failure = c["name"].get<std::string>() + ": " + c["detail"].get<std::string>();
      passed = false;
    }
  }
  json report{{"drill", drill_id},
              {"flow", flow_.name()},
              {"started_ms", started_ms},
              {"by", who},
              {"passed", passed},
              {"checks", checks},
              {"duration_seconds", (WallMs() - started_ms) / 1000.0}};
  if (absl::Status saved = store_.Append(control::DrillKey(flow_.name(), started_ms), report);
      !saved.ok()) {
    report["state_topic_error"] = std::string(saved.message());
  }
  log->info("msg=\"drill finished\" flow={} passed={} first_failure=\"{}\"", flow_.name(), passed,
            first_failure);
  if (!passed) return {absl::UnknownError("drill failed: " + first_failure), report};
  return {absl::OkStatus(), report};
}

}  // namespace kmirror::daemon
