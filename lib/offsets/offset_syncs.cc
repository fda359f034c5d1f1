#include "lib/offsets/offset_syncs.h"

#include <utility>
#include <vector>

namespace kmirror::offsets {

OffsetSyncWriter::OffsetSyncWriter(RecordWriter& writer, TopicAdmin& admin, OffsetsProbe* probe,
                                   Clock clock, Options options)
    : writer_(writer),
      admin_(admin),
      probe_(probe),
      clock_(std::move(clock)),
      options_(std::move(options)) {}

OffsetSyncWriter::~OffsetSyncWriter() { thread_.Stop(); }

void OffsetSyncWriter::EnqueueLocked(const SourcePartition& partition, State& s, int64_t now) {
  OffsetSync sync{partition.topic, partition.partition, s.prev_up, s.prev_down};
  auto it = pending_.find(partition);
  if (it != pending_.end()) {
    it->second = std::move(sync);
    ++dropped_;
    if (probe_) probe_->RecordOffsetSyncsDropped(1);
  } else if (pending_.size() >= options_.max_pending_partitions) {
    ++dropped_;
    if (probe_) probe_->RecordOffsetSyncsDropped(1);
    s.unsynced = true;  // retried by the interval rule once the queue drains
    return;
  } else {
    pending_.emplace(partition, std::move(sync));
  }
  s.last_sync_up = s.prev_up;
  s.last_sync_down = s.prev_down;
  s.last_sync_ms = now;
  s.unsynced = false;
}

void OffsetSyncWriter::OnReplicated(const SourcePartition& partition, SourceOffset source,
                                    TargetOffset target) {
  const int64_t up = source.value;
  const int64_t down = target.value;
  const int64_t now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  State& s = states_[partition];
  // An ack older than the last sync (out-of-order acknowledgement) must not make the latest sync
  // of the compacted topic go backwards.
  if (s.last_sync_up >= 0 && up <= s.last_sync_up && down <= s.last_sync_down) return;
  const bool first = s.last_sync_down < 0;
  const bool delta_changed = s.prev_up < 0 || down - up != s.prev_down - s.prev_up;
  const bool truncated = down < s.prev_down;
  const bool stale = down - s.last_sync_down >= options_.max_offset_lag;
  s.prev_up = up;
  s.prev_down = down;
  s.unsynced = true;
  if (first || delta_changed || truncated || stale) EnqueueLocked(partition, s, now);
}

absl::Status OffsetSyncWriter::Flush() { return FlushImpl(false); }

absl::Status OffsetSyncWriter::FlushImpl(bool everything) {
  std::map<SourcePartition, OffsetSync> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = clock_();
    for (auto& [partition, s] : states_) {
      if (s.unsynced && (everything || now - s.last_sync_ms >= options_.max_interval.count())) {
        EnqueueLocked(partition, s, now);
      }
    }
    batch.swap(pending_);
  }
  if (batch.empty()) return absl::OkStatus();
  absl::Status status = absl::OkStatus();
  if (!topic_ready_) {
    status = admin_.EnsureTopic(options_.topic, /*compacted=*/true);
    topic_ready_ = status.ok();
  }
  if (status.ok()) {
    std::vector<KeyValue> records;
    records.reserve(batch.size());
    for (const auto& [partition, sync] : batch) {
      records.push_back({EncodeOffsetSyncKey(sync), EncodeOffsetSyncValue(sync)});
    }
    status = writer_.Write(options_.topic, 0, records);
  }
  if (status.ok()) {
    if (probe_) probe_->RecordOffsetSyncsWritten(static_cast<int64_t>(batch.size()));
    return status;
  }
  // Put back what no newer sync replaced meanwhile.
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [partition, sync] : batch) pending_.try_emplace(partition, std::move(sync));
  if (probe_) probe_->RecordError("offset_syncs");
  return status;
}

void OffsetSyncWriter::Start() {
  thread_.StartPasses(
      options_.flush_interval, "offset_syncs", [this] { return Flush(); },
      nullptr);  // Flush() counts its own failures
}

void OffsetSyncWriter::Stop() {
  thread_.Stop();
  (void)FlushImpl(true);
}

int64_t OffsetSyncWriter::dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

absl::StatusOr<std::map<SourcePartition, OffsetSync>> ReadLatestOffsetSyncs(
    TopicReader& reader, const std::string& topic) {
  auto records = reader.ReadAll(topic);
  if (!records.ok()) return records.status();
  std::map<SourcePartition, OffsetSync> latest;
  for (const KeyValue& kv : *records) {
    auto sync = DecodeOffsetSync(kv.key, kv.value);
    if (!sync.ok()) continue;  // not ours to judge: another writer's garbage must not stop us
    latest[SourcePartition{sync->topic, sync->partition}] = *sync;
  }
  return latest;
}

}  // namespace kmirror::offsets
