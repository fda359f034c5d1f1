// kmirrord as a child process, and helpers to read and check what it replicated. Used by the
// integration and robustness tests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/replication/provenance.h"
#include "tests/support/process.h"
#include "tests/support/sandbox_process.h"

namespace kmirror::testing {

// One consumed record, copied out of librdkafka.
struct Copy {
  int64_t offset;
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms;
};

// Reads every record of partitions 0..partitions-1 from the beginning up to their end offsets.
std::map<int32_t, std::vector<Copy>> ReadAll(const std::string& bootstrap, const std::string& topic,
                                             int partitions);
std::optional<replication::Provenance> ProvenanceOf(const Copy& c);
size_t CountAll(const std::map<int32_t, std::vector<Copy>>& m);

class Kmirrord {
 public:
  Kmirrord(const std::string& dir, const std::string& config, const std::string& name = "kmirrord");
  void Start();
  Subprocess& proc() { return *proc_; }
  std::string Log() const;
  // The metrics port from the "started" log line (0 if it never appeared).
  int MetricsPort();
  // GET /metrics; empty on failure.
  std::string Scrape();
  // The value of one sample line of the scrape (exact series text), nullopt if absent.
  std::optional<double> Sample(const std::string& series);
  const std::string& config_path() const { return config_path_; }
  // The control socket written into the configuration (unless it had a [control] table).
  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string dir_;
  std::string name_;
  std::string config_path_;
  std::string socket_path_;
  std::unique_ptr<Subprocess> proc_;
};

// A configuration for flow A->B between the sandbox's clusters; `flow_extra` is appended to the
// [[flows]] table (TOML lines).
std::string FlowConfig(SandboxProcess& sb, const std::string& flow_extra = "");

template <typename F>
bool WaitFor(F f, std::chrono::seconds timeout = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return false;
}

}  // namespace kmirror::testing
