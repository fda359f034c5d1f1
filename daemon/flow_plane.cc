#include "daemon/flow_plane.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include "daemon/client_properties.h"

namespace kmirror::daemon {

absl::StatusOr<std::unique_ptr<FlowPlane>> FlowPlane::Create(
    const config::Config& cfg, const config::FlowConfig& f, prometheus::Registry& registry,
    dr::StateStore& store, dr::UnitFactory& units, dr::Controller::Options options) {
  std::unique_ptr<FlowPlane> plane(new FlowPlane());
  const kafka::Properties source = ToProperties(config::SourceProperties(cfg, f));
  const kafka::Properties target = ToProperties(config::TargetProperties(cfg, f));
  auto src = dr::KafkaCluster::Create(source, "kmirror.control." + f.name());
  if (!src.ok()) return src.status();
  plane->source_ = std::move(*src);
  auto dst = dr::KafkaCluster::Create(target, "kmirror.control." + f.name());
  if (!dst.ok()) return dst.status();
  plane->target_ = std::move(*dst);
  plane->preserver_ = std::make_unique<dr::KafkaPreserver>(source);
  plane->drill_ = std::make_unique<dr::KafkaDrillIo>(
      dr::KafkaDrillIo::Setup{f.name(), f.source, source, target});

  auto& family = prometheus::BuildGauge()
                     .Name("kmirror_flow_phase")
                     .Help(
                         "1 for the flow's current control phase (running, paused, failed_over, "
                         "failing_back, unknown before its state is loaded)")
                     .Register(registry);
  dr::ControllerDeps deps;
  deps.clock = &dr::SystemClock();
  deps.store = &store;
  deps.units = &units;
  deps.source = plane->source_.get();
  deps.target = plane->target_.get();
  deps.preserver = plane->preserver_.get();
  deps.drill = plane->drill_.get();
  deps.on_phase = [&family, flow = f.name()](std::optional<dr::Phase> phase) {
    for (dr::Phase p : {dr::Phase::kRunning, dr::Phase::kPaused, dr::Phase::kFailedOver,
                        dr::Phase::kFailingBack}) {
      family.Add({{"flow", flow}, {"phase", dr::PhaseName(p)}}).Set(phase == p ? 1 : 0);
    }
    family.Add({{"flow", flow}, {"phase", "unknown"}}).Set(phase ? 0 : 1);
  };
  auto controller = dr::Controller::Create(cfg, f, std::move(deps), options);
  if (!controller.ok()) return controller.status();
  plane->controller_ = std::move(*controller);
  return plane;
}

}  // namespace kmirror::daemon
