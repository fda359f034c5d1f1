// Pieces shared by the benchmarks: clocks, the synthetic workload, a producer that counts its
// delivery reports, end-offset queries, kmirrord configuration text and percentile math.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/producer.h"
#include "lib/kafka/properties.h"
#include "lib/sandbox/sandbox.h"

namespace kmirror::bench {

// Wall clock (the clock Kafka timestamps use), since the epoch.
int64_t WallMillis();
int64_t WallMicros();
// Monotonic clock in seconds from an arbitrary origin: for durations.
double MonoSeconds();

// Progress line on stderr ("[bench] ..."), flushed.
void Progress(const std::string& line);

// The synthetic records: key "key-00000042", a value of `value_bytes` pseudo-random printable
// bytes, and two headers (trace-id: 16 hex digits, source: "bench").
struct Workload {
  int partitions = 6;
  size_t value_bytes = 200;
};

class RecordFactory {
 public:
  RecordFactory(std::string topic, Workload workload, uint64_t seed = 42);
  // Record number `i`; it goes to partition i % partitions.
  kafka::ProduceRecord Make(int64_t i);

 private:
  std::string topic_;
  Workload workload_;
  std::mt19937_64 rng_;
};

// Key + value + header names and values: what kmirrord counts as a record's bytes.
size_t RecordBytes(const kafka::ProduceRecord& record);

// acks=all, idempotent, linger.ms=5: the producer settings of every benchmark (and kmirrord's).
kafka::Properties ProducerProperties(const std::string& bootstrap, const std::string& client_id);
// A consumer for manual assignment that never commits; librdkafka defaults otherwise.
kafka::Properties ConsumerProperties(const std::string& bootstrap, const std::string& client_id);

// A producer that counts acknowledged and failed records. Thread-safety: Send/Poll/Flush from one
// thread; the counters from any thread.
class CountingProducer {
 public:
  static absl::StatusOr<std::unique_ptr<CountingProducer>> Create(
      const kafka::Properties& properties);

  // Enqueues a copy of `record`, serving delivery reports while librdkafka's queue is full.
  absl::Status Send(const kafka::ProduceRecord& record);
  void Poll() { producer_->Poll(std::chrono::milliseconds(0)); }
  absl::Status Flush(std::chrono::milliseconds timeout) { return producer_->Flush(timeout); }

  int64_t delivered() const { return delivered_.load(); }
  int64_t failed() const { return failed_.load(); }

 private:
  CountingProducer() = default;

  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failed_{0};
  std::unique_ptr<kafka::Producer> producer_;
};

// High watermarks of partitions 0..partitions-1 of `topic`, in one ListOffsets round.
absl::StatusOr<std::vector<int64_t>> EndOffsets(kafka::AdminClient& admin, const std::string& topic,
                                                int partitions, std::chrono::milliseconds timeout);
int64_t Sum(const std::vector<int64_t>& values);

// Calls `done` every `interval` until it returns true (then true) or `timeout` passes (false).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(100));

// A kmirrord configuration with one flow A -> B.
struct FlowSetup {
  std::string a_bootstrap;
  std::string b_bootstrap;
  std::vector<std::string> topics;  // RE2 patterns
  std::string group_id;
  std::string replication_policy = "prefix";  // or "identity" (topic t appears on B as t)
  std::string max_in_flight = "64MiB";
  std::string metrics_listen;  // "" disables the endpoint
  std::string log_level = "warn";
  // librdkafka overrides for the flow's consumers ([flows.source_kafka]); empty: none.
  std::map<std::string, std::string> source_kafka;
};
std::string KmirrordConfig(const FlowSetup& setup);

// Clusters A and B, 3 brokers each, on loopback. Every topic reserves
// `max_partitions_per_topic` partitions in the mock (see docs/sandbox.md).
absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> StartSandbox(int max_partitions_per_topic = 16);

// The result of matching a replicated topic, record by record, with its source partitions.
struct CopyCheck {
  std::string error;       // empty: verified
  int64_t read = 0;        // records read from the target topic
  int64_t distinct = 0;    // distinct source offsets among them (provenance header)
  int64_t duplicates = 0;  // read - distinct: copies written more than once
  int64_t missing = 0;     // source offsets in [0, source end) the target does not hold
  // A few duplicated copies: "p3: source offset 1234 at target offsets 1230, 1241".
  std::vector<std::string> duplicate_examples;
};
// Reads every record of `topic` on the cluster at `bootstrap` (partitions 0..n-1, up to
// `target_ends`) and checks, by kmirrord's provenance header, that each source offset in
// [0, source_ends[p]) is there exactly once. Fails if the target's retention deleted records.
CopyCheck VerifyCopy(const std::string& bootstrap, const std::string& topic,
                     const std::vector<int64_t>& source_ends,
                     const std::vector<int64_t>& target_ends);

// Nearest-rank percentile (0 < p <= 100) of ascending `sorted`; 0 when empty.
double Percentile(const std::vector<double>& sorted, double p);
double Median(std::vector<double> values);

}  // namespace kmirror::bench
