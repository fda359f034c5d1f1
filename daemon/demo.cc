#include "daemon/demo.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <random>
#include <thread>

#include "daemon/service.h"
#include "lib/common/logging.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "lib/sandbox/sandbox.h"

namespace kmirror::daemon {
namespace {

struct DemoTopic {
  const char* name;
  int partitions;
};
constexpr DemoTopic kTopics[] = {{"orders", 6}, {"payments", 3}, {"inventory", 3}};

// Batches of ~15 records per partition: the sandbox's mock walks every message set of a partition
// on each fetch, so one-record batches would slow it down as the log grows (docs/sandbox.md).
void ProduceLoop(const std::string& bootstrap, int rate, std::atomic<bool>& stop) {
  auto producer = kafka::Producer::Create(
      kafka::Properties{
          {"bootstrap.servers", bootstrap}, {"linger.ms", "100"}, {"client.id", "demo-producer"}},
      [](const kafka::DeliveryReport&) {});
  if (!producer.ok()) {
    common::Logger("demo")->error("msg=\"demo producer failed\" error=\"{}\"",
                                  producer.status().message());
    return;
  }
  std::mt19937 rng(42);
  int64_t n = 0;
  auto next = std::chrono::steady_clock::now();
  const auto tick = std::chrono::milliseconds(10);
  const int per_tick = std::max(1, rate / 100);
  while (!stop.load()) {
    for (int i = 0; i < per_tick; ++i, ++n) {
      const DemoTopic& t = kTopics[n % 3];
      kafka::ProduceRecord r;
      r.topic = t.name;
      r.key = "customer-" + std::to_string(rng() % 1000);
      r.value =
          "{\"seq\":" + std::to_string(n) + ",\"amount\":" + std::to_string(rng() % 10000) + "}";
      r.headers = {{"source", std::string("kmirror-demo")}, {"trace-id", std::to_string(rng())}};
      (void)(*producer)->Produce(r);
    }
    (*producer)->Poll(std::chrono::milliseconds(0));
    next += tick;
    std::this_thread::sleep_until(next);
  }
  (void)(*producer)->Flush(std::chrono::seconds(5));
}

void ConsumeLoop(const std::string& bootstrap, std::atomic<bool>& stop) {
  auto consumer = kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", bootstrap},
                                                            {"group.id", "billing"},
                                                            {"auto.offset.reset", "earliest"},
                                                            {"client.id", "demo-billing"}});
  if (!consumer.ok()) return;
  (void)(*consumer)->Subscribe({"orders", "payments"});
  while (!stop.load()) (void)(*consumer)->ConsumeBatch(std::chrono::milliseconds(200), 1000);
  (void)(*consumer)->Close();
}

}  // namespace

int RunDemo(int records_per_second) {
  auto log = common::Logger("demo");
  auto sandbox = sandbox::Sandbox::Start(
      {sandbox::ClusterOptions{"A", 3, false, 16}, sandbox::ClusterOptions{"B", 3, false, 16}});
  if (!sandbox.ok()) {
    log->error("msg=\"sandbox failed\" error=\"{}\"", sandbox.status().message());
    return 1;
  }
  sandbox::Cluster* a = (*sandbox)->cluster("A");
  for (const DemoTopic& t : kTopics) (void)a->CreateTopic(t.name, t.partitions, 3);

  // The demo's control socket: kmirrorctl --socket PATH status (or failover, drill, ...).
  const std::string socket = "/tmp/kmirror-demo-" + std::to_string(::getpid()) + "/kmirrord.sock";
  const std::string text =
      "[daemon]\ninstance_id = \"demo\"\n"
      "[clusters.A]\nbootstrap_servers = \"" +
      a->bootstrap() +
      "\"\n"
      "[clusters.B]\nbootstrap_servers = \"" +
      (*sandbox)->cluster("B")->bootstrap() +
      "\"\n"
      "[[flows]]\nsource = \"A\"\ntarget = \"B\"\n"
      "topic_refresh_interval = \"2s\"\n"
      "[metrics]\nlisten = \"127.0.0.1:0\"\n"
      "[control]\nsocket = \"" +
      socket + "\"\n";
  config::ConfigErrors errors;
  auto cfg = ParseConfigText(text, &errors);
  if (!cfg.ok()) {
    log->error("msg=\"demo configuration rejected\" errors=\"{}\"", errors.ToString());
    return 1;
  }
  auto svc = Service::Create(*cfg);
  if (!svc.ok()) {
    log->error("msg=\"service failed\" error=\"{}\"", svc.status().message());
    return 1;
  }
  if (absl::Status started = (*svc)->Start(); !started.ok()) {
    log->error("msg=\"service failed\" error=\"{}\"", started.message());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread producer([&] { ProduceLoop(a->bootstrap(), records_per_second, stop); });
  std::thread consumer([&] { ConsumeLoop(a->bootstrap(), stop); });

  std::printf(
      "kmirror demo: clusters A and B are embedded Kafka clusters (3 brokers each)\n"
      "  A bootstrap: %s\n  B bootstrap: %s\n  metrics:     http://127.0.0.1:%u/metrics\n"
      "  a producer writes ~%d records/s to orders, payments, inventory on A; a consumer\n"
      "  group 'billing' reads on A; the A->B flow copies them to A.orders, ... on B.\n"
      "  Try: kcat -b %s -C -t A.orders -c 3 -f '%%k %%s %%h\\n'\n"
      "       kmirrorctl --socket %s status      (also: drill, failover, failback)\n"
      "  Ctrl-C stops.\n",
      a->bootstrap().c_str(), (*sandbox)->cluster("B")->bootstrap().c_str(), (*svc)->metrics_port(),
      records_per_second, (*sandbox)->cluster("B")->bootstrap().c_str(),
      (*svc)->control_socket().c_str());
  std::fflush(stdout);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int64_t last_records = 0;
  double last_latency_sum = 0;
  int64_t last_latency_count = 0;
  auto last = std::chrono::steady_clock::now();
  while (true) {
    timespec wait{3, 0};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) break;
    for (const auto& st : (*svc)->Status()) {
      auto now = std::chrono::steady_clock::now();
      double secs = std::chrono::duration<double>(now - last).count();
      last = now;
      const int64_t lag = st.LagRecords();
      const int64_t n = st.latency_count - last_latency_count;
      const double latency = n > 0 ? (st.latency_ms_sum - last_latency_sum) / n : 0;
      std::printf(
          "[%s] replicated %lld records (%.0f rec/s)  partitions %zu  lag %lld records"
          "  avg latency %.1f ms  in-flight %zu bytes\n",
          st.name.c_str(), static_cast<long long>(st.replicated_records),
          (st.replicated_records - last_records) / std::max(secs, 0.001), st.partitions.size(),
          static_cast<long long>(lag), latency, st.in_flight_bytes);
      std::fflush(stdout);
      last_records = st.replicated_records;
      last_latency_sum = st.latency_ms_sum;
      last_latency_count = st.latency_count;
    }
  }
  std::printf("stopping: draining in-flight records...\n");
  stop.store(true);
  producer.join();
  consumer.join();
  absl::Status drained = (*svc)->Stop(std::chrono::seconds(10));
  svc->reset();
  return drained.ok() ? 0 : 1;
}

}  // namespace kmirror::daemon
