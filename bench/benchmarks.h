// The four benchmarks of bench/run. Each runs on its own fresh in-process sandbox (clusters A and
// B, 3 brokers each) and returns what it measured; a step that fails or times out leaves its
// `error` set instead of numbers, and the report says so.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "bench/bench_util.h"

namespace kmirror::bench {

// ---- 1. Throughput ceilings and the replicator's ratio -----------------------------------------

struct ThroughputOptions {
  // The sandbox moves a few hundred thousand to millions of records per second but keeps only
  // ~5 MB per partition: many partitions make a data set large enough to time.
  int partitions = 48;
  int64_t records = 720000;  // per round (15,000 per partition), all pre-loaded on A
  size_t value_bytes = 200;
  int rounds = 3;
  std::string max_in_flight = "64MiB";  // kmirrord's flow setting (the default)
  // Comparison variant (c2): kmirrord with these [flows.source_kafka] overrides; empty: skipped.
  // librdkafka's own default record-count prefetch bound, which kmirrord raises (flow_unit.cc).
  std::map<std::string, std::string> tuned_source_kafka = {{"queued.min.messages", "100000"}};
};

// Records moved inside a timed window. The window starts when the first record is seen (so
// connection set-up, group joins and topic discovery are excluded) and ends when the last one is.
struct Rate {
  std::string error;         // empty: measured
  int64_t records = 0;       // records moved inside the window
  double seconds = 0;        // window length
  double total_seconds = 0;  // from the start of the step, start-up included
  double bytes = 0;          // key + value + header bytes moved inside the window

  bool ok() const { return error.empty(); }
  double records_per_second() const { return seconds > 0 ? records / seconds : 0; }
  double megabytes_per_second() const { return seconds > 0 ? bytes / seconds / 1e6 : 0; }
};

struct ThroughputRound {
  Rate consume;          // (a) librdkafka consumer on A alone
  Rate produce;          // (b) librdkafka producer into B alone
  Rate replicate;        // (c) kmirrord (daemon::Service in-process) A -> B
  Rate replicate_tuned;  // (c2) the same with ThroughputOptions::tuned_source_kafka
  Rate naive;            // (d) consume -> copy -> produce loop A -> B
};

struct ThroughputResult {
  ThroughputOptions options;
  std::string error;        // set-up failure: no rounds
  double record_bytes = 0;  // mean key + value + header bytes per record
  std::vector<ThroughputRound> rounds;
};

ThroughputResult RunThroughput(const ThroughputOptions& options);

// ---- 2. End-to-end latency at a fixed rate -----------------------------------------------------

struct LatencyOptions {
  int partitions = 6;
  int rate = 10000;  // records per second
  int seconds = 20;  // measured
  int warmup_seconds = 2;
  size_t value_bytes = 200;
};

struct Percentiles {
  int64_t count = 0;
  double p50 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;  // milliseconds
};

struct LatencyResult {
  LatencyOptions options;
  std::string error;
  int64_t produced = 0;         // acknowledged by A, warm-up included
  int64_t received_target = 0;  // read back from B, warm-up included
  int64_t received_source = 0;  // read by the reference consumer on A
  double achieved_rate = 0;     // records per second over the measured window
  Percentiles target;           // consumer on B: receipt time - source CreateTime
  Percentiles source;           // consumer on A: the same, without replication (reference)
  Percentiles target_all;       // consumer on B, warm-up included
  double kmirrord_mean_ms = 0;  // Service::Status(): latency_ms_sum / latency_count, all records
  int64_t kmirrord_count = 0;
  // The same between a snapshot taken when the measured window began (up to 1 s old) and the end.
  double kmirrord_window_mean_ms = 0;
  int64_t kmirrord_window_count = 0;
};

LatencyResult RunLatency(const LatencyOptions& options);

// ---- 3. kmirrord's memory while the target is down ---------------------------------------------

struct OutageOptions {
  std::string kmirrord;  // path of the kmirrord binary
  std::string work_dir;  // configuration and log files
  // 3,000 records/s for 50 s over 12 partitions keeps every partition, copies included, below
  // the sandbox's ~5 MB retention, so the copy can be checked record by record; the 30 s backlog
  // (~22 MB) is well above max_in_flight_bytes.
  int partitions = 12;
  int rate = 3000;  // records per second written to A throughout
  int before_seconds = 10;
  int outage_seconds = 30;
  int after_seconds = 10;  // producer keeps writing after the brokers are back
  int catch_up_timeout_seconds = 120;
  std::string max_in_flight = "8MiB";
  size_t value_bytes = 200;
};

struct OutageSample {
  double t = 0;  // seconds since the producer started
  std::string phase;
  int64_t rss_kib = -1;
  double in_flight_bytes = -1;  // kmirror_in_flight_bytes, -1 when the scrape failed
  double replicated = -1;       // kmirror_replicated_records_total
  int64_t produced = 0;         // acknowledged by A
};

struct OutageResult {
  OutageOptions options;
  std::string error;
  int64_t max_in_flight_bytes = 0;
  double record_bytes = 0;  // key + value + header bytes per record
  double down_seconds = 0;  // how long Cluster::SetBrokerUp(id, false) took for all B brokers
  double up_seconds = 0;    // the same for bringing them back
  std::vector<OutageSample> samples;  // every 500 ms
  int64_t rss_start_kib = -1;         // once partitions were assigned, before any traffic
  int64_t rss_before_kib = -1;        // last sample before the brokers went down
  int64_t rss_mid_outage_kib = -1;    // halfway through the outage
  int64_t rss_end_outage_kib = -1;    // last sample of the outage
  int64_t rss_peak_kib = -1;          // any sample
  int64_t rss_after_kib = -1;         // after catching up
  double in_flight_peak_bytes = -1;
  int64_t produced = 0;
  int64_t source_end = 0;       // sum of A's end offsets after the producer stopped
  int64_t target_end = 0;       // sum of B's end offsets once caught up (or at the timeout)
  bool caught_up = false;       // every partition of B reached its source partition's end offset
  CopyCheck check;              // record-by-record comparison, once caught up
  double catch_up_seconds = 0;  // from the producer's stop to target == source
  double catch_up_after_outage_seconds = 0;  // from the brokers' return to target == source
  double lost_metric = 0;                    // kmirror_records_lost_total
  std::string exit;                          // how kmirrord ended
};

OutageResult RunOutage(const OutageOptions& options);

// ---- 4. Idle cost per replicated partition -----------------------------------------------------

struct IdleCase {
  int topics = 1;
  int partitions_per_topic = 1;
  int partitions() const { return topics * partitions_per_topic; }
};

struct IdleOptions {
  std::string kmirrord;
  std::string work_dir;
  std::vector<IdleCase> cases = {{1, 1}, {10, 100}, {100, 100}};
  int settle_seconds = 5;
  int measure_seconds = 10;
  int ready_timeout_seconds = 150;
};

struct IdleResult {
  IdleCase setup;
  std::string error;
  double ready_seconds = 0;   // kmirrord start to every partition resolved
  int settle_seconds = 0;     // idle time before the window
  double window_seconds = 0;  // CPU measurement window
  int64_t assigned = 0;
  int64_t resolved = 0;
  double cpu_percent = -1;                    // of one core, over the measurement window
  double librdkafka_broker_cpu_percent = -1;  // the part spent in librdkafka's rdk:broker* threads
  double sandbox_cpu_percent = -1;  // the bench process (both sandbox clusters), same window
  int64_t rss_kib = -1;
  int threads = -1;
  std::string exit;
};

std::vector<IdleResult> RunIdle(const IdleOptions& options);

}  // namespace kmirror::bench
