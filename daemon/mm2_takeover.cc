#include "daemon/mm2_takeover.h"

#include <chrono>

#include "daemon/client_properties.h"
#include "daemon/record_reader.h"
#include "daemon/topic_sync.h"
#include "lib/common/logging.h"
#include "lib/replication/provenance.h"

namespace kmirror::daemon {
namespace {

auto Log() { return common::Logger("kmirrord"); }

struct Content {
  std::optional<std::string> key, value;
  int64_t timestamp_ms = 0;
  bool ours = false;  // carries kmirror's provenance header
  bool operator==(const Content& o) const {
    return key == o.key && value == o.value && timestamp_ms == o.timestamp_ms;
  }
};

Content ContentOf(const kafka::Message& m) {
  Content c;
  if (m.key()) c.key = std::string(*m.key());
  if (m.value()) c.value = std::string(*m.value());
  c.timestamp_ms = m.timestamp_ms();
  c.ours = m.header(replication::kProvenanceHeader).has_value();
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Mm2Takeover>> Mm2Takeover::Create(
    const config::Config& cfg, const config::FlowConfig& f,
    std::function<std::string(const std::string&)> remote_topic) {
  std::unique_ptr<Mm2Takeover> t(new Mm2Takeover());
  t->flow_ = f.name();
  t->source_alias_ = f.source;
  t->target_alias_ = f.target;
  t->remote_topic_ = std::move(remote_topic);
  auto selector = SelectorFor(f);
  if (!selector.ok()) return selector.status();
  // MM2 names the syncs topic after the other cluster: on the source by default, on the target
  // with offset-syncs.topic.location=target.
  t->source_syncs_topic_ = (*selector)->policy().OffsetSyncsTopic(f.target);
  t->target_syncs_topic_ = (*selector)->policy().OffsetSyncsTopic(f.source);
  const kafka::Properties source = ToProperties(config::SourceProperties(cfg, f));
  const kafka::Properties target = ToProperties(config::TargetProperties(cfg, f));
  auto sa = kafka::AdminClient::Create(source);
  if (!sa.ok()) return sa.status();
  t->source_admin_ = std::move(*sa);
  auto ta = kafka::AdminClient::Create(target);
  if (!ta.ok()) return ta.status();
  t->target_admin_ = std::move(*ta);
  auto ss = offsets::KafkaTopicReader::Create(source);
  if (!ss.ok()) return ss.status();
  t->source_syncs_ = std::move(*ss);
  auto ts = offsets::KafkaTopicReader::Create(target);
  if (!ts.ok()) return ts.status();
  t->target_syncs_ = std::move(*ts);
  auto sr = RangeConsumer(source, "kmirror.mm2-takeover." + f.name());
  if (!sr.ok()) return sr.status();
  t->source_reader_ = std::move(*sr);
  auto tr = RangeConsumer(target, "kmirror.mm2-takeover." + f.name());
  if (!tr.ok()) return tr.status();
  t->target_reader_ = std::move(*tr);
  return t;
}

absl::Status Mm2Takeover::LoadSyncsLocked() {
  if (loaded_) return absl::OkStatus();
  // The source-side topic first (MM2's default); the target-side one if the source has none.
  for (auto [reader, topic, admin] :
       {std::tuple{source_syncs_.get(), source_syncs_topic_, source_admin_.get()},
        std::tuple{target_syncs_.get(), target_syncs_topic_, target_admin_.get()}}) {
    auto md = admin->Metadata(std::vector<std::string>{topic}, std::chrono::seconds(10));
    if (!md.ok()) return md.status();
    bool exists = false;
    for (const auto& t : md->topics) exists = exists || (t.name == topic && t.status.ok());
    if (!exists) continue;
    auto records = reader->ReadAll(topic);
    if (!records.ok()) return records.status();
    for (const auto& kv : *records) {
      auto sync = offsets::DecodeOffsetSync(kv.key, kv.value);
      if (sync.ok()) syncs_[{sync->topic, sync->partition}] = *sync;  // in order: newest wins
    }
    Log()->info("msg=\"MirrorMaker 2 offset syncs read\" flow={} topic={} partitions={}", flow_,
                topic, syncs_.size());
    break;
  }
  loaded_ = true;
  return absl::OkStatus();
}

std::optional<int64_t> Mm2Takeover::StartAfterMm2(const SourcePartition& p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(p);
  if (it != cache_.end()) return it->second;
  std::optional<int64_t> start = ComputeLocked(p);
  cache_[p] = start;
  return start;
}

std::optional<int64_t> Mm2Takeover::ComputeLocked(const SourcePartition& p) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  const std::string remote = remote_topic_(p.topic);
  auto twm = target_admin_->QueryWatermarks(remote, p.partition, std::chrono::seconds(10));
  if (!twm.ok() || twm->high <= 0 || twm->high <= twm->low) return std::nullopt;
  // The target's last record: MM2's (no provenance) or already kmirror's.
  std::optional<Content> last;
  absl::Status read = ReadRange(*target_reader_, remote, p.partition, twm->high - 1, twm->high,
                                deadline, [&](const kafka::Message& m) {
                                  last = ContentOf(m);
                                  return absl::OkStatus();
                                });
  if (!read.ok() || !last) {
    Log()->warn(
        "msg=\"MM2 take-over: cannot read the target's last record; starting per "
        "start_from\" flow={} partition={} error=\"{}\"",
        flow_, p.ToString(), read.message());
    return std::nullopt;
  }
  if (last->ours) return std::nullopt;  // kmirror already copies this partition
  if (absl::Status s = LoadSyncsLocked(); !s.ok()) {
    Log()->warn(
        "msg=\"MM2 take-over: cannot read MirrorMaker 2's offset syncs; starting per "
        "start_from\" flow={} error=\"{}\"",
        flow_, s.message());
    return std::nullopt;
  }
  auto sync = syncs_.find({p.topic, p.partition});
  if (sync == syncs_.end()) {
    Log()->warn(
        "msg=\"MM2 take-over: no MirrorMaker 2 offset sync for the partition; starting "
        "per start_from\" flow={} partition={} target_end={}",
        flow_, p.ToString(), twm->high);
    return std::nullopt;
  }
  const int64_t u = sync->second.upstream_offset, d = sync->second.downstream_offset;
  const int64_t estimate = u + std::max<int64_t>(0, twm->high - 1 - d);
  auto swm = source_admin_->QueryWatermarks(p.topic, p.partition, std::chrono::seconds(10));
  if (!swm.ok()) return estimate + 1;
  std::optional<int64_t> found;
  const int64_t from = std::max(estimate, swm->low);
  const int64_t to = std::min(swm->high, from + kSearchBound);
  read = ReadRange(*source_reader_, p.topic, p.partition, from, to, deadline,
                   [&](const kafka::Message& m) {
                     if (!found && ContentOf(m) == *last) {
                       found = m.offset();
                       return absl::CancelledError("found");
                     }
                     return absl::OkStatus();
                   });
  if (found) {
    (void)source_reader_->Unassign();
    Log()->info(
        "msg=\"MM2 take-over: partition starts after MirrorMaker 2's last copy\" flow={} "
        "partition={} start={} sync_upstream={} sync_downstream={} target_end={}",
        flow_, p.ToString(), *found + 1, u, d, twm->high);
    return *found + 1;
  }
  Log()->warn(
      "msg=\"MM2 take-over: the target's last record was not found on the source near the "
      "estimate; starting at the estimate (records may be copied twice or skipped if the "
      "source has gaps)\" flow={} partition={} start={} error=\"{}\"",
      flow_, p.ToString(), estimate + 1, read.message());
  return estimate + 1;
}

}  // namespace kmirror::daemon
