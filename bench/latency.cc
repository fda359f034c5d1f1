// Benchmark 2: end-to-end latency at a fixed rate below saturation. A paced producer writes to A;
// kmirrord (in-process Service) copies to B; a consumer on B records, for every record, the time
// it received the copy minus the source record's CreateTime. A consumer on A does the same for
// the source topic, as a reference for what the source path alone costs.
#include <algorithm>
#include <atomic>
#include <thread>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "daemon/service.h"
#include "fmt/format.h"
#include "lib/kafka/consumer.h"

namespace kmirror::bench {
namespace {

// Reads a topic from its beginning on its own thread and keeps, for each record whose timestamp
// is at or after `measure_from_ms`, its receipt time minus its timestamp (ms).
class LatencyObserver {
 public:
  LatencyObserver(std::string bootstrap, std::string topic, int partitions, int64_t measure_from_ms)
      : bootstrap_(std::move(bootstrap)),
        topic_(std::move(topic)),
        partitions_(partitions),
        measure_from_ms_(measure_from_ms) {}
  ~LatencyObserver() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  absl::Status Start(const std::string& client_id) {
    auto consumer = kafka::Consumer::Create(ConsumerProperties(bootstrap_, client_id));
    if (!consumer.ok()) return consumer.status();
    consumer_ = std::move(consumer).value();
    std::vector<kafka::TopicPartitionOffset> assign;
    for (int p = 0; p < partitions_; ++p) assign.emplace_back(topic_, p, kafka::kOffsetBeginning);
    if (absl::Status s = consumer_->Assign(assign); !s.ok()) return s;
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }

  // Waits until `expected` records were received or `timeout` passed, then stops reading.
  void Finish(int64_t expected, std::chrono::milliseconds timeout) {
    WaitUntil([&] { return received_.load() >= expected; }, timeout, std::chrono::milliseconds(20));
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }

  int64_t received() const { return received_.load(); }
  // Valid after Finish().
  const std::vector<double>& latencies() const { return latencies_; }
  const std::vector<double>& all_latencies() const { return all_latencies_; }

 private:
  void Loop() {
    while (!stop_.load()) {
      auto batch = consumer_->ConsumeBatch(std::chrono::milliseconds(20), 10000);
      if (!batch.ok()) continue;
      const double now_ms = WallMicros() / 1000.0;
      for (const kafka::Message& m : *batch) {
        if (!m.ok()) continue;
        received_.fetch_add(1);
        const double latency = now_ms - m.timestamp_ms();
        if (m.timestamp_ms() >= measure_from_ms_) latencies_.push_back(latency);
        all_latencies_.push_back(latency);
      }
    }
    (void)consumer_->Close();
  }

  const std::string bootstrap_;
  const std::string topic_;
  const int partitions_;
  const int64_t measure_from_ms_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::atomic<int64_t> received_{0};
  std::atomic<bool> stop_{false};
  // Written by the thread, read after it joined: the measured window, and every record.
  std::vector<double> latencies_;
  std::vector<double> all_latencies_;
  std::thread thread_;
};

Percentiles Summarize(std::vector<double> values) {
  Percentiles p;
  if (values.empty()) return p;
  std::sort(values.begin(), values.end());
  p.count = static_cast<int64_t>(values.size());
  p.p50 = Percentile(values, 50);
  p.p99 = Percentile(values, 99);
  p.p999 = Percentile(values, 99.9);
  p.max = values.back();
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / values.size();
  return p;
}

}  // namespace

LatencyResult RunLatency(const LatencyOptions& options) {
  LatencyResult result;
  result.options = options;
  auto sandbox = StartSandbox();
  if (!sandbox.ok()) {
    result.error = "sandbox: " + sandbox.status().ToString();
    return result;
  }
  sandbox::Cluster* a = (*sandbox)->cluster("A");
  sandbox::Cluster* b = (*sandbox)->cluster("B");
  const std::string topic = "latency";
  if (absl::Status s = a->CreateTopic(topic, options.partitions, 3); !s.ok()) {
    result.error = s.ToString();
    return result;
  }

  FlowSetup setup;
  setup.a_bootstrap = a->bootstrap();
  setup.b_bootstrap = b->bootstrap();
  setup.topics = {topic};
  setup.group_id = "bench.kmirror.latency";
  config::ConfigErrors errors;
  auto config = daemon::ParseConfigText(KmirrordConfig(setup), &errors);
  if (!config.ok()) {
    result.error = "configuration rejected: " + errors.ToString();
    return result;
  }
  auto service = daemon::Service::Create(*config);
  if (!service.ok()) {
    result.error = service.status().ToString();
    return result;
  }
  (void)(*service)->Start();
  Progress("latency: waiting for kmirrord to own every partition");
  const bool assigned = WaitUntil(
      [&] {
        auto status = (*service)->Status();
        // The benchmark topic's partitions plus the heartbeats and drill canary partitions every
        // flow replicates: measuring before they are assigned would include that rebalance.
        if (status.empty() || status[0].partitions.size() != size_t(options.partitions) + 2) {
          return false;
        }
        return std::all_of(status[0].partitions.begin(), status[0].partitions.end(),
                           [](const replication::PartitionStatus& p) { return p.resolved; });
      },
      std::chrono::seconds(60));
  if (!assigned) {
    result.error = "kmirrord did not own every partition within 60 s";
    return result;
  }

  const int64_t measure_from_ms = WallMillis() + options.warmup_seconds * 1000;
  LatencyObserver target(b->bootstrap(), "A." + topic, options.partitions, measure_from_ms);
  LatencyObserver source(a->bootstrap(), topic, options.partitions, measure_from_ms);
  absl::Status started = target.Start("bench-latency-target");
  started.Update(source.Start("bench-latency-source"));
  auto producer = CountingProducer::Create(ProducerProperties(a->bootstrap(), "bench-latency"));
  if (!started.ok() || !producer.ok()) {
    result.error = started.ok() ? producer.status().ToString() : started.ToString();
    return result;
  }

  replication::FlowStatus at_window_start;
  bool window_snapshot = false;
  Progress(fmt::format("latency: producing {} records/s for {} + {} s", options.rate,
                       options.warmup_seconds, options.seconds));
  RecordFactory factory(topic, Workload{options.partitions, options.value_bytes});
  const int64_t total = int64_t(options.rate) * (options.warmup_seconds + options.seconds);
  const double start = MonoSeconds();
  int64_t sent = 0, sent_in_window = 0;
  double window_start = 0, window_end = 0;
  while (sent < total) {
    const double elapsed = MonoSeconds() - start;
    const int64_t due = std::min<int64_t>(total, static_cast<int64_t>(elapsed * options.rate) + 1);
    for (; sent < due; ++sent) {
      kafka::ProduceRecord r = factory.Make(sent);
      r.timestamp_ms = WallMillis();
      if (r.timestamp_ms >= measure_from_ms) {
        if (!window_snapshot) {
          // Status() is published once a second: this snapshot is up to 1 s old.
          auto status = (*service)->Status();
          if (!status.empty()) at_window_start = status[0];
          window_snapshot = true;
        }
        if (sent_in_window++ == 0) window_start = MonoSeconds();
        window_end = MonoSeconds();
      }
      if (absl::Status s = (*producer)->Send(r); !s.ok()) {
        result.error = "producer: " + s.ToString();
        return result;
      }
    }
    (*producer)->Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  (void)(*producer)->Flush(std::chrono::seconds(30));
  result.produced = (*producer)->delivered();
  result.achieved_rate =
      window_end > window_start ? sent_in_window / (window_end - window_start) : 0;

  target.Finish(result.produced, std::chrono::seconds(30));
  source.Finish(result.produced, std::chrono::seconds(5));
  result.received_target = target.received();
  result.received_source = source.received();
  result.target = Summarize(target.latencies());
  result.source = Summarize(source.latencies());
  result.target_all = Summarize(target.all_latencies());
  if (result.produced != total) {
    result.error =
        fmt::format("only {} of {} records were acknowledged by A", result.produced, total);
  } else if (result.received_target != result.produced) {
    result.error = fmt::format("B returned {} of {} records within 30 s", result.received_target,
                               result.produced);
  }

  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // Status() publishes every 1 s
  auto status = (*service)->Status();
  if (!status.empty() && status[0].latency_count > 0) {
    result.kmirrord_count = status[0].latency_count;
    result.kmirrord_mean_ms = status[0].latency_ms_sum / status[0].latency_count;
    const int64_t n = status[0].latency_count - at_window_start.latency_count;
    if (n > 0) {
      result.kmirrord_window_count = n;
      result.kmirrord_window_mean_ms =
          (status[0].latency_ms_sum - at_window_start.latency_ms_sum) / n;
    }
  }
  (void)(*service)->Stop(std::chrono::seconds(5));
  return result;
}

}  // namespace kmirror::bench
