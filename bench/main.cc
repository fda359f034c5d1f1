// kmirror-bench: runs kmirrord's benchmarks on the embedded sandbox and writes the report.
// Normally started by bench/run, which builds the Release tree first.
//
//   kmirror-bench --doc docs/benchmarks.md [--only throughput,latency,outage,idle] [--quick]
//
// Exit codes: 0 report written (individual measurements may still have failed: the report says
// which), 1 the report could not be written, 64 usage.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "bench/report.h"
#include "fmt/format.h"
#include "lib/common/logging.h"

namespace {

constexpr int kExitUsage = 64;

std::string ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? "." : exe.parent_path().string();
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace kmirror::bench;
  CLI::App app{"kmirror-bench: kmirrord benchmarks on the embedded sandbox (see bench/run)"};
  std::string doc_path;
  std::string kmirrord = ExecutableDir() + "/kmirrord";
  std::string work_dir = ExecutableDir() + "/../bench-work";
  std::string librdkafka_version = "unknown";
  std::vector<std::string> only;
  bool quick = false;
  std::string log_level = "error";
  kmirror::bench::ThroughputOptions throughput;
  app.add_option("--doc", doc_path, "write the Markdown report here")->required();
  app.add_option("--kmirrord", kmirrord, "kmirrord binary for the separate-process benchmarks")
      ->capture_default_str();
  app.add_option("--work-dir", work_dir, "configurations and kmirrord logs")->capture_default_str();
  app.add_option("--librdkafka-version", librdkafka_version, "printed in the report");
  app.add_option("--only", only, "benchmarks to run (default all)")
      ->delimiter(',')
      ->check(CLI::IsMember({"throughput", "latency", "outage", "idle"}));
  app.add_flag("--quick", quick, "reduced sizes and durations (smoke test; not for publication)");
  app.add_option("--throughput-partitions", throughput.partitions,
                 "partitions of the throughput topic")
      ->capture_default_str();
  app.add_option("--throughput-records", throughput.records, "records per throughput round")
      ->capture_default_str();
  app.add_option("--throughput-rounds", throughput.rounds, "throughput rounds")
      ->capture_default_str();
  app.add_option("--throughput-max-in-flight", throughput.max_in_flight,
                 "kmirrord's max_in_flight_bytes in the throughput benchmark")
      ->capture_default_str();
  app.add_option("--log-level", log_level, "log level of the in-process sandbox and kmirrord")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  kmirror::common::InitLogging(log_level);
  signal(SIGPIPE, SIG_IGN);
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  work_dir = std::filesystem::absolute(work_dir).lexically_normal().string();
  const std::set<std::string> selected(only.begin(), only.end());
  auto wanted = [&](const char* name) { return selected.empty() || selected.count(name) > 0; };

  Report report;
  report.machine = CollectMachineInfo();
  report.librdkafka_version = librdkafka_version;
  report.started_utc = UtcNow();
  report.quick = quick;
  report.load_start = LoadAverage();
  const double start = MonoSeconds();

  if (wanted("throughput")) {
    report.load_before["throughput"] = LoadAverage();
    ThroughputOptions o = throughput;
    if (quick) {
      o.records = 30000;
      o.rounds = 1;
    }
    report.throughput = RunThroughput(o);
    if (!report.throughput->error.empty()) Progress("throughput: " + report.throughput->error);
  }
  if (wanted("latency")) {
    report.load_before["latency"] = LoadAverage();
    LatencyOptions o;
    if (quick) o.seconds = 5;
    report.latency = RunLatency(o);
    const LatencyResult& l = *report.latency;
    Progress(fmt::format("latency: p50 {:.1f} ms p99 {:.1f} ms p99.9 {:.1f} ms {}", l.target.p50,
                         l.target.p99, l.target.p999, l.error));
  }
  if (wanted("outage")) {
    report.load_before["outage"] = LoadAverage();
    OutageOptions o;
    o.kmirrord = kmirrord;
    o.work_dir = work_dir;
    if (quick) {
      o.before_seconds = 3;
      o.outage_seconds = 8;
      o.after_seconds = 3;
    }
    report.outage = RunOutage(o);
    const OutageResult& r = *report.outage;
    Progress(fmt::format("outage: RSS before {} KiB, peak {} KiB, caught up {} {}",
                         r.rss_before_kib, r.rss_peak_kib, r.caught_up, r.error));
  }
  if (wanted("idle")) {
    report.load_before["idle"] = LoadAverage();
    IdleOptions o;
    o.kmirrord = kmirrord;
    o.work_dir = work_dir;
    if (quick) {
      o.cases = {{1, 1}, {10, 100}};
      o.settle_seconds = 2;
      o.measure_seconds = 4;
    }
    report.idle = RunIdle(o);
    for (const IdleResult& r : *report.idle) {
      Progress(fmt::format("idle {} partitions: CPU {:.1f}% RSS {} KiB {}", r.setup.partitions(),
                           r.cpu_percent, r.rss_kib, r.error));
    }
  }
  report.elapsed_seconds = MonoSeconds() - start;
  report.load_end = LoadAverage();

  std::ofstream out(doc_path, std::ios::trunc);
  out << RenderMarkdown(report);
  if (!out.flush()) {
    std::fprintf(stderr, "kmirror-bench: cannot write %s\n", doc_path.c_str());
    return 1;
  }
  Progress(fmt::format("report written to {} ({:.0f} s)", doc_path, report.elapsed_seconds));
  return 0;
}
