#include "daemon/flow_offsets.h"

#include "daemon/client_properties.h"
#include "daemon/sync_progress.h"
#include "daemon/topic_sync.h"
#include "lib/common/status.h"
#include "lib/replication/provenance.h"

namespace kmirror::daemon {
absl::StatusOr<std::unique_ptr<FlowOffsets>> FlowOffsets::Create(const config::Config& cfg,
                                                                 const config::FlowConfig& f,
                                                                 prometheus::Registry& registry) {
  std::unique_ptr<FlowOffsets> o(new FlowOffsets());
  o->flow_ = f.name();
  KM_ASSIGN_OR_RETURN(o->selector_, SelectorFor(f));
  auto groups = policy::NameFilter::Create(f.groups, f.groups_exclude);
  if (!groups.ok()) return groups.status();
  o->groups_ = std::make_unique<policy::NameFilter>(std::move(*groups));
  o->probe_ = std::make_unique<offsets::OffsetsProbe>(registry, f.name());
  const policy::ReplicationPolicy& naming = o->selector_->policy();
  auto props = [&](bool source_side, const std::string& role) {
    return FlowClient(cfg, f, source_side, role);
  };
  auto reader_props = [&](bool source_side, const std::string& role) {
    kafka::Properties p = props(source_side, role);
    p.Set("group.id", "kmirror." + role + "." + f.name());  // never joined: readers assign
    return p;
  };

  KM_ASSIGN_OR_RETURN(o->source_admin_, kafka::AdminClient::Create(props(true, "offsets-admin")));
  KM_ASSIGN_OR_RETURN(o->target_admin_, kafka::AdminClient::Create(props(false, "offsets-admin")));
  const kafka::InternalTopicSettings internal{cfg.daemon.internal_replication_factor,
                                              cfg.daemon.internal_min_insync_replicas};
  o->source_topics_ = std::make_unique<offsets::KafkaTopicAdmin>(*o->source_admin_, internal);
  o->target_topics_ = std::make_unique<offsets::KafkaTopicAdmin>(*o->target_admin_, internal);
  o->source_groups_ = std::make_unique<offsets::KafkaGroupAdmin>(*o->source_admin_);
  o->target_groups_ = std::make_unique<offsets::KafkaGroupAdmin>(*o->target_admin_);

  // Offset syncs: MM2 names the topic after the other cluster of the flow.
  const bool syncs_on_target = f.offset_syncs_location == config::OffsetSyncsLocation::kTarget;
  o->syncs_on_target_ = syncs_on_target;
  o->syncs_topic_ = naming.OffsetSyncsTopic(syncs_on_target ? f.source : f.target);
  KM_ASSIGN_OR_RETURN(o->sync_writer_io_,
                      offsets::KafkaRecordWriter::Create(props(!syncs_on_target, "offset-syncs")));
  KM_ASSIGN_OR_RETURN(o->progress_reader_, offsets::KafkaTopicReader::Create(reader_props(
                                               !syncs_on_target, "offset-syncs-reader")));
  offsets::OffsetSyncWriter::Options sync_options;
  sync_options.topic = o->syncs_topic_;
  o->sync_writer_ = std::make_unique<offsets::OffsetSyncWriter>(
      *o->sync_writer_io_, syncs_on_target ? *o->target_topics_ : *o->source_topics_,
      o->probe_.get(), offsets::SystemClock(), sync_options);

  // Exact translation over the remote partitions' provenance headers.
  offsets::KafkaTargetIndex::Options index_options;
  index_options.source_alias = f.source;
  index_options.header = std::string(replication::kProvenanceHeader);
  index_options.decode = ProvenanceIndexDecoder();
  KM_ASSIGN_OR_RETURN(o->index_, offsets::KafkaTargetIndex::Create(
                                     reader_props(false, "offsets-index"), index_options));
  auto selector = o->selector_;
  o->translator_ = std::make_unique<offsets::Translator>(
      *o->index_, [selector](std::string_view t) { return selector->RemoteTopic(t); });
  o->fanout_ = std::make_unique<offsets::AckFanout>(
      std::vector<offsets::AckObserver*>{o->translator_.get(), o->sync_writer_.get()});

  // Always built: a planned failover syncs group offsets into the target even when periodic
  // sync (sync_group_offsets) is off.
  o->group_sync_ = std::make_unique<offsets::GroupOffsetSync>(*o->target_groups_, o->probe_.get());
  if (f.emit_checkpoints) {
    KM_ASSIGN_OR_RETURN(o->checkpoint_writer_io_,
                        offsets::KafkaRecordWriter::Create(props(false, "checkpoints")));
    KM_ASSIGN_OR_RETURN(o->checkpoint_reader_, offsets::KafkaTopicReader::Create(
                                                   reader_props(false, "checkpoints-reader")));
    offsets::CheckpointEmitter::Options cp;
    cp.checkpoints_topic = naming.CheckpointsTopic(f.source);
    cp.interval = Millis(f.checkpoint_interval);
    o->checkpoints_ = std::make_unique<offsets::CheckpointEmitter>(
        offsets::CheckpointEmitter::Io{*o->source_groups_, *o->checkpoint_writer_io_,
                                       *o->checkpoint_reader_, *o->target_topics_},
        *o->translator_, *o->selector_, *o->groups_,
        f.sync_group_offsets ? o->group_sync_.get() : nullptr, o->probe_.get(),
        offsets::SystemClock(), cp);
    // Failback: offsets committed on the source to remote topics that came from the target
    // (`A.orders` on B for the flow B->A) are translated back through their provenance headers.
    offsets::KafkaTargetIndex::Options reverse_options = index_options;
    reverse_options.source_alias = f.target;
    KM_ASSIGN_OR_RETURN(o->reverse_index_,
                        offsets::KafkaTargetIndex::Create(
                            reader_props(true, "offsets-reverse-index"), reverse_options));
    o->reverse_ = std::make_unique<offsets::ReverseTranslator>(*o->reverse_index_);
    o->checkpoints_->SetReverseTranslator(o->reverse_.get());
  }
  if (f.emit_heartbeats) {
    KM_ASSIGN_OR_RETURN(o->heartbeat_writer_io_,
                        offsets::KafkaRecordWriter::Create(props(true, "heartbeats")));
    offsets::HeartbeatEmitter::Options hb;
    hb.source_alias = f.source;
    hb.target_alias = f.target;
    hb.topic = naming.HeartbeatsTopic();
    hb.interval = Millis(f.heartbeat_interval);
    o->heartbeat_ = std::make_unique<offsets::HeartbeatEmitter>(
        *o->heartbeat_writer_io_, *o->source_topics_, o->probe_.get(), offsets::SystemClock(), hb);
  }
  KM_ASSIGN_OR_RETURN(o->heartbeat_reader_,
                      offsets::KafkaTopicReader::Create(reader_props(false, "heartbeats-reader")));
  offsets::HeartbeatObserver::Options obs;
  obs.interval = Millis(f.heartbeat_interval);
  o->observer_ = std::make_unique<offsets::HeartbeatObserver>(
      *o->heartbeat_reader_, *o->target_topics_, naming, o->probe_.get(), offsets::SystemClock(),
      obs);
  return o;
}

FlowOffsets::~FlowOffsets() { Stop(); }

std::unique_ptr<replication::TargetTail> FlowOffsets::ProgressStore() {
  auto selector = selector_;
  return std::make_unique<OffsetSyncProgress>(
      progress_reader_.get(), syncs_on_target_ ? target_topics_.get() : source_topics_.get(),
      syncs_topic_, [selector](const std::string& t) { return selector->RemoteTopic(t); });
}

void FlowOffsets::Start() {
  sync_writer_->Start();
  if (checkpoints_) checkpoints_->Start();
  if (heartbeat_) heartbeat_->Start();
  observer_->Start();
}

void FlowOffsets::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (heartbeat_) heartbeat_->Stop();
  observer_->Stop();
  if (checkpoints_) checkpoints_->Stop();
  sync_writer_->Stop();
}

}  // namespace kmirror::daemon
