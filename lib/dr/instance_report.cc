#include "lib/dr/instance_report.h"

#include "absl/strings/str_cat.h"

namespace kmirror::dr {
namespace {

using nlohmann::json;

json UnitJson(const UnitReport& u, bool with_positions) {
  json j{{"flow", u.flow},
         {"partitions", u.partitions},
         {"lag_records", u.lag_records},
         {"lag_seconds", u.lag_seconds},
         {"drained", u.drained}};
  if (!with_positions) return j;
  // Positions keep the compact array layout of version 1 (an instance of the previous release
  // reads them during a rolling upgrade): [topic, partition, remote topic, remote partition,
  // position, source end, lag seconds].
  json positions = json::array();
  for (const auto& p : u.positions) {
    positions.push_back(json::array({p.source.topic, p.source.partition, p.target.topic,
                                     p.target.partition, p.position, p.source_end, p.lag_seconds}));
  }
  j["positions"] = std::move(positions);
  return j;
}

// Reads j[key] as T; the error names `where`.key.
template <typename T>
absl::Status Field(const json& j, const char* key, const std::string& where, T& out,
                   bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    return required ? absl::InvalidArgumentError(absl::StrCat(where, ".", key, " is missing"))
                    : absl::OkStatus();
  }
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat(where, ".", key, " has the wrong type"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReportedPosition> PositionFromJson(const json& e, int version,
                                                  const std::string& where) {
  ReportedPosition p;
  (void)version;
  if (e.is_array()) {
    // [topic, partition, remote topic, remote partition, position, source end, lag seconds]
    try {
      p.source = {e.at(0).get<std::string>(), e.at(1).get<int32_t>()};
      p.target = {e.at(2).get<std::string>(), e.at(3).get<int32_t>()};
      p.position = e.at(4).get<int64_t>();
      p.source_end = e.at(5).get<int64_t>();
      p.lag_seconds = e.at(6).get<double>();
    } catch (const json::exception&) {
      return absl::InvalidArgumentError(where +
                                        " is not a [topic, partition, remote topic, "
                                        "remote partition, position, source end, lag "
                                        "seconds] position");
    }
    return p;
  }
  if (!e.is_object()) return absl::InvalidArgumentError(where + " is not an object");
  absl::Status s;
  s.Update(Field(e, "topic", where, p.source.topic));
  s.Update(Field(e, "partition", where, p.source.partition));
  s.Update(Field(e, "remote_topic", where, p.target.topic));
  s.Update(Field(e, "remote_partition", where, p.target.partition));
  s.Update(Field(e, "position", where, p.position));
  s.Update(Field(e, "source_end", where, p.source_end));
  s.Update(Field(e, "lag_seconds", where, p.lag_seconds));
  if (!s.ok()) return s;
  return p;
}

absl::StatusOr<UnitReport> UnitFromJson(const json& j, int version, const std::string& where) {
  if (!j.is_object()) return absl::InvalidArgumentError(where + " is not an object");
  UnitReport u;
  absl::Status s;
  s.Update(Field(j, "flow", where, u.flow));
  s.Update(Field(j, "partitions", where, u.partitions));
  s.Update(Field(j, "lag_records", where, u.lag_records));
  s.Update(Field(j, "lag_seconds", where, u.lag_seconds));
  s.Update(Field(j, "drained", where, u.drained));
  if (!s.ok()) return s;
  auto it = j.find("positions");
  if (it == j.end()) return u;
  if (!it->is_array()) return absl::InvalidArgumentError(where + ".positions is not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    auto p = PositionFromJson((*it)[i], version, absl::StrCat(where, ".positions[", i, "]"));
    if (!p.ok()) return p.status();
    u.positions.push_back(std::move(*p));
  }
  return u;
}

}  // namespace

json ToJson(const InstanceReport& r, bool with_positions) {
  json j{{"version", r.version},
         {"instance", r.instance},
         {"sequence", r.sequence},
         {"at_ms", r.at_ms}};
  if (r.stopped) j["stopped"] = true;
  if (r.replication) j["replication"] = UnitJson(*r.replication, with_positions);
  if (r.reverse_replication) {
    j["reverse_replication"] = UnitJson(*r.reverse_replication, with_positions);
  }
  return j;
}

absl::StatusOr<InstanceReport> InstanceReportFromJson(const json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("instance report is not an object");
  InstanceReport r;
  r.version = 1;
  absl::Status s;
  s.Update(Field(j, "version", "report", r.version, /*required=*/false));
  // A newer version keeps the fields this one knows: they are read, the rest ignored.
  if (r.version < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("instance report version ", r.version, " is not a valid version"));
  }
  s.Update(Field(j, "instance", "report", r.instance));
  s.Update(Field(j, "at_ms", "report", r.at_ms));
  // Version 1 had no sequence: its wall clock stamp changes with every report.
  r.sequence = r.at_ms;
  s.Update(Field(j, "sequence", "report", r.sequence, /*required=*/r.version >= 2));
  s.Update(Field(j, "stopped", "report", r.stopped, /*required=*/false));
  if (!s.ok()) return s;
  for (auto [key, out] : {std::pair{"replication", &r.replication},
                          std::pair{"reverse_replication", &r.reverse_replication}}) {
    if (!j.contains(key)) continue;
    auto u = UnitFromJson(j[key], r.version, absl::StrCat("report.", key));
    if (!u.ok()) return u.status();
    *out = std::move(*u);
  }
  return r;
}

std::string PeerStateName(PeerState s) {
  switch (s) {
    case PeerState::kActive:
      return "active";
    case PeerState::kStale:
      return "stale";
    case PeerState::kStopped:
      return "stopped";
  }
  return "?";
}

std::vector<Peer> PeerTracker::Observe(const std::vector<InstanceReport>& reports,
                                       Clock::TimePoint now) {
  std::vector<Peer> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : reports) {
    auto [it, fresh] = seen_.try_emplace(r.instance, Seen{r.sequence, now});
    if (!fresh && it->second.sequence != r.sequence) it->second = Seen{r.sequence, now};
    Peer p;
    p.report = r;
    const auto age = now - it->second.changed;
    p.age_seconds = std::chrono::duration<double>(age).count();
    p.state = r.stopped            ? PeerState::kStopped
              : age > stale_after_ ? PeerState::kStale
                                   : PeerState::kActive;
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<int64_t> PeerTracker::Sequence(const std::string& instance) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = seen_.find(instance);
  if (it == seen_.end()) return std::nullopt;
  return it->second.sequence;
}

}  // namespace kmirror::dr
