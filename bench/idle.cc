// Benchmark 4: what kmirrord costs when there is nothing to copy. For 1, 1,000 and 10,000 source
// partitions (no records), kmirrord runs as a separate process; once it owns and has resolved
// every partition and has settled, its CPU time and resident memory are read over a window.
#include <unistd.h>

#include <thread>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "bench/kmirrord_process.h"
#include "fmt/format.h"

namespace kmirror::bench {
namespace {

IdleResult RunCase(const IdleOptions& options, const IdleCase& c) {
  IdleResult result;
  result.setup = c;
  // Every topic reserves max_partitions_per_topic partitions in the mock; keep it just enough.
  auto sandbox = StartSandbox(std::max(16, c.partitions_per_topic));
  if (!sandbox.ok()) {
    result.error = "sandbox: " + sandbox.status().ToString();
    return result;
  }
  sandbox::Cluster* a = (*sandbox)->cluster("A");
  for (int t = 0; t < c.topics; ++t) {
    if (absl::Status s = a->CreateTopic(fmt::format("idle-{:03d}", t), c.partitions_per_topic, 3);
        !s.ok()) {
      result.error = "creating topics: " + s.ToString();
      return result;
    }
  }
  FlowSetup setup;
  setup.a_bootstrap = a->bootstrap();
  setup.b_bootstrap = (*sandbox)->cluster("B")->bootstrap();
  setup.topics = {"idle-.*"};
  setup.group_id = "bench.kmirror.idle";
  const double start = MonoSeconds();
  auto kmirrord = KmirrordProcess::Start(options.kmirrord, options.work_dir,
                                         fmt::format("idle-{}", c.partitions()), setup);
  if (!kmirrord.ok()) {
    result.error = kmirrord.status().ToString();
    return result;
  }
  absl::Status owned =
      (*kmirrord)->WaitOwned(c.partitions(), std::chrono::seconds(options.ready_timeout_seconds),
                             &result.assigned, &result.resolved);
  result.ready_seconds = MonoSeconds() - start;
  if (!owned.ok()) {
    result.error = std::string(owned.message());
    result.exit = (*kmirrord)->Stop();
    return result;
  }
  Progress(fmt::format("idle {} partitions: owned after {:.1f} s; settling {} s, measuring {} s",
                       c.partitions(), result.ready_seconds, options.settle_seconds,
                       options.measure_seconds));
  result.settle_seconds = options.settle_seconds;
  std::this_thread::sleep_for(std::chrono::seconds(options.settle_seconds));

  const pid_t pid = (*kmirrord)->pid();
  auto threads_before = ReadThreadCpuSeconds(pid);
  auto cpu_before = ReadCpuSeconds(pid);
  auto self_before = ReadCpuSeconds(getpid());
  const double window_start = MonoSeconds();
  std::this_thread::sleep_for(std::chrono::seconds(options.measure_seconds));
  auto cpu_after = ReadCpuSeconds(pid);
  auto threads_after = ReadThreadCpuSeconds(pid);
  auto self_after = ReadCpuSeconds(getpid());
  const double window = MonoSeconds() - window_start;
  result.window_seconds = window;
  if (cpu_before.ok() && cpu_after.ok()) {
    result.cpu_percent = (*cpu_after - *cpu_before) / window * 100;
  }
  if (threads_before.ok() && threads_after.ok()) {
    double brokers = 0;
    for (const auto& [name, seconds] : *threads_after) {
      if (name.rfind("rdk:broker", 0) != 0) continue;
      auto before = threads_before->find(name);
      brokers += seconds - (before == threads_before->end() ? 0 : before->second);
    }
    result.librdkafka_broker_cpu_percent = brokers / window * 100;
  }
  if (self_before.ok() && self_after.ok()) {
    result.sandbox_cpu_percent = (*self_after - *self_before) / window * 100;
  }
  if (auto rss = ReadRssKib(pid); rss.ok()) result.rss_kib = *rss;
  if (auto threads = ReadThreads(pid); threads.ok()) result.threads = *threads;
  if (!cpu_after.ok()) result.error = "reading /proc: " + cpu_after.status().ToString();
  result.exit = (*kmirrord)->Stop();
  return result;
}

}  // namespace

std::vector<IdleResult> RunIdle(const IdleOptions& options) {
  std::vector<IdleResult> results;
  for (const IdleCase& c : options.cases) {
    Progress(fmt::format("idle: {} topic(s) x {} partition(s)", c.topics, c.partitions_per_topic));
    results.push_back(RunCase(options, c));
    if (!results.back().error.empty()) Progress("idle: FAILED: " + results.back().error);
  }
  return results;
}

}  // namespace kmirror::bench
