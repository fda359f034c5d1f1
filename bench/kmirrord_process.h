// kmirrord as a separate process (build-bench/bin/kmirrord --config FILE), so that the memory and
// CPU read from /proc are kmirrord's alone: the sandbox clusters stay in the bench process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/bench_util.h"
#include "bench/process.h"

namespace kmirror::bench {

class KmirrordProcess {
 public:
  // Writes <work_dir>/<name>.toml from `setup` (metrics on a free loopback port, log level info)
  // and starts `binary` with it; its output goes to <work_dir>/<name>.log.
  static absl::StatusOr<std::unique_ptr<KmirrordProcess>> Start(const std::string& binary,
                                                                const std::string& work_dir,
                                                                const std::string& name,
                                                                FlowSetup setup);

  pid_t pid() const { return child_->pid(); }
  const std::string& log_path() const { return log_path_; }
  bool Running() { return child_->Running(); }

  // The Prometheus exposition from its metrics endpoint.
  absl::StatusOr<std::string> Scrape(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2000)) const;
  // Partitions whose start position was resolved so far ("partition resolved" log lines).
  int64_t Resolved() const;
  // Waits until `partitions` partitions of the benchmark topics, plus the source heartbeats
  // partition every flow replicates, are assigned (kmirror_assigned_partitions) and resolved.
  // `assigned` and `resolved` receive the last values seen.
  absl::Status WaitOwned(int64_t partitions, std::chrono::seconds timeout, int64_t* assigned,
                         int64_t* resolved);
  // SIGTERM (drain), SIGKILL after 15 s; returns how it ended.
  std::string Stop() { return child_->Stop(std::chrono::seconds(15)); }

 private:
  KmirrordProcess() = default;

  std::unique_ptr<ChildProcess> child_;
  uint16_t port_ = 0;
  std::string log_path_;
};

}  // namespace kmirror::bench
