#include "lib/offsets/checkpoints.h"

#include <set>
#include <utility>

#include "lib/common/status.h"

namespace kmirror::offsets {

CheckpointEmitter::CheckpointEmitter(Io io, Translator& translator,
                                     const policy::TopicSelector& selector,
                                     const policy::NameFilter& groups, GroupOffsetSync* group_sync,
                                     OffsetsProbe* probe, Clock clock, Options options)
    : io_(io),
      translator_(translator),
      selector_(selector),
      groups_(groups),
      group_sync_(group_sync),
      probe_(probe),
      clock_(std::move(clock)),
      options_(std::move(options)) {}

CheckpointEmitter::~CheckpointEmitter() { thread_.Stop(); }

absl::Status CheckpointEmitter::Load() {
  KM_RETURN_IF_ERROR(io_.target_admin.EnsureTopic(options_.checkpoints_topic, true));
  auto records = io_.target_reader.ReadAll(options_.checkpoints_topic);
  if (!records.ok()) return records.status();
  std::lock_guard<std::mutex> lock(mu_);
  for (const KeyValue& kv : *records) {
    auto c = DecodeCheckpoint(kv.key, kv.value);
    if (!c.ok()) continue;
    last_[Key{c->group, c->topic, c->partition}] = *c;
  }
  return absl::OkStatus();
}

std::optional<std::pair<std::string, absl::StatusOr<Translation>>> CheckpointEmitter::TranslateOne(
    const CommittedOffset& c) {
  if (selector_.ShouldReplicate(c.topic)) {
    return std::make_pair(selector_.RemoteTopic(c.topic),
                          translator_.Translate({c.topic, c.partition}, SourceOffset(c.offset)));
  }
  if (!reverse_) return std::nullopt;
  const policy::ReplicationPolicy& policy = selector_.policy();
  if (policy.IsHeartbeatsTopic(c.topic) ||
      policy.TopicSource(c.topic) != selector_.target_alias()) {
    return std::nullopt;
  }
  std::optional<std::string> original = policy.UpstreamTopic(c.topic);
  // Identity naming keeps the name: no way to tell the topic came from the target.
  if (!original || *original == c.topic || !selector_.ShouldReplicate(*original)) {
    return std::nullopt;
  }
  return std::make_pair(*original, reverse_->Translate({c.topic, c.partition}, c.offset));
}

absl::StatusOr<CheckpointEmitter::PassResult> CheckpointEmitter::RunOnce() {
  if (!loaded_) {
    KM_RETURN_IF_ERROR(Load());
    loaded_ = true;
  }
  PassResult result;
  auto groups = io_.source_groups.ListGroups();
  if (!groups.ok()) return groups.status();

  std::vector<Checkpoint> to_write;
  // Per group: every current translation (for group sync), written or unchanged.
  std::map<std::string, std::vector<CommittedOffset>> translated;
  std::set<std::string> checkpointed_groups;
  int64_t checkpointed_partitions = 0;
  absl::Status first_error = absl::OkStatus();

  for (const std::string& group : *groups) {
    if (!groups_.Matches(group)) continue;
    ++result.groups;
    auto committed = io_.source_groups.Committed(group);
    if (!committed.ok()) {
      if (first_error.ok()) first_error = committed.status();
      continue;
    }
    for (const CommittedOffset& c : *committed) {
      if (c.offset < 0) continue;
      auto one = TranslateOne(c);
      if (!one) continue;
      auto& [target_topic, t] = *one;
      if (!t.ok()) {
        if (first_error.ok()) first_error = t.status();
        continue;
      }
      if (t->kind == Translation::Kind::kMiss) {
        ++result.misses;
        continue;
      }
      Checkpoint cp{group, target_topic, c.partition, c.offset, t->target.value, c.metadata};
      std::optional<Checkpoint> prev;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = last_.find(Key{cp.group, cp.topic, cp.partition});
        if (it != last_.end()) prev = it->second;
      }
      if (prev) {
        // A previous checkpoint past the target's end (the target topic was recreated or
        // truncated) would send consumers past every record: the new translation replaces it.
        const bool rewound = cp.upstream_offset < prev->upstream_offset;
        const bool past_end = t->target_end >= 0 && prev->downstream_offset > t->target_end;
        if (!rewound && cp.downstream_offset < prev->downstream_offset && !past_end) {
          // Translation went back without the group rewinding (a duplicate copy found first):
          // keep the previous checkpoint rather than move consumers back.
          cp = *prev;
        } else if (cp.upstream_offset != prev->upstream_offset ||
                   cp.downstream_offset != prev->downstream_offset ||
                   cp.metadata != prev->metadata) {
          to_write.push_back(cp);
        }
      } else {
        to_write.push_back(cp);
      }
      checkpointed_groups.insert(group);
      ++checkpointed_partitions;
      translated[group].push_back(CommittedOffset{cp.topic, cp.partition, cp.downstream_offset,
                                                  cp.metadata, t->target_end});
    }
  }

  if (!to_write.empty()) {
    std::vector<KeyValue> records;
    records.reserve(to_write.size());
    for (const Checkpoint& c : to_write) {
      records.push_back({EncodeCheckpointKey(c), EncodeCheckpointValue(c)});
    }
    KM_RETURN_IF_ERROR(io_.target_writer.Write(options_.checkpoints_topic, 0, records));
    std::lock_guard<std::mutex> lock(mu_);
    for (Checkpoint& c : to_write) last_[Key{c.group, c.topic, c.partition}] = std::move(c);
  }
  result.written = static_cast<int64_t>(to_write.size());

  if (group_sync_) {
    for (const auto& [group, offsets] : translated) {
      auto outcome = group_sync_->Sync(group, offsets);
      if (!outcome.ok()) {
        if (first_error.ok()) first_error = outcome.status();
        continue;
      }
      if (*outcome == GroupOffsetSync::Outcome::kWritten) ++result.groups_synced;
    }
  }

  if (probe_) {
    probe_->RecordCheckpointsWritten(result.written);
    probe_->RecordTranslationMisses(result.misses);
    probe_->SetCheckpointed(static_cast<int64_t>(checkpointed_groups.size()),
                            checkpointed_partitions);
  }
  if (!first_error.ok()) return first_error;
  last_pass_ms_ = clock_();
  if (probe_) probe_->SetCheckpointAge(0);
  return result;
}

void CheckpointEmitter::Start() {
  thread_.StartPasses(
      options_.interval, "checkpoints", [this] { return RunOnce().status(); },
      [this](const std::string& c) {
        if (!probe_) return;
        probe_->RecordError(c);
        if (last_pass_ms_ >= 0) {
          probe_->SetCheckpointAge(static_cast<double>(clock_() - last_pass_ms_) / 1000.0);
        }
      });
}

void CheckpointEmitter::Stop() { thread_.Stop(); }

std::optional<Checkpoint> CheckpointEmitter::Last(const std::string& group,
                                                  const std::string& topic,
                                                  int32_t partition) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = last_.find(Key{group, topic, partition});
  if (it == last_.end()) return std::nullopt;
  return it->second;
}

}  // namespace kmirror::offsets
