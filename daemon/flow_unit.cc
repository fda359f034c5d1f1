#include "daemon/flow_unit.h"

#include <algorithm>

#include "daemon/client_properties.h"
#include "lib/common/logging.h"
#include "lib/dr/mm2_takeover.h"
#include "lib/kafka/properties.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/kafka_io.h"

namespace kmirror::daemon {

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

namespace {

// The flow as configured, not a failback's reverse flow (which copies the forward flow's settings
// under its own group): the reverse's target holds the old primary's own records, never MM2's.
bool IsConfiguredFlow(const config::Config& cfg, const config::FlowConfig& f) {
  return std::any_of(cfg.flows.begin(), cfg.flows.end(), [&](const config::FlowConfig& c) {
    return c.source == f.source && c.target == f.target && c.group_id == f.group_id;
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlowUnit>> FlowUnit::Create(const config::Config& cfg,
                                                           const config::FlowConfig& f,
                                                           prometheus::Registry& registry,
                                                           dr::UnitOptions options) {
  std::unique_ptr<FlowUnit> unit(new FlowUnit());
  unit->flow_ = f;
  const std::string client_id = cfg.daemon.instance_id + "." + f.name();
  kafka::Properties source = ToProperties(config::SourceProperties(cfg, f));
  source.Set("group.id", f.group_id);
  if (!source.Contains("client.id")) source.Set("client.id", "kmirror." + client_id);
  // Prefetched records count against the in-flight bound: half of it may wait in the consumer.
  const int64_t prefetch_kb = std::clamp<int64_t>(f.max_in_flight_bytes / 2 / 1024, 1024, 2097151);
  if (!source.Contains("queued.max.messages.kbytes")) {
    source.Set("queued.max.messages.kbytes", std::to_string(prefetch_kb));
  }
  // The byte bound above is the one that matters: librdkafka's count bound (100,000 records
  // over all partitions by default) stops a replicator's prefetch long before it, and fetching
  // then resumes only after the queue has drained (docs/benchmarks.md, notes).
  if (!source.Contains("queued.min.messages")) source.Set("queued.min.messages", "10000000");
  if (!source.Contains("fetch.max.bytes")) {
    source.Set("fetch.max.bytes", std::to_string(std::min<int64_t>(52428800, prefetch_kb * 1024)));
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
  unit->client_probe_ = std::make_unique<replication::ClientProbe>(registry, f.name());
  auto src = replication::KafkaSource::Create(source, unit->client_probe_->For("source"));
  if (!src.ok()) return src.status();
  auto sink = replication::KafkaSink::Create(target, unit->client_probe_->For("target"));
  if (!sink.ok()) return sink.status();
  // Offset syncs, translation, checkpoints, group offset sync, heartbeats (lib/offsets).
  auto flow_offsets = FlowOffsets::Create(cfg, f, registry);
  if (!flow_offsets.ok()) return flow_offsets.status();
  unit->offsets_ = std::move(*flow_offsets);
  FlowOffsets* offsets = unit->offsets_.get();
  // Where a partition resumes: the target's tail (provenance headers), else the offset syncs.
  std::unique_ptr<replication::TargetTail> tail;
  if (f.provenance) {
    auto kafka_tail = replication::KafkaTargetTail::Create(tail_props);
    if (!kafka_tail.ok()) return kafka_tail.status();
    tail = std::move(*kafka_tail);
  } else {
    tail = offsets->ProgressStore();
  }
  auto discovery = DiscoveryFor(f);
  if (!discovery.ok()) return discovery.status();
  // Remote topic creation, growth, config and ACL sync (lib/topicsync).
  auto topic_sync = FlowTopicSync::Create(cfg, f, &registry);
  if (!topic_sync.ok()) return topic_sync.status();
  unit->topic_sync_ = std::move(*topic_sync);

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
  o.resolve_in_background = true;
  o.on_replicated = [offsets](const SourcePartition& p, SourceOffset s, TargetOffset t) {
    offsets->OnReplicated(p, s, t);
  };
  o.on_position = [offsets](const SourcePartition& p, SourceOffset next) {
    offsets->OnSourcePosition(p, next);
  };
  o.on_target_reset = [offsets](const SourcePartition& p) { offsets->OnTargetReset(p); };
  o.start_floor = std::move(options.start_floor);
  if (f.mm2_takeover && IsConfiguredFlow(cfg, f)) {
    // Where MirrorMaker 2 stopped, for partitions it copied (lib/dr/mm2_takeover.h).
    auto selector = SelectorFor(f);
    if (!selector.ok()) return selector.status();
    dr::Mm2Takeover::Setup setup;
    setup.flow = f.name();
    setup.source_alias = f.source;
    setup.source_syncs_topic = (*selector)->policy().OffsetSyncsTopic(f.target);
    setup.target_syncs_topic = (*selector)->policy().OffsetSyncsTopic(f.source);
    setup.source = ToProperties(config::SourceProperties(cfg, f));
    setup.target = ToProperties(config::TargetProperties(cfg, f));
    setup.remote_topic = discovery->remote_topic;
    auto takeover = dr::Mm2Takeover::Create(std::move(setup));
    if (!takeover.ok()) return takeover.status();
    std::shared_ptr<dr::Mm2Takeover> mm2 = std::move(*takeover);
    o.start_floor = [mm2, floor = std::move(o.start_floor)](
                        const SourcePartition& p) -> absl::StatusOr<std::optional<int64_t>> {
      absl::StatusOr<std::optional<int64_t>> a = std::optional<int64_t>();
      if (floor) a = floor(p);
      if (!a.ok()) return a;
      absl::StatusOr<std::optional<int64_t>> b = mm2->StartAfterMm2(p);
      if (!b.ok()) return b;
      if (*a && *b) return std::max(**a, **b);
      return *a ? *a : *b;
    };
  }
  auto probe = std::make_unique<replication::FlowProbe>(registry, f.name());
  unit->runner_ = std::make_unique<replication::FlowRunner>(
      std::move(*src), std::move(*sink), std::move(tail), unit->topic_sync_->DiscoveryAdmin(),
      std::move(probe), std::move(o), std::move(*discovery), Millis(f.topic_refresh_interval));
  unit->runner_->SetPaused(options.paused);
  return unit;
}

FlowUnit::~FlowUnit() { (void)Stop(std::chrono::milliseconds(0)); }

void FlowUnit::Start() {
  if (started_) return;
  started_ = true;
  offsets_->Start();
  runner_->Start();
  topic_sync_->syncer().Start();
}

absl::Status FlowUnit::Stop(std::chrono::milliseconds drain_timeout) {
  if (stopped_) return absl::OkStatus();
  stopped_ = true;
  topic_sync_->syncer().Stop();
  absl::Status drained = runner_->Stop(drain_timeout);
  // After the drain: the last acknowledgements become the last offset syncs.
  offsets_->Stop();
  return drained;
}

void FlowUnit::SetPausedGroups(const std::set<std::string>& groups) {
  auto* gs = offsets_->group_sync();
  if (gs == nullptr) return;
  for (const std::string& g : gs->Paused()) {
    if (!groups.count(g)) gs->Resume(g);
  }
  for (const std::string& g : groups) gs->Pause(g);
}

std::optional<int64_t> FlowUnit::LastCheckpointMs() const {
  auto* cp = offsets_->checkpoints();
  if (cp == nullptr) return std::nullopt;
  return cp->last_pass_ms();
}

std::optional<std::map<std::string, dr::Upstream>> FlowUnit::Upstreams() const {
  auto* obs = offsets_->heartbeats();
  if (obs == nullptr) return std::nullopt;
  std::map<std::string, dr::Upstream> out;
  for (const auto& [alias, u] : obs->Upstreams()) out[alias] = {u.hops, u.age_ms, u.latency_ms};
  return out;
}

nlohmann::json FlowUnit::FinalCheckpoints() {
  auto* cp = offsets_->checkpoints();
  if (cp == nullptr) return {{"error", "checkpoints are off for this flow (emit_checkpoints)"}};
  cp->EnableGroupSync(offsets_->group_sync());  // the emitter's thread has stopped
  auto pass = cp->RunOnce();
  if (!pass.ok()) return {{"error", std::string(pass.status().message())}};
  return {{"groups", pass->groups},
          {"written", pass->written},
          {"groups_synced", pass->groups_synced},
          {"misses", pass->misses}};
}

absl::Status FlowUnit::Reload(const config::FlowConfig& f) {
  auto discovery = DiscoveryFor(f);
  if (!discovery.ok()) return discovery.status();
  runner_->UpdateDiscovery(std::move(*discovery));
  (void)topic_sync_->Reload(f);  // same filters, already checked
  return absl::OkStatus();
}

}  // namespace kmirror::daemon
