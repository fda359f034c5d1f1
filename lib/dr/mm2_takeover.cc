#include "lib/dr/mm2_takeover.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/dr/record_reader.h"

namespace kmirror::dr {
namespace {

auto Log() { return common::Logger("kmirrord"); }

constexpr std::chrono::seconds kRequestTimeout{10};

// What MM2 preserves of a record: key, value and timestamp. A timestamp the broker replaced
// (LogAppendTime on either side) is left out of the comparison.
struct Content {
  std::optional<std::string> key, value;
  std::optional<int64_t> timestamp_ms;
  bool operator==(const Content& o) const {
    return key == o.key && value == o.value &&
           (!timestamp_ms || !o.timestamp_ms || *timestamp_ms == *o.timestamp_ms);
  }
};

Content ContentOf(const kafka::Message& m) {
  Content c;
  if (m.key()) c.key = std::string(*m.key());
  if (m.value()) c.value = std::string(*m.value());
  if (m.timestamp_type() != kafka::TimestampType::kLogAppendTime) c.timestamp_ms = m.timestamp_ms();
  return c;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Mm2Takeover>> Mm2Takeover::Create(Setup setup) {
  std::unique_ptr<Mm2Takeover> t(new Mm2Takeover());
  t->flow_ = std::move(setup.flow);
  t->source_alias_ = std::move(setup.source_alias);
  t->remote_topic_ = std::move(setup.remote_topic);
  t->source_syncs_topic_ = std::move(setup.source_syncs_topic);
  t->target_syncs_topic_ = std::move(setup.target_syncs_topic);
  t->source_props_ = std::move(setup.source);
  t->target_props_ = std::move(setup.target);
  return t;
}

absl::Status Mm2Takeover::EnsureClientsLocked() {
  if (source_reader_) return absl::OkStatus();
  const std::string group = "kmirror.mm2-takeover." + flow_;
  auto sa = kafka::AdminClient::Create(source_props_);
  if (!sa.ok()) return sa.status();
  auto ta = kafka::AdminClient::Create(target_props_);
  if (!ta.ok()) return ta.status();
  // Short reads that end at a partition's end: answer at once instead of after 500 ms.
  kafka::Properties source = source_props_, target = target_props_;
  for (kafka::Properties* props : {&source, &target}) props->Set("fetch.wait.max.ms", "10");
  kafka::Properties tail_props = target;
  tail_props.Set("group.id", group);
  auto tail = replication::KafkaTargetTail::Create(tail_props);
  if (!tail.ok()) return tail.status();
  auto tr = RangeConsumer(target, group);
  if (!tr.ok()) return tr.status();
  auto sr = RangeConsumer(source, group);
  if (!sr.ok()) return sr.status();
  source_admin_ = std::move(*sa);
  target_admin_ = std::move(*ta);
  tail_ = std::move(*tail);
  target_reader_ = std::move(*tr);
  source_reader_ = std::move(*sr);
  return absl::OkStatus();
}

absl::Status Mm2Takeover::LoadSyncsLocked() {
  if (syncs_loaded_) return absl::OkStatus();
  // The source-side topic (MM2's default) wins; the target-side one fills partitions it lacks.
  std::map<std::pair<std::string, int32_t>, offsets::OffsetSync> syncs;
  for (auto [props, topic, admin] :
       {std::tuple{&source_props_, source_syncs_topic_, source_admin_.get()},
        std::tuple{&target_props_, target_syncs_topic_, target_admin_.get()}}) {
    // All topics, not just this one: asking for a missing topic by name may create it.
    auto md = admin->Metadata(std::nullopt, kRequestTimeout);
    if (!md.ok()) return md.status();
    bool exists = false;
    for (const auto& t : md->topics) exists = exists || (t.name == topic && t.status.ok());
    if (!exists) continue;
    auto reader = offsets::KafkaTopicReader::Create(*props);
    if (!reader.ok()) return reader.status();
    auto records = (*reader)->ReadAll(topic);
    if (!records.ok()) return records.status();
    std::map<std::pair<std::string, int32_t>, offsets::OffsetSync> here;
    for (const auto& kv : *records) {
      auto sync = offsets::DecodeOffsetSync(kv.key, kv.value);
      if (sync.ok()) here[{sync->topic, sync->partition}] = *sync;  // in order: newest wins
    }
    Log()->info("msg=\"MM2 take-over: offset syncs read\" flow={} topic={} partitions={}", flow_,
                topic, here.size());
    syncs.insert(here.begin(), here.end());  // keeps what an earlier topic had
  }
  syncs_ = std::move(syncs);
  syncs_loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<int64_t>> Mm2Takeover::StartAfterMm2(const SourcePartition& p) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(p);
  if (it != cache_.end()) return it->second;
  auto start = ComputeLocked(p);
  if (!start.ok()) {
    Log()->warn(
        "msg=\"MM2 take-over: cannot tell where MirrorMaker 2 stopped yet; the partition waits "
        "and the look-up is retried\" flow={} partition={} error=\"{}\"",
        flow_, p.ToString(), start.status().message());
    // Not cached: the flow retries, and never starts the partition per start_from meanwhile
    // (that would copy again what MM2 copied, or skip what it did not).
    return absl::UnavailableError(
        absl::StrCat("MM2 take-over look-up failed: ", start.status().message()));
  }
  cache_[p] = *start;
  return *start;
}

absl::StatusOr<std::optional<int64_t>> Mm2Takeover::ComputeLocked(const SourcePartition& p) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  if (absl::Status s = EnsureClientsLocked(); !s.ok()) return s;
  const TargetPartition target{remote_topic_(p.topic), p.partition};
  // kmirror's provenance from this source anywhere in the tail: the tail decides, as always.
  auto tails = tail_->Read({target}, source_alias_);
  if (!tails.ok()) return tails.status();
  auto t = tails->find(target);
  if (t == tails->end()) {
    return absl::UnavailableError(
        absl::StrCat("target partition ", target.ToString(), " could not be read"));
  }
  if (t->second.last) return std::nullopt;

  auto twm = target_admin_->QueryWatermarks(target.topic, target.partition, kRequestTimeout);
  if (!twm.ok()) return twm.status();
  auto swm = source_admin_->QueryWatermarks(p.topic, p.partition, kRequestTimeout);
  if (!swm.ok()) return swm.status();
  const int64_t end = twm->high;
  if (end <= 0) {
    // MM2 wrote nothing here: every source record is still to copy, whatever start_from says.
    Log()->info(
        "msg=\"MM2 take-over: remote partition empty, starting at the source's earliest record\" "
        "flow={} partition={} start={}",
        flow_, p.ToString(), swm->low);
    return std::optional<int64_t>(swm->low);
  }
  if (absl::Status s = LoadSyncsLocked(); !s.ok()) return s;
  auto sync = syncs_.find({p.topic, p.partition});
  if (sync == syncs_.end()) {
    Log()->warn(
        "msg=\"MM2 take-over: no MirrorMaker 2 offset sync for the partition; it follows "
        "start_from\" flow={} partition={} target_end={}",
        flow_, p.ToString(), end);
    return std::optional<int64_t>();
  }
  const int64_t u = sync->second.upstream_offset, d = sync->second.downstream_offset;
  if (d >= end) {
    Log()->warn(
        "msg=\"MM2 take-over: the newest offset sync points past the remote partition's end "
        "(topic recreated?); the partition follows start_from\" flow={} partition={} "
        "sync_upstream={} sync_downstream={} target_end={}",
        flow_, p.ToString(), u, d, end);
    return std::optional<int64_t>();
  }
  // MM2 wrote end-1-d records after the one at d.
  const int64_t estimate = u + (end - 1 - d);

  // The target's last record, and the same record on the source.
  std::optional<Content> last;
  absl::Status read = absl::OkStatus();
  if (twm->low < end) {
    read = ReadRange(*target_reader_, target.topic, target.partition, end - 1, end, deadline,
                     [&](const kafka::Message& m) {
                       last = ContentOf(m);
                       return absl::OkStatus();
                     });
    (void)target_reader_->Unassign();
  }
  std::optional<int64_t> below, above;  // the last match below the estimate, the first at/above
  if (last) {
    const int64_t from = std::max({swm->low, u, estimate - kSearchBelow});
    const int64_t to = std::min(swm->high, estimate + 1 + kSearchAbove);
    read = ReadRange(*source_reader_, p.topic, p.partition, from, to, deadline,
                     [&](const kafka::Message& m) {
                       if (ContentOf(m) != *last) return absl::OkStatus();
                       if (m.offset() < estimate) {
                         below = m.offset();
                         return absl::OkStatus();
                       }
                       above = m.offset();
                       return absl::CancelledError("found");  // the nearest at/above: done
                     });
    (void)source_reader_->Unassign();
  }
  // Gaps (and filtered records) put the record above the estimate, MM2's duplicates below it:
  // the nearest match at or above wins, else the nearest below.
  if (std::optional<int64_t> found = above ? above : below) {
    Log()->info(
        "msg=\"MM2 take-over: partition starts after MirrorMaker 2's last copy\" flow={} "
        "partition={} start={} estimate={} sync_upstream={} sync_downstream={} target_end={}",
        flow_, p.ToString(), *found + 1, estimate + 1, u, d, end);
    return std::optional<int64_t>(*found + 1);
  }
  Log()->warn(
      "msg=\"MM2 take-over: MirrorMaker 2's last record was not found on the source near the "
      "estimate; starting at the estimate: records may be copied twice (source offset gaps) or "
      "skipped (duplicates on the target), at-least-once is not assured\" flow={} partition={} "
      "start={} sync_upstream={} sync_downstream={} target_end={} searched=\"{}\"",
      flow_, p.ToString(), estimate + 1, u, d, end,
      last ? (read.ok() || absl::IsCancelled(read) ? std::string("whole window")
                                                   : std::string(read.message()))
           : absl::StrCat("target record unreadable: ", read.message()));
  return std::optional<int64_t>(estimate + 1);
}

}  // namespace kmirror::dr
