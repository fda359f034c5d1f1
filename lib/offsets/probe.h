// Prometheus metrics of lib/offsets (checkpoints, group offset sync, offset syncs, heartbeats).
// Call sites use verbs; families stay in here. Labels: `flow` on everything, plus `upstream`
// (bounded by the clusters in the topology) and `reason` (a fixed set). Thread-safe.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace kmirror::offsets {

class OffsetsProbe {
 public:
  OffsetsProbe(prometheus::Registry& registry, std::string flow);

  // Checkpoint emitter.
  void SetCheckpointed(int64_t groups, int64_t partitions);
  void RecordCheckpointsWritten(int64_t n);
  void RecordTranslationMisses(int64_t n);
  void SetCheckpointAge(double seconds);
  // Group offset sync. `reason`: "active_members", "paused", "error".
  void RecordGroupSyncWritten();
  void RecordGroupSyncSkipped(const std::string& reason);
  // Offset syncs.
  void RecordOffsetSyncsWritten(int64_t n);
  void RecordOffsetSyncsDropped(int64_t n);
  // Heartbeats.
  void RecordHeartbeatWritten();
  void SetHeartbeat(const std::string& upstream, double age_seconds, double latency_seconds,
                    int hops);
  void RecordError(const std::string& component);

 private:
  prometheus::Counter& Labelled(prometheus::Family<prometheus::Counter>& family,
                                std::map<std::string, prometheus::Counter*>& cache,
                                const std::string& key, const std::string& value);

  const std::string flow_;
  std::mutex mu_;
  prometheus::Family<prometheus::Gauge>& groups_;
  prometheus::Family<prometheus::Gauge>& partitions_;
  prometheus::Family<prometheus::Counter>& checkpoints_;
  prometheus::Family<prometheus::Counter>& misses_;
  prometheus::Family<prometheus::Gauge>& checkpoint_age_;
  prometheus::Family<prometheus::Counter>& group_syncs_;
  prometheus::Family<prometheus::Counter>& group_syncs_skipped_;
  prometheus::Family<prometheus::Counter>& offset_syncs_;
  prometheus::Family<prometheus::Counter>& offset_syncs_dropped_;
  prometheus::Family<prometheus::Counter>& heartbeats_;
  prometheus::Family<prometheus::Gauge>& heartbeat_age_;
  prometheus::Family<prometheus::Gauge>& heartbeat_latency_;
  prometheus::Family<prometheus::Gauge>& hops_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Gauge& groups_gauge_;
  prometheus::Gauge& partitions_gauge_;
  prometheus::Counter& checkpoints_counter_;
  prometheus::Counter& misses_counter_;
  prometheus::Gauge& checkpoint_age_gauge_;
  prometheus::Counter& group_syncs_counter_;
  prometheus::Counter& offset_syncs_counter_;
  prometheus::Counter& offset_syncs_dropped_counter_;
  prometheus::Counter& heartbeats_counter_;
  std::map<std::string, prometheus::Counter*> skipped_by_reason_, errors_by_component_;
  struct Upstream {
    prometheus::Gauge* age = nullptr;
    prometheus::Gauge* latency = nullptr;
    prometheus::Gauge* hops = nullptr;
  };
  std::map<std::string, Upstream> upstreams_;
};

}  // namespace kmirror::offsets
