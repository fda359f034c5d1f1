#include "daemon/service.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/time/time.h"
#include "daemon/client_properties.h"
#include "daemon/control_api.h"
#include "lib/common/logging.h"
#include "lib/kafka/properties.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/kafka_io.h"

namespace kmirror::daemon {
namespace {

config::LoadOptions Options() {
  config::LoadOptions o;
  o.validate_client_property = [](const std::string& key,
                                  const std::string& value) -> std::optional<std::string> {
    kafka::Properties p;
    p.Set(key, value);
    absl::Status s = kafka::ValidateProperties(p);
    if (s.ok()) return std::nullopt;
    return std::string(s.message());
  };
  return o;
}

}  // namespace

absl::StatusOr<config::Config> LoadConfig(const std::string& path, config::ConfigErrors* errors) {
  return config::LoadConfigFile(path, Options(), errors);
}

absl::StatusOr<config::Config> ParseConfigText(const std::string& text,
                                               config::ConfigErrors* errors) {
  return config::ParseConfig(text, Options(), errors);
}

absl::StatusOr<std::unique_ptr<Service>> Service::Create(config::Config config) {
  std::unique_ptr<Service> svc(new Service(std::move(config)));
  svc->registry_ = std::make_shared<prometheus::Registry>();
  const config::Config& cfg = svc->config_;
  auto log = common::Logger("kmirrord");
  svc->units_ = std::make_unique<FlowUnitFactory>(cfg, *svc->registry_);
  for (const config::FlowConfig& f : cfg.flows) {
    if (!f.enabled) {
      log->info("msg=\"flow disabled in configuration\" flow={}", f.name());
      continue;
    }
    // The flow's control state lives on its target cluster (lib/dr/state.h).
    auto& store = svc->stores_[f.target];
    if (!store) {
      kafka::Properties props = ToProperties(config::TargetProperties(cfg, f));
      props.Set("client.id", "kmirror." + cfg.daemon.instance_id + ".state." + f.target);
      auto created = dr::KafkaStateStore::Create(
          props, {cfg.daemon.internal_replication_factor, cfg.daemon.internal_min_insync_replicas});
      if (!created.ok()) return created.status();
      store = std::move(*created);
    }
    dr::Controller::Options o;
    o.drain_timeout = Millis(cfg.daemon.drain_timeout);
    auto plane = FlowPlane::Create(cfg, f, *svc->registry_, *store, *svc->units_, o);
    if (!plane.ok()) return plane.status();
    svc->controllers_.push_back(&(*plane)->controller());
    svc->planes_.push_back(std::move(*plane));
  }
  if (cfg.metrics.enabled()) {
    try {
      svc->exposer_ = std::make_unique<prometheus::Exposer>(cfg.metrics.listen, 2);
      svc->exposer_->RegisterCollectable(svc->registry_);
      auto ports = svc->exposer_->GetListeningPorts();
      svc->metrics_port_ = ports.empty() ? 0 : static_cast<uint16_t>(ports.front());
    } catch (const std::exception& e) {
      return absl::UnavailableError("metrics.listen " + cfg.metrics.listen +
                                    ": cannot serve metrics: " + e.what());
    }
  }
  return svc;
}

Service::~Service() { (void)Stop(std::chrono::milliseconds(0)); }

absl::Status Service::Start() {
  const config::ControlConfig& c = config_.control;
  if (!c.socket.empty() || !c.tcp_listen.empty()) {
    control::ServerOptions o;
    o.socket_path = c.socket;
    o.socket_group = c.socket_group;
    o.tcp_listen = c.tcp_listen;
    if (!c.token_file.empty()) {
      std::ifstream in(c.token_file);
      std::stringstream token;
      token << in.rdbuf();
      o.token = std::string(absl::StripAsciiWhitespace(token.str()));
      if (!in || o.token.empty()) {
        return absl::FailedPreconditionError("control.token_file " + c.token_file +
                                             ": cannot read a token from it");
      }
    }
    auto server =
        control::Server::Start(o, ControlRoutes(config_.daemon.instance_id, controllers_));
    if (!server.ok()) {
      return absl::Status(server.status().code(),
                          "control API: " + std::string(server.status().message()));
    }
    control_ = std::move(*server);
  }
  for (auto& fc : controllers_) fc->Start();
  common::Logger("kmirrord")
      ->info("msg=\"started\" flows={} metrics_port={} control_socket=\"{}\" control_port={}",
             controllers_.size(), metrics_port_, control_socket(), control_port());
  return absl::OkStatus();
}

absl::Status Service::Stop(std::chrono::milliseconds drain_timeout) {
  if (control_) control_->Stop();
  absl::Status result;
  for (auto& fc : controllers_) {
    absl::Status s = fc->Stop(drain_timeout);
    if (!s.ok()) {
      common::Logger("kmirrord")
          ->warn("msg=\"drain incomplete\" flow={} error=\"{}\"", fc->name(), s.message());
      result.Update(s);
    }
  }
  return result;
}

void Service::Reload(const config::Config& next) {
  auto log = common::Logger("kmirrord");
  for (const config::FlowConfig& f : next.flows) {
    auto it = std::find_if(controllers_.begin(), controllers_.end(),
                           [&f](const auto& fc) { return fc->name() == f.name(); });
    if (it == controllers_.end()) {
      log->warn("msg=\"reload: new or re-enabled flows need a restart\" flow={}", f.name());
      continue;
    }
    (*it)->Reload(f);
  }
}

std::vector<replication::FlowStatus> Service::Status() const {
  std::vector<replication::FlowStatus> out;
  for (const auto& fc : controllers_) {
    for (auto& st : fc->UnitStatus()) out.push_back(std::move(st));
  }
  return out;
}

bool Service::Ready() const {
  for (const auto& fc : controllers_) {
    if (!fc->Ready()) return false;
  }
  return true;
}

std::string Service::control_socket() const {
  return control_ ? control_->socket_path() : std::string();
}

uint16_t Service::control_port() const { return control_ ? control_->tcp_port() : 0; }

}  // namespace kmirror::daemon
