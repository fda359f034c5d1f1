// kmirror-sandbox as a separate process, for tests that must kill or fault clusters from outside
// the process under test. Starts it, waits for the ready file, and drives its control endpoint.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/support/process.h"

namespace kmirror::testing {

class SandboxProcess {
 public:
  // clusters like {"A:3", "B:3"}; extra_args are passed through (e.g. "--auto-create-topics").
  static absl::StatusOr<std::unique_ptr<SandboxProcess>> Start(
      const std::vector<std::string>& clusters, const std::vector<std::string>& extra_args = {});
  ~SandboxProcess();

  std::string Bootstrap(const std::string& cluster) const;
  std::string ClusterId(const std::string& cluster) const;
  // POST to the control endpoint (see lib/sandbox/control_server.h); body is JSON or empty.
  absl::Status Control(const std::string& target, const std::string& body = "");
  absl::Status BrokerDown(const std::string& cluster, int32_t broker);
  absl::Status BrokerUp(const std::string& cluster, int32_t broker);
  absl::Status CreateTopic(const std::string& cluster, const std::string& topic, int partitions,
                           int replication_factor = -1);
  Subprocess& process() { return *proc_; }
  const std::string& ready_json() const { return ready_json_; }

 private:
  SandboxProcess() = default;
  TempDir dir_;
  std::unique_ptr<Subprocess> proc_;
  std::string ready_json_;
  std::string control_host_;
  uint16_t control_port_ = 0;
};

}  // namespace kmirror::testing
