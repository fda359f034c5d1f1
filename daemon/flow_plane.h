// One flow's control plane wired to Kafka: its dr::Controller with the cluster views, drill I/O,
// divergence preservation and the kmirror_flow_phase gauge. Built by the Service per enabled flow.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "lib/config/config.h"
#include "lib/dr/controller.h"
#include "lib/dr/kafka_io.h"

namespace prometheus {
class Registry;
}

namespace kmirror::daemon {

class FlowPlane {
 public:
  static absl::StatusOr<std::unique_ptr<FlowPlane>> Create(
      const config::Config& cfg, const config::FlowConfig& f, prometheus::Registry& registry,
      dr::StateStore& store, dr::UnitFactory& units, dr::Controller::Options options);
  dr::Controller& controller() { return *controller_; }

 private:
  FlowPlane() = default;
  // Before the controller, which uses them until it is destroyed.
  std::unique_ptr<dr::KafkaCluster> source_, target_;
  std::unique_ptr<dr::KafkaPreserver> preserver_;
  std::unique_ptr<dr::KafkaDrillIo> drill_;
  std::unique_ptr<dr::Controller> controller_;
};

}  // namespace kmirror::daemon
