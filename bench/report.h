// docs/benchmarks.md, written from one run's measurements.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/benchmarks.h"

namespace kmirror::bench {

struct MachineInfo {
  int cpus = 0;           // online CPUs (nproc)
  std::string cpu_model;  // /proc/cpuinfo "model name"
  double memory_gib = 0;  // /proc/meminfo MemTotal
  std::string kernel;     // uname -sr
};
MachineInfo CollectMachineInfo();
// "1.24 2.03 1.91": the 1, 5 and 15 minute load averages.
std::string LoadAverage();

struct Report {
  MachineInfo machine;
  std::string librdkafka_version;
  std::string started_utc;  // "2026-11-22 03:50 UTC"
  double elapsed_seconds = 0;
  std::string load_start;  // /proc/loadavg (1, 5, 15 min) when the run started
  std::string load_end;
  std::map<std::string, std::string> load_before;  // by benchmark: "throughput", "latency", ...
  bool quick = false;  // reduced sizes (smoke test), not for publication
  std::optional<ThroughputResult> throughput;
  std::optional<LatencyResult> latency;
  std::optional<OutageResult> outage;
  std::optional<std::vector<IdleResult>> idle;
};

std::string RenderMarkdown(const Report& report);

}  // namespace kmirror::bench
