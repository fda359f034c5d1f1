#include "lib/dr/state.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kmirror::dr {

using nlohmann::json;

std::string PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kRunning:
      return "running";
    case Phase::kPaused:
      return "paused";
    case Phase::kFailedOver:
      return "failed_over";
    case Phase::kFailingBack:
      return "failing_back";
  }
  return "unknown";
}

std::optional<Phase> ParsePhase(std::string_view name) {
  for (Phase p : {Phase::kRunning, Phase::kPaused, Phase::kFailedOver, Phase::kFailingBack}) {
    if (PhaseName(p) == name) return p;
  }
  return std::nullopt;
}

int64_t PartitionMark::MissingRecords() const {
  if (source_end < 0 || source_next < 0) return 0;
  return std::max<int64_t>(0, source_end - source_next);
}

std::string PartitionKey(const std::string& topic, int32_t partition) {
  return absl::StrCat(topic, ":", partition);
}

json ToJson(const PartitionMark& m) {
  return json{{"topic", m.topic},
              {"partition", m.partition},
              {"remote_topic", m.remote_topic},
              {"source_next", m.source_next},
              {"target_end", m.target_end},
              {"source_end", m.source_end},
              {"missing_records", m.MissingRecords()},
              {"lag_seconds", m.lag_seconds},
              {"observed_ms", m.observed_ms}};
}

json ToJson(const FlowState& s) {
  json marks = json::array();
  for (const auto& m : s.marks) marks.push_back(ToJson(m));
  return json{{"flow", s.flow},
              {"phase", PhaseName(s.phase)},
              {"version", s.version},
              {"changed_ms", s.changed_ms},
              {"changed_by", s.changed_by},
              {"reason", s.reason},
              {"failover_kind", s.failover_kind},
              {"failover_ms", s.failover_ms},
              {"marks", marks},
              {"reverse_start", s.reverse_start},
              {"resume_floor", s.resume_floor},
              {"divergence", s.divergence},
              {"paused_groups", s.paused_groups},
              {"skips", s.skips}};
}

absl::StatusOr<FlowState> FlowStateFromJson(const json& j) {
  try {
    FlowState s;
    s.flow = j.at("flow").get<std::string>();
    auto phase = ParsePhase(j.at("phase").get<std::string>());
    if (!phase) return absl::InvalidArgumentError("unknown phase " + j.at("phase").dump());
    s.phase = *phase;
    s.version = j.value("version", int64_t{0});
    s.changed_ms = j.value("changed_ms", int64_t{0});
    s.changed_by = j.value("changed_by", "");
    s.reason = j.value("reason", "");
    s.failover_kind = j.value("failover_kind", "");
    s.failover_ms = j.value("failover_ms", int64_t{0});
    const json marks = j.value("marks", json::array());
    for (const auto& m : marks) {
      PartitionMark pm;
      pm.topic = m.at("topic").get<std::string>();
      pm.partition = m.at("partition").get<int32_t>();
      pm.remote_topic = m.value("remote_topic", "");
      pm.source_next = m.value("source_next", int64_t{-1});
      pm.target_end = m.value("target_end", int64_t{-1});
      pm.source_end = m.value("source_end", int64_t{-1});
      pm.lag_seconds = m.value("lag_seconds", 0.0);
      pm.observed_ms = m.value("observed_ms", int64_t{0});
      s.marks.push_back(std::move(pm));
    }
    s.reverse_start =
        j.value("reverse_start", json::object()).get<std::map<std::string, int64_t>>();
    s.resume_floor = j.value("resume_floor", json::object()).get<std::map<std::string, int64_t>>();
    s.divergence = j.value("divergence", json());
    s.paused_groups = j.value("paused_groups", json::array()).get<std::set<std::string>>();
    s.skips = j.value("skips", json::object()).get<std::map<std::string, int64_t>>();
    return s;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("flow state: ", e.what()));
  }
}

json ToJson(const AuditEntry& e) {
  return json{{"at_ms", e.at_ms},   {"instance", e.instance}, {"flow", e.flow},
              {"action", e.action}, {"who", e.who},           {"args", e.args},
              {"result", e.result}, {"detail", e.detail}};
}

std::string FlowKey(const std::string& flow) { return "flow/" + flow; }

std::string AuditKey(const AuditEntry& e, int64_t sequence) {
  // Zero-padded time first: keys sort by time within an instance.
  char at[32];
  std::snprintf(at, sizeof(at), "%015lld", static_cast<long long>(e.at_ms));
  return absl::StrCat("audit/", at, "/", e.instance, "/", sequence);
}

std::string DrillKey(const std::string& flow, int64_t at_ms) {
  return absl::StrCat("drill/", flow, "/", at_ms);
}

}  // namespace kmirror::dr
