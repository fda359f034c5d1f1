#include "lib/dr/kafka_io.h"

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/dr/record_reader.h"
#include "lib/kafka/producer.h"
#include "lib/offsets/translator.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/provenance.h"

namespace kmirror::dr {
namespace {

using nlohmann::json;
constexpr std::chrono::seconds kAdminTimeout{5};

// A record as the drill compares it.
struct Seen {
  int64_t offset;
  std::optional<std::string> key, value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;  // without provenance
  // The record's own timestamp; nullopt when the broker replaced it (LogAppendTime), which says
  // nothing about the copy.
  std::optional<int64_t> timestamp_ms;
  std::optional<int64_t> source_offset;  // from provenance (target records)
};

Seen Capture(const kafka::Message& m) {
  Seen s;
  s.offset = m.offset();
  if (m.key()) s.key = std::string(*m.key());
  if (m.value()) s.value = std::string(*m.value());
  if (m.timestamp_type() != kafka::TimestampType::kLogAppendTime) s.timestamp_ms = m.timestamp_ms();
  for (const auto& h : m.headers()) {
    if (h.name == replication::kProvenanceHeader) {
      if (h.value) {
        if (auto p = replication::DecodeProvenance(*h.value); p) s.source_offset = p->offset.value;
      }
      continue;
    }
    s.headers.emplace_back(
        std::string(h.name),
        h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
  }
  return s;
}

}  // namespace

offsets::ProvenanceDecoder ProvenanceIndexDecoder() {
  return [](std::string_view value) -> std::optional<offsets::RecordProvenance> {
    auto p = replication::DecodeProvenance(value);
    if (!p) return std::nullopt;
    return offsets::RecordProvenance{p->source, p->offset};
  };
}

absl::StatusOr<std::unique_ptr<KafkaCluster>> KafkaCluster::Create(kafka::Properties properties,
                                                                   std::string reader_group) {
  std::unique_ptr<KafkaCluster> c(new KafkaCluster());
  auto admin = kafka::AdminClient::Create(properties);
  if (!admin.ok()) return admin.status();
  c->admin_ = std::move(*admin);
  c->properties_ = std::move(properties);
  c->reader_group_ = std::move(reader_group);
  return c;
}

absl::StatusOr<Watermarks> KafkaCluster::QueryWatermarks(const std::string& topic,
                                                         int32_t partition) {
  auto wm = admin_->QueryWatermarks(topic, partition, kAdminTimeout);
  if (!wm.ok()) return wm.status();
  return Watermarks{wm->low, wm->high};
}

absl::StatusOr<std::map<std::string, int32_t>> KafkaCluster::Topics() {
  auto md = admin_->Metadata(std::nullopt, std::chrono::seconds(10));
  if (!md.ok()) return md.status();
  std::map<std::string, int32_t> out;
  for (const auto& t : md->topics) {
    if (t.status.ok()) out[t.name] = static_cast<int32_t>(t.partitions.size());
  }
  return out;
}

absl::Status KafkaCluster::EnsureTopic(const std::string& topic, int32_t partitions) {
  kafka::NewTopic t;
  t.name = topic;
  t.partitions = partitions;
  auto created = admin_->CreateTopics({t}, kAdminTimeout);
  if (!created.ok()) return created.status();
  return absl::OkStatus();
}

absl::StatusOr<std::map<TargetPartition, replication::TailState>> KafkaCluster::Tails(
    const std::vector<TargetPartition>& partitions, const std::string& source_alias) {
  std::lock_guard<std::mutex> lock(tail_mu_);
  if (!tail_) {
    kafka::Properties props = properties_;
    props.Set("group.id", reader_group_);
    auto tail = replication::KafkaTargetTail::Create(props);
    if (!tail.ok()) {
      common::Logger("control")->warn(
          "msg=\"cannot create a reader of the target's tails\" group={} error=\"{}\"",
          reader_group_, tail.status().message());
      return tail.status();
    }
    tail_ = std::move(*tail);
  }
  return tail_->Read(partitions, source_alias);
}

absl::StatusOr<std::vector<int64_t>> KafkaDrillIo::ProduceCanaries(
    const std::string& drill_id, int n, std::chrono::milliseconds timeout) {
  std::mutex mu;
  std::vector<int64_t> offsets;
  absl::Status failed;
  auto producer = kafka::Producer::Create(setup_.source, [&](const kafka::DeliveryReport& r) {
    std::lock_guard<std::mutex> lock(mu);
    if (r.status.ok()) {
      offsets.push_back(r.offset);
    } else if (failed.ok()) {
      failed = r.status;
    }
  });
  if (!producer.ok()) return producer.status();
  absl::Status produced;
  for (int i = 0; i < n && produced.ok(); ++i) {
    kafka::ProduceRecord r;
    r.topic = policy::kDrillTopic;
    r.partition = 0;
    r.key = absl::StrCat("drill-", drill_id, "-", i);
    r.value = json{{"drill", drill_id}, {"seq", i}, {"sent_ms", SystemClock().WallMs()}}.dump();
    r.headers.push_back({"kmirror-drill", drill_id});
    produced = (*producer)->Produce(r);
  }
  absl::Status flushed = (*producer)->Flush(timeout);
  std::lock_guard<std::mutex> lock(mu);
  if (!produced.ok()) return produced;
  if (!failed.ok()) return failed;
  if (!flushed.ok()) return flushed;
  return offsets;
}

absl::Status KafkaDrillIo::EnsureReadersLocked() {
  if (source_reader_ && target_reader_) return absl::OkStatus();
  const std::string group = "kmirror.drill." + setup_.flow;
  auto source = RangeConsumer(setup_.source, group);
  if (!source.ok()) return source.status();
  auto target = RangeConsumer(setup_.target, group);
  if (!target.ok()) return target.status();
  source_reader_ = std::move(*source);
  target_reader_ = std::move(*target);
  return absl::OkStatus();
}

absl::StatusOr<DrillIo::Translation> KafkaDrillIo::TranslateCanary(const std::string& remote_topic,
                                                                   int64_t source_offset,
                                                                   int64_t from, int64_t to,
                                                                   Clock::TimePoint deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureReadersLocked(); !s.ok()) return s;
  offsets::KafkaTargetIndex::Options io;
  io.source_alias = setup_.source_alias;
  io.header = std::string(replication::kProvenanceHeader);
  io.decode = ProvenanceIndexDecoder();
  io.timeout = std::chrono::milliseconds(5000);
  auto index = offsets::KafkaTargetIndex::Create(setup_.target, io);
  if (!index.ok()) return index.status();
  offsets::Translator translator(**index,
                                 [remote_topic](std::string_view) { return remote_topic; });
  Translation out;
  auto t = translator.Translate({std::string(policy::kDrillTopic), 0}, SourceOffset(source_offset));
  if (!t.ok()) return t.status();
  if (t->kind == offsets::Translation::Kind::kExact) out.translated = t->target.value;
  // The first target record in [from, to) whose source offset is >= source_offset.
  absl::Status read =
      ReadRange(*target_reader_, remote_topic, 0, from, to, deadline, [&](const kafka::Message& m) {
        Seen seen = Capture(m);
        if (!out.expected && seen.source_offset && *seen.source_offset >= source_offset) {
          out.expected = seen.offset;
        }
        return absl::OkStatus();
      });
  if (!read.ok()) return read;
  return out;
}

absl::StatusOr<int64_t> KafkaDrillIo::Compare(const std::string& source_topic,
                                              const std::string& target_topic, int32_t partition,
                                              int64_t from, int64_t to, Clock::TimePoint deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = EnsureReadersLocked(); !s.ok()) return s;
  std::vector<Seen> on_target;
  absl::Status read = ReadRange(*target_reader_, target_topic, partition, from, to, deadline,
                                [&](const kafka::Message& m) {
                                  on_target.push_back(Capture(m));
                                  return absl::OkStatus();
                                });
  if (!read.ok()) return read;
  int64_t compared = 0;
  for (const Seen& t : on_target) {
    if (!t.source_offset) continue;  // not ours (written there by someone else)
    std::optional<Seen> s;
    absl::Status got = ReadRange(*source_reader_, source_topic, partition, *t.source_offset,
                                 *t.source_offset + 1, deadline, [&](const kafka::Message& m) {
                                   s = Capture(m);
                                   return absl::OkStatus();
                                 });
    if (!got.ok()) return got;
    if (!s) continue;  // gone from the source (retention): nothing to compare
    auto where = absl::StrCat(target_topic, "[", partition, "]@", t.offset, " vs ", source_topic,
                              "[", partition, "]@", *t.source_offset);
    if (s->key != t.key) return absl::DataLossError("key differs: " + where);
    if (s->value != t.value) return absl::DataLossError("value differs: " + where);
    if (s->headers != t.headers) return absl::DataLossError("headers differ: " + where);
    if (s->timestamp_ms && t.timestamp_ms && s->timestamp_ms != t.timestamp_ms) {
      return absl::DataLossError("timestamp differs: " + where);
    }
    ++compared;
  }
  return compared;
}

}  // namespace kmirror::dr
