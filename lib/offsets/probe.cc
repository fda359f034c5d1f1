#include "lib/offsets/probe.h"

#include <utility>

namespace kmirror::offsets {

namespace {
template <typename Builder>
auto& Build(Builder builder, prometheus::Registry& registry, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(registry);
}
}  // namespace

OffsetsProbe::OffsetsProbe(prometheus::Registry& registry, std::string flow)
    : flow_(std::move(flow)),
      groups_(Build(prometheus::BuildGauge(), registry, "kmirror_checkpointed_groups",
                    "Consumer groups with at least one checkpoint written by the last pass")),
      partitions_(Build(prometheus::BuildGauge(), registry, "kmirror_checkpointed_partitions",
                        "Group partitions with a current checkpoint after the last pass")),
      checkpoints_(Build(prometheus::BuildCounter(), registry, "kmirror_checkpoints_written_total",
                         "MM2-format checkpoint records written to the target")),
      misses_(Build(prometheus::BuildCounter(), registry, "kmirror_translation_misses_total",
                    "Committed offsets that could not be translated yet (group ahead of "
                    "replication); no checkpoint is written for them")),
      checkpoint_age_(Build(prometheus::BuildGauge(), registry, "kmirror_checkpoint_age_seconds",
                            "Time since the last complete checkpoint pass")),
      group_syncs_(Build(prometheus::BuildCounter(), registry, "kmirror_group_offset_syncs_total",
                         "Target consumer groups whose offsets were synced")),
      group_syncs_skipped_(Build(prometheus::BuildCounter(), registry,
                                 "kmirror_group_offset_syncs_skipped_total",
                                 "Target consumer groups not synced, by reason")),
      offset_syncs_(Build(prometheus::BuildCounter(), registry,
                          "kmirror_offset_syncs_written_total",
                          "MM2-format offset sync records written")),
      offset_syncs_dropped_(Build(prometheus::BuildCounter(), registry,
                                  "kmirror_offset_syncs_dropped_total",
                                  "Offset syncs superseded by a newer one of the same partition "
                                  "before they were written, or dropped by the queue bound")),
      heartbeats_(Build(prometheus::BuildCounter(), registry, "kmirror_heartbeats_written_total",
                        "MM2-format heartbeats written to the source cluster")),
      heartbeat_age_(Build(prometheus::BuildGauge(), registry, "kmirror_heartbeat_age_seconds",
                           "Time since the newest heartbeat of an upstream cluster was emitted, "
                           "as seen on the target")),
      heartbeat_latency_(Build(prometheus::BuildGauge(), registry,
                               "kmirror_heartbeat_latency_seconds",
                               "Emission to arrival on the target of the newest heartbeat, per "
                               "upstream cluster")),
      hops_(Build(prometheus::BuildGauge(), registry, "kmirror_replication_hops",
                  "Replication hops from an upstream cluster to the target")),
      errors_(Build(prometheus::BuildCounter(), registry, "kmirror_offsets_errors_total",
                    "Failed passes of the offsets components, by component")),
      groups_gauge_(groups_.Add({{"flow", flow_}})),
      partitions_gauge_(partitions_.Add({{"flow", flow_}})),
      checkpoints_counter_(checkpoints_.Add({{"flow", flow_}})),
      misses_counter_(misses_.Add({{"flow", flow_}})),
      checkpoint_age_gauge_(checkpoint_age_.Add({{"flow", flow_}})),
      group_syncs_counter_(group_syncs_.Add({{"flow", flow_}})),
      offset_syncs_counter_(offset_syncs_.Add({{"flow", flow_}})),
      offset_syncs_dropped_counter_(offset_syncs_dropped_.Add({{"flow", flow_}})),
      heartbeats_counter_(heartbeats_.Add({{"flow", flow_}})) {}

prometheus::Counter& OffsetsProbe::Labelled(prometheus::Family<prometheus::Counter>& family,
                                            std::map<std::string, prometheus::Counter*>& cache,
                                            const std::string& key, const std::string& value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& c = cache[value];
  if (!c) c = &family.Add({{"flow", flow_}, {key, value}});
  return *c;
}

void OffsetsProbe::SetCheckpointed(int64_t groups, int64_t partitions) {
  groups_gauge_.Set(static_cast<double>(groups));
  partitions_gauge_.Set(static_cast<double>(partitions));
}
void OffsetsProbe::RecordCheckpointsWritten(int64_t n) {
  checkpoints_counter_.Increment(static_cast<double>(n));
}
void OffsetsProbe::RecordTranslationMisses(int64_t n) {
  misses_counter_.Increment(static_cast<double>(n));
}
void OffsetsProbe::SetCheckpointAge(double seconds) { checkpoint_age_gauge_.Set(seconds); }
void OffsetsProbe::RecordGroupSyncWritten() { group_syncs_counter_.Increment(); }
void OffsetsProbe::RecordGroupSyncSkipped(const std::string& reason) {
  Labelled(group_syncs_skipped_, skipped_by_reason_, "reason", reason).Increment();
}
void OffsetsProbe::RecordOffsetSyncsWritten(int64_t n) {
  offset_syncs_counter_.Increment(static_cast<double>(n));
}
void OffsetsProbe::RecordOffsetSyncsDropped(int64_t n) {
  offset_syncs_dropped_counter_.Increment(static_cast<double>(n));
}
void OffsetsProbe::RecordHeartbeatWritten() { heartbeats_counter_.Increment(); }
void OffsetsProbe::SetHeartbeat(const std::string& upstream, double age_seconds,
                                double latency_seconds, int hops) {
  std::lock_guard<std::mutex> lock(mu_);
  Upstream& u = upstreams_[upstream];
  if (!u.age) {
    const std::map<std::string, std::string> labels{{"flow", flow_}, {"upstream", upstream}};
    u.age = &heartbeat_age_.Add(labels);
    u.latency = &heartbeat_latency_.Add(labels);
    u.hops = &hops_.Add(labels);
  }
  u.age->Set(age_seconds);
  u.latency->Set(latency_seconds);
  u.hops->Set(hops);
}
void OffsetsProbe::RecordError(const std::string& component) {
  Labelled(errors_, errors_by_component_, "component", component).Increment();
}

}  // namespace kmirror::offsets
