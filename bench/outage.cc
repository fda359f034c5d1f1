// Benchmark 3: kmirrord's resident memory while every target broker is down. A producer writes
// to A at a steady rate throughout; B's brokers go down for the outage, then come back; kmirrord
// (a separate process) is sampled every 500 ms; at the end every source record must be on B.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "bench/kmirrord_process.h"
#include "daemon/service.h"
#include "fmt/format.h"

namespace kmirror::bench {
namespace {

constexpr auto kSampleInterval = std::chrono::milliseconds(500);

// Writes `rate` records per second to a topic on its own thread until Stop().
class PacedProducer {
 public:
  PacedProducer(std::string topic, Workload workload, int rate)
      : factory_(std::move(topic), workload), rate_(rate) {}
  ~PacedProducer() { Stop(); }

  absl::Status Start(const std::string& bootstrap) {
    auto producer = CountingProducer::Create(ProducerProperties(bootstrap, "bench-outage"));
    if (!producer.ok()) return producer.status();
    producer_ = std::move(producer).value();
    thread_ = std::thread([this] { Loop(); });
    return absl::OkStatus();
  }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  int64_t delivered() const { return producer_ ? producer_->delivered() : 0; }
  const absl::Status& error() const { return error_; }  // valid after Stop()

 private:
  void Loop() {
    const double start = MonoSeconds();
    int64_t sent = 0;
    while (!stop_.load()) {
      const auto due = static_cast<int64_t>((MonoSeconds() - start) * rate_) + 1;
      for (; sent < due && error_.ok(); ++sent) error_ = producer_->Send(factory_.Make(sent));
      producer_->Poll();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    error_.Update(producer_->Flush(std::chrono::seconds(30)));
  }

  RecordFactory factory_;
  const int rate_;
  std::unique_ptr<CountingProducer> producer_;
  std::atomic<bool> stop_{false};
  absl::Status error_;
  std::thread thread_;
};

absl::Status SetBrokersUp(sandbox::Cluster& cluster, bool up) {
  absl::Status result;
  for (int32_t id : cluster.broker_ids()) result.Update(cluster.SetBrokerUp(id, up));
  return result;
}

OutageSample Sample(KmirrordProcess& kmirrord, double t, const char* phase, int64_t produced) {
  OutageSample s;
  s.t = t;
  s.phase = phase;
  s.produced = produced;
  if (auto rss = ReadRssKib(kmirrord.pid()); rss.ok()) s.rss_kib = *rss;
  if (auto metrics = kmirrord.Scrape(std::chrono::milliseconds(300)); metrics.ok()) {
    s.in_flight_bytes = SumMetric(*metrics, "kmirror_in_flight_bytes").value_or(-1);
    s.replicated = SumMetric(*metrics, "kmirror_replicated_records_total").value_or(0);
  }
  return s;
}

// The RSS figures the report quotes, from the samples.
void Summarize(OutageResult& r) {
  const double outage_start = r.options.before_seconds;
  const double outage_mid = outage_start + r.options.outage_seconds / 2.0;
  double best_mid_distance = 1e9;
  for (const OutageSample& s : r.samples) {
    if (s.rss_kib < 0) continue;
    r.rss_peak_kib = std::max(r.rss_peak_kib, s.rss_kib);
    r.in_flight_peak_bytes = std::max(r.in_flight_peak_bytes, s.in_flight_bytes);
    if (s.phase == "before") r.rss_before_kib = s.rss_kib;
    if (s.phase == "outage") {
      r.rss_end_outage_kib = s.rss_kib;
      if (std::abs(s.t - outage_mid) < best_mid_distance) {
        best_mid_distance = std::abs(s.t - outage_mid);
        r.rss_mid_outage_kib = s.rss_kib;
      }
    }
    r.rss_after_kib = s.rss_kib;
  }
}

}  // namespace

OutageResult RunOutage(const OutageOptions& options) {
  OutageResult result;
  result.options = options;
  auto sandbox = StartSandbox();
  if (!sandbox.ok()) {
    result.error = "sandbox: " + sandbox.status().ToString();
    return result;
  }
  sandbox::Cluster* a = (*sandbox)->cluster("A");
  sandbox::Cluster* b = (*sandbox)->cluster("B");
  const std::string topic = "outage";
  if (absl::Status s = a->CreateTopic(topic, options.partitions, 3); !s.ok()) {
    result.error = s.ToString();
    return result;
  }
  auto admin_a =
      kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", a->bootstrap()}});
  auto admin_b =
      kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", b->bootstrap()}});
  if (!admin_a.ok() || !admin_b.ok()) {
    result.error = "admin clients: " + admin_a.status().ToString() + admin_b.status().ToString();
    return result;
  }

  FlowSetup setup;
  setup.a_bootstrap = a->bootstrap();
  setup.b_bootstrap = b->bootstrap();
  setup.topics = {topic};
  setup.group_id = "bench.kmirror.outage";
  setup.max_in_flight = options.max_in_flight;
  config::ConfigErrors errors;
  auto parsed = daemon::ParseConfigText(KmirrordConfig(setup), &errors);  // for the byte count
  if (!parsed.ok()) {
    result.error = "configuration rejected: " + errors.ToString();
    return result;
  }
  result.max_in_flight_bytes = parsed->flows[0].max_in_flight_bytes;
  auto kmirrord = KmirrordProcess::Start(options.kmirrord, options.work_dir, "outage", setup);
  if (!kmirrord.ok()) {
    result.error = kmirrord.status().ToString();
    return result;
  }
  int64_t assigned = 0, resolved = 0;
  if (absl::Status s = (*kmirrord)->WaitOwned(options.partitions, std::chrono::seconds(60),
                                              &assigned, &resolved);
      !s.ok()) {
    result.error = std::string(s.message());
    result.exit = (*kmirrord)->Stop();
    return result;
  }
  if (auto rss = ReadRssKib((*kmirrord)->pid()); rss.ok()) result.rss_start_kib = *rss;

  Progress(fmt::format(
      "outage: {} records/s to A; B down after {} s for {} s; producer stops {} s later",
      options.rate, options.before_seconds, options.outage_seconds, options.after_seconds));
  const Workload workload{options.partitions, options.value_bytes};
  result.record_bytes = double(RecordBytes(RecordFactory(topic, workload).Make(0)));
  PacedProducer producer(topic, workload, options.rate);
  if (absl::Status s = producer.Start(a->bootstrap()); !s.ok()) {
    result.error = "producer: " + s.ToString();
    result.exit = (*kmirrord)->Stop();
    return result;
  }
  const double start = MonoSeconds();
  const auto start_tp = std::chrono::steady_clock::now();
  const double down_at = options.before_seconds;
  const double up_at = down_at + options.outage_seconds;
  const double stop_at = up_at + options.after_seconds;
  bool down = false, up = false;
  double up_at_mono = 0;
  absl::Status faults;
  for (int tick = 0;; ++tick) {
    const double t = MonoSeconds() - start;
    if (!down && t >= down_at) {
      const double begin = MonoSeconds();
      faults.Update(SetBrokersUp(*b, false));
      result.down_seconds = MonoSeconds() - begin;
      down = true;
      Progress("outage: all B brokers down");
    }
    if (down && !up && t >= up_at) {
      const double begin = MonoSeconds();
      faults.Update(SetBrokersUp(*b, true));
      result.up_seconds = MonoSeconds() - begin;
      up = true;
      up_at_mono = MonoSeconds();
      Progress("outage: all B brokers up");
    }
    if (t >= stop_at) break;
    const char* phase = !down ? "before" : !up ? "outage" : "after";
    result.samples.push_back(Sample(**kmirrord, t, phase, producer.delivered()));
    std::this_thread::sleep_until(start_tp + (tick + 1) * kSampleInterval);
  }
  producer.Stop();
  result.produced = producer.delivered();
  const double stopped_at = MonoSeconds();
  if (!faults.ok() || !producer.error().ok()) {
    result.error =
        "fault injection / producer: " + faults.ToString() + " " + producer.error().ToString();
  }

  auto source_ends = EndOffsets(**admin_a, topic, options.partitions, std::chrono::seconds(10));
  if (!source_ends.ok()) {
    result.error = "source end offsets: " + source_ends.status().ToString();
    result.exit = (*kmirrord)->Stop();
    return result;
  }
  result.source_end = Sum(*source_ends);
  Progress("outage: producer stopped; waiting for B to hold every record");
  std::vector<int64_t> target_ends;
  for (int tick = 0;; ++tick) {
    const double t = MonoSeconds() - start;
    auto ends = EndOffsets(**admin_b, "A." + topic, options.partitions, std::chrono::seconds(2));
    if (ends.ok()) target_ends = *ends;
    result.samples.push_back(Sample(**kmirrord, t, "catch-up", result.produced));
    bool caught_up = ends.ok();
    for (int p = 0; caught_up && p < options.partitions; ++p) {
      caught_up = (*ends)[p] >= (*source_ends)[p];
    }
    if (caught_up) {
      result.caught_up = true;
      result.catch_up_seconds = MonoSeconds() - stopped_at;
      result.catch_up_after_outage_seconds = MonoSeconds() - up_at_mono;
      break;
    }
    if (MonoSeconds() - stopped_at > options.catch_up_timeout_seconds) break;
    std::this_thread::sleep_for(kSampleInterval);
  }
  result.target_end = Sum(target_ends);
  // A few more samples once idle again, to see whether memory is given back.
  for (int i = 0; i < 4; ++i) {
    std::this_thread::sleep_for(kSampleInterval);
    result.samples.push_back(
        Sample(**kmirrord, MonoSeconds() - start, "caught-up", result.produced));
  }
  if (auto metrics = (*kmirrord)->Scrape(); metrics.ok()) {
    result.lost_metric = SumMetric(*metrics, "kmirror_records_lost_total").value_or(0);
  }
  result.exit = (*kmirrord)->Stop();
  if (result.caught_up) {
    Progress("outage: checking every copy on B against its source offset");
    result.check = VerifyCopy(b->bootstrap(), "A." + topic, *source_ends, target_ends);
  }
  Summarize(result);
  if (result.error.empty() && !result.caught_up) {
    result.error =
        fmt::format("B held {} of {} records {} s after the producer stopped", result.target_end,
                    result.source_end, options.catch_up_timeout_seconds);
  }
  return result;
}

}  // namespace kmirror::bench
