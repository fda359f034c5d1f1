// Prometheus metrics of replication flows. Call sites use verbs; families stay in here.
//
// Label cardinality is bounded by the partitions assigned to this instance: per-partition series
// are removed when a partition is revoked. Thread-safe (prometheus-cpp metrics are atomic; the
// series maps are guarded by a mutex).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "lib/common/types.h"

namespace kmirror::replication {

// Every error kind and skip reason the engine counts: their series exist at 0 from the flow's
// start, so dashboards show 0 and rate() works before the first event.
inline constexpr const char* kErrorKinds[] = {"source",
                                              "source_poll",
                                              "source_truncated",
                                              "seek",
                                              "produce_refused",
                                              "delivery_refused",
                                              "delivery_not_written",
                                              "producer_fatal",
                                              "target_partition_unknown",
                                              "target_tail",
                                              "target_truncated",
                                              "foreign_target_records",
                                              "written_after_refusal",
                                              "revoke_flush",
                                              "discovery"};
inline constexpr const char* kSkipReasons[] = {"origin_is_target"};

class FlowProbe {
 public:
  FlowProbe(prometheus::Registry& registry, std::string flow);
  ~FlowProbe();

  void RecordReplicated(const SourcePartition& p, size_t records, size_t bytes);
  void RecordLatency(double seconds);
  void RecordSkipped(const std::string& reason, size_t records);
  void RecordLost(const SourcePartition& p, int64_t records);
  void RecordError(const std::string& kind);
  void SetLag(const SourcePartition& p, int64_t records, double seconds);
  void SetInFlightBytes(size_t bytes);
  void SetStopped(const SourcePartition& p, bool stopped);
  void PartitionAssigned(const SourcePartition& p);
  void PartitionRevoked(const SourcePartition& p);

 private:
  struct Series {
    prometheus::Gauge* lag_records = nullptr;
    prometheus::Gauge* lag_seconds = nullptr;
    prometheus::Gauge* stopped = nullptr;
  };
  Series& SeriesFor(const SourcePartition& p);  // requires mu_
  prometheus::Counter& TopicCounter(prometheus::Family<prometheus::Counter>& family,
                                    std::map<std::string, prometheus::Counter*>& cache,
                                    const std::string& topic);

  const std::string flow_;
  std::mutex mu_;
  prometheus::Family<prometheus::Counter>& records_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& lost_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& errors_;
  prometheus::Family<prometheus::Gauge>& lag_records_;
  prometheus::Family<prometheus::Gauge>& lag_seconds_;
  prometheus::Family<prometheus::Gauge>& stopped_;
  prometheus::Family<prometheus::Gauge>& assigned_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Gauge& assigned_gauge_;
  prometheus::Gauge& in_flight_gauge_;
  prometheus::Histogram& latency_histogram_;
  std::map<std::string, prometheus::Counter*> records_by_topic_, bytes_by_topic_;
  std::map<std::string, prometheus::Counter*> skipped_by_reason_, errors_by_kind_;
  std::map<SourcePartition, prometheus::Counter*> lost_by_partition_;
  std::map<SourcePartition, Series> series_;
};

}  // namespace kmirror::replication
