// The kmirrord service: builds every enabled flow of a configuration on librdkafka, serves the
// Prometheus endpoint, and applies SIGHUP reloads. Shared by `kmirrord --config` and `--demo`.
// Thread-safety: Start/Stop/Reload from the main thread; Status() from any thread.
#pragma once

#include <prometheus/exposer.h>
#include <prometheus/registry.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "daemon/flow_plane.h"
#include "daemon/flow_unit.h"
#include "lib/config/config.h"
#include "lib/control/server.h"
#include "lib/dr/kafka_state_store.h"

namespace kmirror::daemon {

// Loads a configuration with librdkafka's checks wired in (every bad property is named).
absl::StatusOr<config::Config> LoadConfig(const std::string& path, config::ConfigErrors* errors);
absl::StatusOr<config::Config> ParseConfigText(const std::string& text,
                                               config::ConfigErrors* errors);

class Service {
 public:
  static absl::StatusOr<std::unique_ptr<Service>> Create(config::Config config);
  ~Service();

  // Starts the flows (each once its control state is read) and the control API. Fails when the
  // control socket cannot be served (e.g. another kmirrord answers on it).
  absl::Status Start();
  absl::Status Stop(std::chrono::milliseconds drain_timeout);
  // Applies what can change without a restart: each flow's topic filters. Other changes are
  // reported and left for the next restart.
  void Reload(const config::Config& next);
  std::vector<replication::FlowStatus> Status() const;
  // The metrics endpoint's bound port (0 when disabled).
  uint16_t metrics_port() const { return metrics_port_; }
  const config::Config& config() const { return config_; }
  // True once every flow's control state is applied and its running units completed their
  // first topic discovery.
  bool Ready() const;
  // The control socket path ("" when the control API is off) and TCP port (0 when off).
  std::string control_socket() const;
  uint16_t control_port() const;

 private:
  explicit Service(config::Config config) : config_(std::move(config)) {}

  config::Config config_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  uint16_t metrics_port_ = 0;
  // One state store per target cluster alias; before controllers_, which use them.
  std::map<std::string, std::unique_ptr<dr::KafkaStateStore>> stores_;
  std::unique_ptr<FlowUnitFactory> units_;
  std::vector<std::unique_ptr<FlowPlane>> planes_;
  std::vector<dr::Controller*> controllers_;  // planes_' controllers
  std::unique_ptr<control::Server> control_;
};

}  // namespace kmirror::daemon
