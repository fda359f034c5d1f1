#include "daemon/service.h"

#include <algorithm>

#include "absl/time/time.h"
#include "daemon/client_properties.h"
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

absl::StatusOr<replication::DiscoveryOptions> DiscoveryFor(const config::FlowConfig& f) {
  auto found = SelectorFor(f);
  if (!found.ok()) return found.status();
  std::shared_ptr<policy::TopicSelector> selector = *found;
  replication::DiscoveryOptions d;
  d.flow = f.name();
  d.should_replicate = [selector](const std::string& t) { return selector->ShouldReplicate(t); };
  d.remote_topic = [selector](const std::string& t) { return selector->RemoteTopic(t); };
  d.replication_factor = f.replication_factor;
  return d;
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
  for (const config::FlowConfig& f : cfg.flows) {
    if (!f.enabled) {
      log->info("msg=\"flow disabled in configuration\" flow={}", f.name());
      continue;
    }
    const std::string client_id = cfg.daemon.instance_id + "." + f.name();
    kafka::Properties source = ToProperties(config::SourceProperties(cfg, f));
    source.Set("group.id", f.group_id);
    if (!source.Contains("client.id")) source.Set("client.id", "kmirror." + client_id);
    // Prefetched records count against the in-flight bound: half of it may wait in the consumer.
    const int64_t prefetch_kb =
        std::clamp<int64_t>(f.max_in_flight_bytes / 2 / 1024, 1024, 2097151);
    if (!source.Contains("queued.max.messages.kbytes")) {
      source.Set("queued.max.messages.kbytes", std::to_string(prefetch_kb));
    }
    if (!source.Contains("fetch.max.bytes")) {
      source.Set("fetch.max.bytes",
                 std::to_string(std::min<int64_t>(52428800, prefetch_kb * 1024)));
    }
    kafka::Properties target = ToProperties(config::TargetProperties(cfg, f));
    if (!target.Contains("client.id")) target.Set("client.id", "kmirror." + client_id);
    kafka::Properties tail_props = ToProperties(config::TargetProperties(cfg, f));
    tail_props.Set("group.id", "kmirror.tail." + f.name());
    tail_props.Set("client.id", "kmirror.tail." + client_id);

    // The consumer sees partitions added to a topic at its next metadata refresh (5 minutes by
    // default): refresh as often as discovery looks for new topics.
    if (!source.Contains("topic.metadata.refresh.interval.ms")) {
      source.Set("topic.metadata.refresh.interval.ms",
                 std::to_string(Millis(f.topic_refresh_interval).count()));
    }
    // librdkafka's statistics feed the kmirror_client_* metrics (docs/metrics.md).
    for (kafka::Properties* p : {&source, &target}) {
      if (!p->Contains("statistics.interval.ms")) p->Set("statistics.interval.ms", "5000");
    }
    auto client_probe = std::make_unique<replication::ClientProbe>(*svc->registry_, f.name());
    auto src = replication::KafkaSource::Create(source, client_probe->For("source"));
    if (!src.ok()) return src.status();
    auto sink = replication::KafkaSink::Create(target, client_probe->For("target"));
    svc->client_probes_.push_back(std::move(client_probe));
    if (!sink.ok()) return sink.status();
    // Offset syncs, translation, checkpoints, group offset sync, heartbeats (lib/offsets).
    auto flow_offsets = FlowOffsets::Create(cfg, f, *svc->registry_);
    if (!flow_offsets.ok()) return flow_offsets.status();
    FlowOffsets* offsets = flow_offsets->get();
    // Where a partition resumes: the target's tail (provenance headers), else the offset syncs.
    std::unique_ptr<replication::TargetTail> tail;
    if (f.provenance) {
      auto kafka_tail = replication::KafkaTargetTail::Create(tail_props);
      if (!kafka_tail.ok()) return kafka_tail.status();
      tail = std::move(*kafka_tail);
    } else {
      tail = offsets->ProgressStore();
    }
    svc->offsets_.push_back(std::move(*flow_offsets));
    auto discovery = DiscoveryFor(f);
    if (!discovery.ok()) return discovery.status();
    // Remote topic creation, growth, config and ACL sync (lib/topicsync).
    auto topic_sync = FlowTopicSync::Create(cfg, f, svc->registry_.get());
    if (!topic_sync.ok()) return topic_sync.status();
    auto discovery_admin = (*topic_sync)->DiscoveryAdmin();
    svc->topic_syncs_.push_back(std::move(*topic_sync));

    replication::FlowOptions o;
    o.name = f.name();
    o.source_alias = f.source;
    o.target_alias = f.target;
    o.remote_topic = discovery->remote_topic;
    o.provenance = f.provenance;
    o.start_from = f.start_from == config::StartFrom::kEarliest ? replication::StartFrom::kEarliest
                                                                : replication::StartFrom::kLatest;
    o.on_retention_loss = f.on_retention_loss == config::RetentionLossPolicy::kContinue
                              ? replication::OnRetentionLoss::kContinue
                              : replication::OnRetentionLoss::kStop;
    o.max_in_flight_bytes = static_cast<size_t>(f.max_in_flight_bytes);
    o.on_replicated = [offsets](const SourcePartition& p, SourceOffset s, TargetOffset t) {
      offsets->OnReplicated(p, s, t);
    };
    o.on_position = [offsets](const SourcePartition& p, SourceOffset next) {
      offsets->OnSourcePosition(p, next);
    };
    auto probe = std::make_unique<replication::FlowProbe>(*svc->registry_, f.name());
    svc->runners_.push_back(std::make_unique<replication::FlowRunner>(
        std::move(*src), std::move(*sink), std::move(tail), std::move(discovery_admin),
        std::move(probe), std::move(o), std::move(*discovery), Millis(f.topic_refresh_interval)));
    svc->flow_names_.push_back(f.name());
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
  // Offsets first: the heartbeat emitter creates the source's heartbeats topic right away, so the
  // flows' first discovery usually subscribes to it too (one group join instead of two).
  for (auto& o : offsets_) o->Start();
  for (auto& r : runners_) r->Start();
  for (auto& t : topic_syncs_) t->syncer().Start();
  common::Logger("kmirrord")
      ->info("msg=\"started\" flows={} metrics_port={}", runners_.size(), metrics_port_);
  return absl::OkStatus();
}

absl::Status Service::Stop(std::chrono::milliseconds drain_timeout) {
  absl::Status result;
  for (auto& t : topic_syncs_) t->syncer().Stop();
  for (size_t i = 0; i < runners_.size(); ++i) {
    absl::Status s = runners_[i]->Stop(drain_timeout);
    if (!s.ok()) {
      common::Logger("kmirrord")
          ->warn("msg=\"drain incomplete\" flow={} error=\"{}\"", flow_names_[i], s.message());
      result.Update(s);
    }
  }
  // After the drain: the last acknowledgements become the last offset syncs.
  for (auto& o : offsets_) o->Stop();
  return result;
}

void Service::Reload(const config::Config& next) {
  auto log = common::Logger("kmirrord");
  for (const config::FlowConfig& f : next.flows) {
    auto it = std::find(flow_names_.begin(), flow_names_.end(), f.name());
    if (it == flow_names_.end()) {
      log->warn("msg=\"reload: new or re-enabled flows need a restart\" flow={}", f.name());
      continue;
    }
    auto discovery = DiscoveryFor(f);
    if (!discovery.ok()) {
      log->error("msg=\"reload: flow keeps its old filters\" flow={} error=\"{}\"", f.name(),
                 discovery.status().message());
      continue;
    }
    runners_[it - flow_names_.begin()]->UpdateDiscovery(std::move(*discovery));
    (void)topic_syncs_[it - flow_names_.begin()]->Reload(f);  // same filters, already checked
    log->info("msg=\"reload: topic filters applied\" flow={}", f.name());
  }
}

std::vector<replication::FlowStatus> Service::Status() const {
  std::vector<replication::FlowStatus> out;
  for (const auto& r : runners_) out.push_back(r->Status());
  return out;
}

bool Service::Ready() const {
  for (const auto& r : runners_) {
    if (!r->Ready()) return false;
  }
  return true;
}

}  // namespace kmirror::daemon
