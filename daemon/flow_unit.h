// One direction of replication as a running unit (dr::ReplicationUnit): the flow's runner
// (lib/replication), its
// offsets machinery (lib/offsets) and its remote topic management (lib/topicsync), built from the
// configuration on librdkafka. The flow controller builds one for a flow A->B, and one for the
// reverse B->A while a failed-over flow fails back.
//
// Thread-safety: Start/Stop/Reload from one thread at a time; Status/Ready/SetPaused from any.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "daemon/flow_offsets.h"
#include "daemon/topic_sync.h"
#include "lib/config/config.h"
#include "lib/dr/seams.h"
#include "lib/replication/client_probe.h"
#include "lib/replication/flow_runner.h"

namespace prometheus {
class Registry;
}

namespace kmirror::daemon {

// Implements dr::ReplicationUnit for the control plane.
class FlowUnit final : public dr::ReplicationUnit {
 public:
  static absl::StatusOr<std::unique_ptr<FlowUnit>> Create(const config::Config& cfg,
                                                          const config::FlowConfig& f,
                                                          prometheus::Registry& registry,
                                                          dr::UnitOptions options = {});
  ~FlowUnit() override;

  // Offsets first: the heartbeat emitter creates the source's heartbeats topic right away, so the
  // first discovery usually subscribes to it too (one group join instead of two).
  void Start() override;
  // Idempotent: stops topic sync, drains the runner, then writes the last offset syncs.
  absl::Status Stop(std::chrono::milliseconds drain_timeout) override;
  // Applies new topic filters (SIGHUP). Errors leave the old filters in place.
  absl::Status Reload(const config::FlowConfig& f) override;
  void SetPaused(bool paused) override { runner_->SetPaused(paused); }
  void SetSkips(std::map<SourcePartition, int64_t> skips) override {
    runner_->SetSkips(std::move(skips));
  }
  void SetPausedGroups(const std::set<std::string>& groups) override;
  void RequestDiscovery() override { runner_->RequestDiscovery(); }
  replication::FlowStatus Status() const override { return runner_->Status(); }
  bool Ready() const override { return runner_->Ready(); }
  const config::FlowConfig& flow() const override { return flow_; }
  std::optional<int64_t> LastCheckpointMs() const override;
  std::optional<std::map<std::string, dr::Upstream>> Upstreams() const override;
  nlohmann::json FinalCheckpoints() override;
  FlowOffsets& offsets() { return *offsets_; }

 private:
  FlowUnit() = default;

  config::FlowConfig flow_;
  bool started_ = false, stopped_ = false;
  // Declaration order is destruction order reversed: the runner's clients call into the probe,
  // the topic sync (discovery creates remote topics) and the offsets (acknowledgements) until it
  // is destroyed, so it is declared last.
  std::unique_ptr<replication::ClientProbe> client_probe_;
  std::unique_ptr<FlowTopicSync> topic_sync_;
  std::unique_ptr<FlowOffsets> offsets_;
  std::unique_ptr<replication::FlowRunner> runner_;
};

// Builds FlowUnits for the controllers of one kmirrord.
class FlowUnitFactory final : public dr::UnitFactory {
 public:
  FlowUnitFactory(const config::Config& cfg, prometheus::Registry& registry)
      : cfg_(cfg), registry_(registry) {}
  absl::StatusOr<std::unique_ptr<dr::ReplicationUnit>> Create(const config::FlowConfig& f,
                                                              dr::UnitOptions options) override {
    auto unit = FlowUnit::Create(cfg_, f, registry_, std::move(options));
    if (!unit.ok()) return unit.status();
    return std::unique_ptr<dr::ReplicationUnit>(std::move(*unit));
  }

 private:
  const config::Config& cfg_;
  prometheus::Registry& registry_;
};

// The topic selection rules of a flow as discovery options (RE2 filters, naming policy).
absl::StatusOr<replication::DiscoveryOptions> DiscoveryFor(const config::FlowConfig& f);

}  // namespace kmirror::daemon
