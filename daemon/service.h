// The kmirrord service: builds every enabled flow of a configuration on librdkafka, serves the
// Prometheus endpoint, and applies SIGHUP reloads. Shared by `kmirrord --config` and `--demo`.
// Thread-safety: Start/Stop/Reload from the main thread; Status() from any thread.
#pragma once

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/flow_offsets.h"
#include "daemon/topic_sync.h"
#include "lib/config/config.h"
#include "lib/replication/client_probe.h"
#include "lib/replication/flow_runner.h"

namespace kmirror::daemon {

// Loads a configuration with librdkafka's checks wired in (every bad property is named).
absl::StatusOr<config::Config> LoadConfig(const std::string& path, config::ConfigErrors* errors);
absl::StatusOr<config::Config> ParseConfigText(const std::string& text,
                                               config::ConfigErrors* errors);

class Service {
 public:
  static absl::StatusOr<std::unique_ptr<Service>> Create(config::Config config);
  ~Service();

  absl::Status Start();
  absl::Status Stop(std::chrono::milliseconds drain_timeout);
  // Applies what can change without a restart: each flow's topic filters. Other changes are
  // reported and left for the next restart.
  void Reload(const config::Config& next);
  std::vector<replication::FlowStatus> Status() const;
  // The metrics endpoint's bound port (0 when disabled).
  uint16_t metrics_port() const { return metrics_port_; }
  const config::Config& config() const { return config_; }
  // True once every flow completed its first topic discovery.
  bool Ready() const;

 private:
  explicit Service(config::Config config) : config_(std::move(config)) {}

  config::Config config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t metrics_port_ = 0;
  std::vector<std::string> flow_names_;
  // Before runners_: the runners' clients call into these until they are destroyed.
  std::vector<std::unique_ptr<replication::ClientProbe>> client_probes_;
  // Before runners_: each runner's discovery creates remote topics through one of these.
  std::vector<std::unique_ptr<FlowTopicSync>> topic_syncs_;
  // Before runners_: each runner's worker reports acknowledgements to one of these.
  std::vector<std::unique_ptr<FlowOffsets>> offsets_;
  std::vector<std::unique_ptr<replication::FlowRunner>> runners_;
};

}  // namespace kmirror::daemon
