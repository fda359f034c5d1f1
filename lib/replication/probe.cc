#include "lib/replication/probe.h"

namespace kmirror::replication {

namespace {
std::map<std::string, std::string> PartitionLabels(const std::string& flow,
                                                   const SourcePartition& p) {
  return {{"flow", flow}, {"topic", p.topic}, {"partition", std::to_string(p.partition)}};
}
}  // namespace

FlowProbe::FlowProbe(prometheus::Registry& registry, std::string flow)
    : flow_(std::move(flow)),
      records_(prometheus::BuildCounter()
                   .Name("kmirror_replicated_records_total")
                   .Help("Records copied to the target and acknowledged by it")
                   .Register(registry)),
      bytes_(prometheus::BuildCounter()
                 .Name("kmirror_replicated_bytes_total")
                 .Help("Key, value and header bytes copied to the target and acknowledged")
                 .Register(registry)),
      lost_(prometheus::BuildCounter()
                .Name("kmirror_records_lost_total")
                .Help("Source records deleted by retention before they were copied")
                .Register(registry)),
      skipped_(prometheus::BuildCounter()
                   .Name("kmirror_records_skipped_total")
                   .Help("Source records deliberately not copied, by reason")
                   .Register(registry)),
      errors_(prometheus::BuildCounter()
                  .Name("kmirror_errors_total")
                  .Help("Replication errors by kind")
                  .Register(registry)),
      lag_records_(prometheus::BuildGauge()
                       .Name("kmirror_replication_lag_records")
                       .Help("Source end offset minus the next offset not yet replicated")
                       .Register(registry)),
      lag_seconds_(
          prometheus::BuildGauge()
              .Name("kmirror_replication_lag_seconds")
              .Help("Age of the oldest source record not yet replicated (0 when caught up)")
              .Register(registry)),
      stopped_(prometheus::BuildGauge()
                   .Name("kmirror_partition_stopped")
                   .Help("1 when a partition stopped replicating (retention loss with "
                         "on_retention_loss=stop, or a permanent target error)")
                   .Register(registry)),
      assigned_(prometheus::BuildGauge()
                    .Name("kmirror_assigned_partitions")
                    .Help("Source partitions this instance replicates")
                    .Register(registry)),
      in_flight_(prometheus::BuildGauge()
                     .Name("kmirror_in_flight_bytes")
                     .Help("Bytes read from the source and not yet acknowledged by the target")
                     .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("kmirror_replication_latency_seconds")
                   .Help("Source record timestamp to target acknowledgement")
                   .Register(registry)),
      assigned_gauge_(assigned_.Add({{"flow", flow_}})),
      in_flight_gauge_(in_flight_.Add({{"flow", flow_}})),
      latency_histogram_(latency_.Add(
          {{"flow", flow_}},
          prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300})) {
  for (const char* kind : kErrorKinds) {
    errors_by_kind_.emplace(kind, &errors_.Add({{"flow", flow_}, {"kind", kind}}));
  }
  for (const char* reason : kSkipReasons) {
    skipped_by_reason_.emplace(reason, &skipped_.Add({{"flow", flow_}, {"reason", reason}}));
  }
}

FlowProbe::~FlowProbe() = default;

prometheus::Counter& FlowProbe::TopicCounter(prometheus::Family<prometheus::Counter>& family,
                                             std::map<std::string, prometheus::Counter*>& cache,
                                             const std::string& topic) {
  auto it = cache.find(topic);
  if (it != cache.end()) return *it->second;
  auto& c = family.Add({{"flow", flow_}, {"topic", topic}});
  cache[topic] = &c;
  return c;
}

void FlowProbe::RecordReplicated(const SourcePartition& p, size_t records, size_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  TopicCounter(records_, records_by_topic_, p.topic).Increment(static_cast<double>(records));
  TopicCounter(bytes_, bytes_by_topic_, p.topic).Increment(static_cast<double>(bytes));
}

void FlowProbe::RecordLatency(double seconds) { latency_histogram_.Observe(seconds); }

void FlowProbe::RecordSkipped(const std::string& reason, size_t records) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = skipped_by_reason_.find(reason);
  if (it == skipped_by_reason_.end()) {
    it = skipped_by_reason_.emplace(reason, &skipped_.Add({{"flow", flow_}, {"reason", reason}}))
             .first;
  }
  it->second->Increment(static_cast<double>(records));
}

void FlowProbe::RecordLost(const SourcePartition& p, int64_t records) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = lost_by_partition_.find(p);
  if (it == lost_by_partition_.end()) {
    it = lost_by_partition_.emplace(p, &lost_.Add(PartitionLabels(flow_, p))).first;
  }
  it->second->Increment(static_cast<double>(records));
}

void FlowProbe::RecordError(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = errors_by_kind_.find(kind);
  if (it == errors_by_kind_.end()) {
    it = errors_by_kind_.emplace(kind, &errors_.Add({{"flow", flow_}, {"kind", kind}})).first;
  }
  it->second->Increment();
}

FlowProbe::Series& FlowProbe::SeriesFor(const SourcePartition& p) {
  auto it = series_.find(p);
  if (it != series_.end()) return it->second;
  Series s;
  s.lag_records = &lag_records_.Add(PartitionLabels(flow_, p));
  s.lag_seconds = &lag_seconds_.Add(PartitionLabels(flow_, p));
  s.stopped = &stopped_.Add(PartitionLabels(flow_, p));
  return series_.emplace(p, s).first->second;
}

void FlowProbe::SetLag(const SourcePartition& p, int64_t records, double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  Series& s = SeriesFor(p);
  s.lag_records->Set(static_cast<double>(records));
  s.lag_seconds->Set(seconds);
}

void FlowProbe::SetInFlightBytes(size_t bytes) { in_flight_gauge_.Set(static_cast<double>(bytes)); }

void FlowProbe::SetStopped(const SourcePartition& p, bool stopped) {
  std::lock_guard<std::mutex> lock(mu_);
  SeriesFor(p).stopped->Set(stopped ? 1 : 0);
}

void FlowProbe::PartitionAssigned(const SourcePartition& p) {
  std::lock_guard<std::mutex> lock(mu_);
  SeriesFor(p);
  // At 0 from the first assignment; kept after a revocation (a counter's history).
  if (!lost_by_partition_.count(p))
    lost_by_partition_.emplace(p, &lost_.Add(PartitionLabels(flow_, p)));
  assigned_gauge_.Increment();
}

void FlowProbe::PartitionRevoked(const SourcePartition& p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = series_.find(p);
  if (it != series_.end()) {
    lag_records_.Remove(it->second.lag_records);
    lag_seconds_.Remove(it->second.lag_seconds);
    stopped_.Remove(it->second.stopped);
    series_.erase(it);
  }
  assigned_gauge_.Decrement();
}

}  // namespace kmirror::replication
