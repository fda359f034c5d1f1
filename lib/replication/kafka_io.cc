#include "lib/replication/kafka_io.h"

#include <chrono>
#include <set>

#include "lib/common/logging.h"
#include "lib/common/status.h"
#include "lib/replication/provenance.h"

namespace kmirror::replication {
namespace {

// librdkafka's logical "N records before the end" offset (RD_KAFKA_OFFSET_TAIL).
constexpr int64_t OffsetTail(int64_t n) { return -2000 - n; }

kafka::TopicPartition ToKafka(const SourcePartition& p) {
  return kafka::TopicPartition{p.topic, p.partition};
}

std::vector<kafka::TopicPartition> ToKafka(const std::vector<SourcePartition>& ps) {
  std::vector<kafka::TopicPartition> out;
  out.reserve(ps.size());
  for (const auto& p : ps) out.push_back(ToKafka(p));
  return out;
}

void SetDefault(kafka::Properties& props, const std::string& key, const std::string& value) {
  if (!props.Contains(key)) props.Set(key, value);
}

}  // namespace

// ---- KafkaSource ------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Create(kafka::Properties properties,
                                                                 kafka::StatsCallback on_stats) {
  // Progress lives on the target: never commit, and never silently reset a position that fell
  // out of the log (the flow counts what retention took).
  properties.Set("enable.auto.commit", "false");
  properties.Set("enable.auto.offset.store", "false");
  properties.Set("auto.offset.reset", "error");
  SetDefault(properties, "partition.assignment.strategy", "cooperative-sticky");
  SetDefault(properties, "enable.partition.eof", "false");
  std::unique_ptr<KafkaSource> source(new KafkaSource());
  KafkaSource* raw = source.get();
  auto consumer = kafka::Consumer::Create(
      properties, [raw](kafka::RebalanceEvent& event) { raw->OnRebalance(event); }, nullptr,
      std::move(on_stats));
  if (!consumer.ok()) return consumer.status();
  source->consumer_ = std::move(consumer).value();
  return source;
}

void KafkaSource::OnRebalance(kafka::RebalanceEvent& event) {
  std::vector<SourcePartition> partitions;
  partitions.reserve(event.partitions.size());
  for (const auto& tpo : event.partitions) {
    partitions.push_back(SourcePartition{tpo.topic, tpo.partition});
  }
  std::vector<SourceOffset> start;
  switch (event.type) {
    case kafka::RebalanceEvent::Type::kAssign:
      if (handler_) handler_(RebalanceKind::kAssigned, partitions, start);
      for (size_t i = 0; i < event.partitions.size() && i < start.size(); ++i) {
        event.partitions[i].offset = start[i].value;
      }
      break;
    case kafka::RebalanceEvent::Type::kRevoke:
      if (handler_) handler_(RebalanceKind::kRevoked, partitions, start);
      break;
    case kafka::RebalanceEvent::Type::kLost:
    case kafka::RebalanceEvent::Type::kError:
      if (handler_) handler_(RebalanceKind::kLost, partitions, start);
      break;
  }
}

absl::Status KafkaSource::Subscribe(const std::vector<std::string>& topics) {
  if (topics == subscribed_) return absl::OkStatus();
  subscribed_ = topics;
  if (topics.empty()) return consumer_->Unsubscribe();
  return consumer_->Subscribe(topics);
}

absl::Status KafkaSource::Poll(std::chrono::milliseconds timeout, size_t max,
                               std::vector<SourceRecord>& records,
                               std::vector<SourcePartitionError>& errors) {
  auto batch = consumer_->ConsumeBatch(timeout, max);
  if (!batch.ok()) return batch.status();
  for (kafka::Message& m : *batch) {
    SourcePartition partition{std::string(m.topic()), m.partition()};
    if (m.is_partition_eof()) continue;
    if (!m.ok()) {
      errors.push_back(
          SourcePartitionError{std::move(partition), SourceOffset(m.offset()), m.status()});
      continue;
    }
    SourceRecord r;
    r.partition = std::move(partition);
    r.offset = SourceOffset(m.offset());
    r.key = m.key();
    r.value = m.value();
    r.headers = m.headers();
    r.timestamp_ms = m.timestamp_ms();
    r.bytes = m.size();
    for (const auto& h : r.headers) r.bytes += h.name.size() + (h.value ? h.value->size() : 0);
    // The views point into the librdkafka message: keep it alive until the target acks.
    r.owner = std::make_shared<kafka::Message>(std::move(m));
    records.push_back(std::move(r));
  }
  return absl::OkStatus();
}

absl::Status KafkaSource::Pause(const std::vector<SourcePartition>& partitions) {
  return consumer_->Pause(ToKafka(partitions));
}

absl::Status KafkaSource::Resume(const std::vector<SourcePartition>& partitions) {
  return consumer_->Resume(ToKafka(partitions));
}

absl::Status KafkaSource::Seek(const SourcePartition& partition, SourceOffset offset) {
  return consumer_->Reposition(
      kafka::TopicPartitionOffset(partition.topic, partition.partition, offset.value),
      std::chrono::seconds(5));
}

std::optional<Watermarks> KafkaSource::CachedWatermarks(const SourcePartition& partition) {
  auto wm = consumer_->GetWatermarksCached(partition.topic, partition.partition);
  if (!wm.ok() || wm->high < 0) return std::nullopt;
  return Watermarks{wm->low, wm->high};
}

absl::StatusOr<Watermarks> KafkaSource::QueryWatermarks(const SourcePartition& partition) {
  auto wm =
      consumer_->QueryWatermarks(partition.topic, partition.partition, std::chrono::seconds(10));
  if (!wm.ok()) return wm.status();
  return Watermarks{wm->low, wm->high};
}

absl::Status KafkaSource::Close() { return consumer_->Close(); }

// ---- KafkaSink --------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaSink>> KafkaSink::Create(kafka::Properties properties,
                                                             kafka::StatsCallback on_stats) {
  // No loss, order kept, no duplicates from retries: idempotence with acks=all, and librdkafka
  // retries transient failures for as long as it takes (the in-flight bound stops fetching).
  properties.Set("enable.idempotence", "true");
  properties.Set("acks", "all");
  SetDefault(properties, "message.timeout.ms", "0");
  SetDefault(properties, "linger.ms", "5");
  SetDefault(properties, "queue.buffering.max.messages", "2000000");
  SetDefault(properties, "queue.buffering.max.kbytes", "1048576");
  std::unique_ptr<KafkaSink> sink(new KafkaSink());
  KafkaSink* raw = sink.get();
  auto producer = kafka::Producer::Create(
      properties,
      [raw](const kafka::DeliveryReport& dr) {
        if (raw->acks_ == nullptr) return;
        raw->acks_->push_back(
            SinkAck{reinterpret_cast<uint64_t>(dr.opaque), dr.status, TargetOffset(dr.offset)});
      },
      nullptr, std::move(on_stats));
  if (!producer.ok()) return producer.status();
  sink->producer_ = std::move(producer).value();
  return sink;
}

absl::Status KafkaSink::Send(const OutgoingRecord& record, uint64_t token) {
  kafka::BorrowedRecord b;
  b.topic = record.partition.topic;
  b.partition = record.partition.partition;
  b.key = record.key;
  b.value = record.value;
  b.headers = record.headers;
  b.timestamp_ms = record.timestamp_ms;
  b.opaque = reinterpret_cast<void*>(token);
  return producer_->ProduceBorrowed(b);
}

void KafkaSink::Poll(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) {
  acks_ = &acks;
  producer_->Poll(timeout);
  acks_ = nullptr;
}

absl::Status KafkaSink::Flush(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) {
  acks_ = &acks;
  absl::Status s = producer_->Flush(timeout);
  acks_ = nullptr;
  return s;
}

size_t KafkaSink::Queued() const { return static_cast<size_t>(producer_->OutQueueLength()); }

// ---- KafkaTargetTail --------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaTargetTail>> KafkaTargetTail::Create(
    kafka::Properties properties) {
  properties.Set("enable.auto.commit", "false");
  properties.Set("enable.partition.eof", "true");
  properties.Set("auto.offset.reset", "earliest");
  if (!properties.Contains("group.id")) properties.Set("group.id", "kmirror-tail-reader");
  std::unique_ptr<KafkaTargetTail> tail(new KafkaTargetTail());
  auto consumer = kafka::Consumer::Create(properties);
  if (!consumer.ok()) return consumer.status();
  tail->consumer_ = std::move(consumer).value();
  return tail;
}

absl::Status KafkaTargetTail::ReadPass(const std::vector<TargetPartition>& partitions,
                                       int64_t depth, const std::string& source_alias,
                                       std::map<TargetPartition, TailState>& out) {
  std::vector<kafka::TopicPartitionOffset> assign;
  for (const auto& p : partitions) assign.emplace_back(p.topic, p.partition, OffsetTail(depth));
  KM_RETURN_IF_ERROR(consumer_->Assign(assign));
  std::set<TargetPartition> open(partitions.begin(), partitions.end());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  absl::Status result = absl::OkStatus();
  while (!open.empty()) {
    if (std::chrono::steady_clock::now() > deadline) {
      result = absl::UnavailableError(std::to_string(open.size()) +
                                      " target partitions did not answer within 30 s");
      break;
    }
    auto batch = consumer_->ConsumeBatch(std::chrono::milliseconds(200), 10000);
    if (!batch.ok()) {
      result = batch.status();
      break;
    }
    for (kafka::Message& m : *batch) {
      TargetPartition tp{std::string(m.topic()), m.partition()};
      if (!open.count(tp)) continue;
      TailState& state = out[tp];
      if (m.is_partition_eof()) {
        state.target.high = m.offset();
        open.erase(tp);
        continue;
      }
      if (!m.ok()) {
        result = m.status();
        open.clear();
        break;
      }
      state.records_read++;
      auto header = m.header(kProvenanceHeader);
      if (header && *header) {
        auto prov = DecodeProvenance(**header);
        if (prov && prov->source == source_alias && (!state.last || prov->offset > *state.last)) {
          state.last = prov->offset;
        }
      }
      state.target.high = std::max(state.target.high, m.offset() + 1);
    }
  }
  (void)consumer_->Unassign();
  return result;
}

absl::StatusOr<std::map<TargetPartition, TailState>> KafkaTargetTail::Read(
    const std::vector<TargetPartition>& partitions, const std::string& source_alias) {
  std::map<TargetPartition, TailState> out;
  if (partitions.empty()) return out;
  // Usually the newest record is ours. When it is not (another writer, or provenance was off for
  // a while), look further back once before giving up.
  KM_RETURN_IF_ERROR(ReadPass(partitions, 1, source_alias, out));
  std::vector<TargetPartition> deeper;
  for (const auto& p : partitions) {
    const TailState& s = out[p];
    if (!s.last && s.target.high > 0) deeper.push_back(p);
  }
  if (!deeper.empty()) KM_RETURN_IF_ERROR(ReadPass(deeper, 1000, source_alias, out));
  return out;
}

}  // namespace kmirror::replication
