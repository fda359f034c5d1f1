// Observing kmirrord as a separate process: starting and stopping it, reading its resident memory
// and CPU time from /proc, and scraping its Prometheus endpoint.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kmirror::bench {

// A child process started with posix_spawn; stdout and stderr go to `log_path`.
// The destructor kills it (SIGKILL) if it still runs. Thread-compatible.
class ChildProcess {
 public:
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const std::vector<std::string>& argv,
                                                             const std::string& log_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once the process exited (it is then reaped).
  bool Running();
  // SIGTERM, then SIGKILL after `timeout`. Returns the exit description ("exit 0", "signal 9").
  std::string Stop(std::chrono::milliseconds timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  std::string Describe() const;

  pid_t pid_;
  bool exited_ = false;
  int status_ = 0;
};

// Resident set size (VmRSS) of a process in KiB.
absl::StatusOr<int64_t> ReadRssKib(pid_t pid);
// User plus system CPU time of a process (all threads) in seconds.
absl::StatusOr<double> ReadCpuSeconds(pid_t pid);
// CPU seconds (user + system) of each thread of a process, summed by thread name ("rdk:broker1"
// and "rdk:broker2" count separately).
absl::StatusOr<std::map<std::string, double>> ReadThreadCpuSeconds(pid_t pid);
// Number of threads of a process.
absl::StatusOr<int> ReadThreads(pid_t pid);

// A loopback port that was free a moment ago (bound to port 0, then released).
absl::StatusOr<uint16_t> FreeLoopbackPort();
// GET http://127.0.0.1:<port><path> (HTTP/1.0); returns the body of a 200 response.
absl::StatusOr<std::string> HttpGet(uint16_t port, const std::string& path,
                                    std::chrono::milliseconds timeout);
// Sum over all label sets of the samples of metric `name` in Prometheus text format; nullopt when
// the metric has no sample.
std::optional<double> SumMetric(const std::string& exposition, const std::string& name);

// Occurrences of `needle` in the file at `path` (0 when unreadable).
int64_t CountInFile(const std::string& path, const std::string& needle);

}  // namespace kmirror::bench
