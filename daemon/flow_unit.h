// One direction of replication as a running unit: the flow's runner (lib/replication), its
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
#include "lib/replication/client_probe.h"
#include "lib/replication/flow_runner.h"

namespace prometheus {
class Registry;
}

namespace kmirror::daemon {

struct FlowUnitOptions {
  // See replication::FlowOptions::start_floor.
  std::function<absl::StatusOr<std::optional<int64_t>>(const SourcePartition&)> start_floor;
  bool paused = false;  // start with fetching paused
};

class FlowUnit {
 public:
  static absl::StatusOr<std::unique_ptr<FlowUnit>> Create(const config::Config& cfg,
                                                          const config::FlowConfig& f,
                                                          prometheus::Registry& registry,
                                                          FlowUnitOptions options = {});
  ~FlowUnit();

  // Offsets first: the heartbeat emitter creates the source's heartbeats topic right away, so the
  // first discovery usually subscribes to it too (one group join instead of two).
  void Start();
  // Idempotent: stops topic sync, drains the runner, then writes the last offset syncs.
  absl::Status Stop(std::chrono::milliseconds drain_timeout);
  // Applies new topic filters (SIGHUP). Errors leave the old filters in place.
  absl::Status Reload(const config::FlowConfig& f);
  void SetPaused(bool paused) { runner_->SetPaused(paused); }
  void SetSkips(std::map<SourcePartition, int64_t> skips) { runner_->SetSkips(std::move(skips)); }
  void RequestDiscovery() { runner_->RequestDiscovery(); }
  replication::FlowStatus Status() const { return runner_->Status(); }
  bool Ready() const { return runner_->Ready(); }
  FlowOffsets& offsets() { return *offsets_; }
  const config::FlowConfig& flow() const { return flow_; }

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

// The topic selection rules of a flow as discovery options (RE2 filters, naming policy).
absl::StatusOr<replication::DiscoveryOptions> DiscoveryFor(const config::FlowConfig& f);

}  // namespace kmirror::daemon
