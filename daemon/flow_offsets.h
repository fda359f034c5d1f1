// Wiring of lib/offsets into kmirrord for one flow: the offset-sync writer and the translator fed
// by the flow's acknowledgements, the checkpoint emitter (with group offset sync), the heartbeat
// emitter on the source and the heartbeat observer on the target, and, when provenance headers
// are off, the progress store that resumes the flow from its offset syncs.
//
// Thread-safety: OnReplicated/OnSourcePosition from the flow's worker thread; Start/Stop from the
// main thread; each emitter runs on its own thread (lib/offsets).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/config/config.h"
#include "lib/dr/kafka_io.h"
#include "lib/kafka/admin.h"
#include "lib/offsets/checkpoints.h"
#include "lib/offsets/group_sync.h"
#include "lib/offsets/heartbeat.h"
#include "lib/offsets/kafka_io.h"
#include "lib/offsets/offset_syncs.h"
#include "lib/offsets/probe.h"
#include "lib/offsets/translator.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/io.h"

namespace prometheus {
class Registry;
}

namespace kmirror::daemon {

using dr::ProvenanceIndexDecoder;  // kmirror's provenance header for lib/offsets' index

class FlowOffsets {
 public:
  static absl::StatusOr<std::unique_ptr<FlowOffsets>> Create(const config::Config& cfg,
                                                             const config::FlowConfig& f,
                                                             prometheus::Registry& registry);
  ~FlowOffsets();

  // The flow's acknowledgement hooks (FlowOptions::on_replicated / on_position).
  void OnReplicated(const SourcePartition& p, SourceOffset source, TargetOffset target) {
    fanout_->OnReplicated(p, source, target);
  }
  void OnSourcePosition(const SourcePartition& p, SourceOffset next) {
    fanout_->OnSourcePosition(p, next);
  }
  void OnTargetReset(const SourcePartition& p) { fanout_->OnTargetReset(p); }
  // Where the flow resumes when provenance headers are off (its latest offset syncs). Call once.
  std::unique_ptr<replication::TargetTail> ProgressStore();

  void Start();
  // Idempotent. Writes the last offset syncs before returning.
  void Stop();

  offsets::CheckpointEmitter* checkpoints() { return checkpoints_.get(); }
  // Group offset sync into the target; periodic only with sync_group_offsets, always available
  // for a final pass (failover, switch back).
  offsets::GroupOffsetSync* group_sync() { return group_sync_.get(); }
  offsets::HeartbeatObserver* heartbeats() { return observer_.get(); }
  offsets::Translator& translator() { return *translator_; }

 private:
  FlowOffsets() = default;

  std::string flow_;
  std::shared_ptr<policy::TopicSelector> selector_;
  std::unique_ptr<policy::NameFilter> groups_;
  std::unique_ptr<offsets::OffsetsProbe> probe_;
  std::unique_ptr<kafka::AdminClient> source_admin_, target_admin_;
  std::unique_ptr<offsets::KafkaTopicAdmin> source_topics_, target_topics_;
  std::unique_ptr<offsets::KafkaGroupAdmin> source_groups_, target_groups_;
  // One client per user: readers and writers are not thread-safe and each emitter has a thread.
  std::unique_ptr<offsets::KafkaRecordWriter> sync_writer_io_, checkpoint_writer_io_,
      heartbeat_writer_io_;
  std::unique_ptr<offsets::KafkaTopicReader> checkpoint_reader_, heartbeat_reader_,
      progress_reader_;
  std::unique_ptr<offsets::KafkaTargetIndex> index_;
  std::unique_ptr<offsets::Translator> translator_;
  std::unique_ptr<offsets::KafkaTargetIndex> reverse_index_;  // reads the source cluster
  std::unique_ptr<offsets::ReverseTranslator> reverse_;
  std::unique_ptr<offsets::OffsetSyncWriter> sync_writer_;
  std::unique_ptr<offsets::GroupOffsetSync> group_sync_;
  std::unique_ptr<offsets::CheckpointEmitter> checkpoints_;
  std::unique_ptr<offsets::HeartbeatEmitter> heartbeat_;
  std::unique_ptr<offsets::HeartbeatObserver> observer_;
  std::unique_ptr<offsets::AckFanout> fanout_;
  std::string syncs_topic_;
  bool syncs_on_target_ = true;
  bool stopped_ = false;
};

}  // namespace kmirror::daemon
