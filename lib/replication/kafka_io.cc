#include "lib/replication/kafka_io.h"

#include <chrono>
#include <set>

#include "lib/common/logging.h"
#include "lib/common/status.h"
#include "lib/kafka/error.h"
#include "lib/replication/provenance.h"

namespace kmirror::replication {
namespace {

// librdkafka's logical "N records before the end" offset (RD_KAFKA_OFFSET_TAIL).
constexpr int64_t OffsetTail(int64_t n) { return -2000 - n; }

std::shared_ptr<spdlog::logger> Log() { return common::Logger("replication"); }

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
  // The end of a partition tells the flow where the records end: offsets past the last record
  // (transaction markers, compacted records) count as replicated, so lag reaches 0.
  properties.Set("enable.partition.eof", "true");
  // Records of aborted transactions are not copied (librdkafka's default, stated here); a flow's
  // source_kafka may set read_uncommitted to copy everything (docs/replication.md).
  SetDefault(properties, "isolation.level", "read_committed");
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
    if (m.is_partition_eof()) {
      errors.push_back(
          SourcePartitionError{std::move(partition), SourceOffset(m.offset()), absl::OkStatus()});
      continue;
    }
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
  // No loss, order kept, no duplicates from retries, no gap: idempotence with acks=all, the
  // gapless guarantee (a refused record fails everything behind it instead of letting later
  // batches land), and retries for as long as it takes (the in-flight bound stops fetching).
  // lib/config refuses configurations that set these.
  properties.Set("enable.idempotence", "true");
  properties.Set("enable.gapless.guarantee", "true");
  properties.Set("acks", "all");
  properties.Set("message.timeout.ms", "0");
  // The broker decides what is too large (the target topic's max.message.bytes), not
  // librdkafka's 1,000,000-byte default, which is below Kafka's own 1,048,588. 64 MiB keeps a
  // produce request below a broker's socket.request.max.bytes (100 MiB).
  SetDefault(properties, "message.max.bytes", "67108864");
  SetDefault(properties, "linger.ms", "5");
  SetDefault(properties, "queue.buffering.max.messages", "2000000");
  SetDefault(properties, "queue.buffering.max.kbytes", "1048576");
  std::unique_ptr<KafkaSink> sink(new KafkaSink());
  sink->properties_ = std::move(properties);
  sink->on_stats_ = std::move(on_stats);
  KM_RETURN_IF_ERROR(sink->NewProducer());
  return sink;
}

KafkaSink::~KafkaSink() {
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    refresh_stop_ = true;
  }
  refresh_cv_.notify_all();
  if (refresher_.joinable()) refresher_.join();
}

absl::Status KafkaSink::NewProducer() {
  KafkaSink* raw = this;
  auto producer = kafka::Producer::Create(
      properties_,
      [raw](const kafka::DeliveryReport& dr) {
        if (raw->acks_ == nullptr) return;
        raw->acks_->push_back(SinkAck{reinterpret_cast<uint64_t>(dr.opaque), dr.status,
                                      TargetOffset(dr.offset),
                                      !dr.status.ok() && kafka::ClassifyProduceFailure(dr.status) ==
                                                             kafka::ProduceFailure::kRefused});
      },
      nullptr, on_stats_);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(producer).value();
  return absl::OkStatus();
}

absl::Status KafkaSink::Send(const OutgoingRecord& record, uint64_t token) {
  kafka::BorrowedRecord b;
  b.topic = record.partition.topic;
  b.partition = record.partition.partition;
  b.key = record.key;
  b.value = record.value;
  b.headers = record.headers;
  // librdkafka reads a timestamp of 0 as "now" and has no way to send a real 0; 1 ms after the
  // epoch is the closest timestamp it can write (time-based retention and look-ups treat it alike).
  b.timestamp_ms = record.timestamp_ms == 0 ? 1 : record.timestamp_ms;
  b.opaque = reinterpret_cast<void*>(token);
  if (!producer_) return absl::FailedPreconditionError("target producer could not be rebuilt");
  absl::Status s = producer_->ProduceBorrowed(b);
  if (s.ok()) return s;
  switch (kafka::ClassifyProduceFailure(s)) {
    case kafka::ProduceFailure::kQueueFull:
    case kafka::ProduceFailure::kNotWritten:
      return absl::UnavailableError(s.message());
    case kafka::ProduceFailure::kUnknownPartition:
      RequestRefresh(record.partition.topic);
      return absl::NotFoundError(s.message());
    case kafka::ProduceFailure::kFatal:
      return absl::FailedPreconditionError(s.message());
    case kafka::ProduceFailure::kRefused:
      break;
  }
  return absl::InvalidArgumentError(s.message());
}

void KafkaSink::RequestRefresh(const std::string& topic) {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  if (!refresher_.joinable()) refresher_ = std::thread([this] { RefreshLoop(); });
  if (refresh_topics_.insert(topic).second) refresh_cv_.notify_all();
}

void KafkaSink::RefreshLoop() {
  std::unique_lock<std::mutex> lock(refresh_mu_);
  while (!refresh_stop_) {
    refresh_cv_.wait(lock, [this] { return refresh_stop_ || !refresh_topics_.empty(); });
    if (refresh_stop_) break;
    std::set<std::string> topics;
    topics.swap(refresh_topics_);
    lock.unlock();
    {
      // Reset() replaces the producer on the worker thread under this lock.
      std::lock_guard<std::mutex> producer_lock(producer_mu_);
      for (const std::string& topic : topics) {
        if (!producer_) break;
        absl::Status s = producer_->RefreshMetadata(topic, std::chrono::seconds(5));
        if (!s.ok()) {
          common::Logger("replication")
              ->warn("msg=\"target metadata refresh failed\" topic={} error=\"{}\"", topic,
                     s.message());
        }
      }
    }
    lock.lock();
    // At most one round of refreshes per second, however often sends fail.
    refresh_cv_.wait_for(lock, std::chrono::seconds(1), [this] { return refresh_stop_; });
  }
}

void KafkaSink::Poll(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) {
  if (!producer_) return;
  acks_ = &acks;
  producer_->Poll(timeout);
  acks_ = nullptr;
}

absl::Status KafkaSink::Flush(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) {
  if (!producer_) return absl::OkStatus();
  acks_ = &acks;
  absl::Status s = producer_->Flush(timeout);
  acks_ = nullptr;
  return s;
}

size_t KafkaSink::Queued() const {
  return producer_ ? static_cast<size_t>(producer_->OutQueueLength()) : 0;
}

absl::Status KafkaSink::Fatal() const {
  if (!producer_) return absl::FailedPreconditionError("target producer could not be rebuilt");
  return producer_->FatalError();
}

absl::Status KafkaSink::Reset() {
  std::lock_guard<std::mutex> lock(producer_mu_);
  // The old producer goes first: it may still point at payloads its records borrowed.
  producer_.reset();
  return NewProducer();
}

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
  std::map<TargetPartition, TailState> pass;
  // A partition that sends nothing for this long (no leader, not there) is left out; one that
  // keeps answering is read to its end however long it is.
  constexpr auto kQuiet = std::chrono::seconds(10);
  auto quiet_deadline = std::chrono::steady_clock::now() + kQuiet;
  absl::Status failed = absl::OkStatus();
  while (!open.empty() && std::chrono::steady_clock::now() < quiet_deadline) {
    auto batch = consumer_->ConsumeBatch(std::chrono::milliseconds(200), 10000);
    if (!batch.ok()) {
      failed = batch.status();
      break;
    }
    if (!batch->empty()) quiet_deadline = std::chrono::steady_clock::now() + kQuiet;
    for (kafka::Message& m : *batch) {
      TargetPartition tp{std::string(m.topic()), m.partition()};
      if (!open.count(tp)) continue;
      TailState& state = pass[tp];
      if (m.is_partition_eof()) {
        state.target.high = m.offset();
        out[tp] = state;
        open.erase(tp);
        continue;
      }
      if (!m.ok()) {
        Log()->warn("msg=\"target partition cannot be read\" partition={} error=\"{}\"",
                    tp.ToString(), m.status().message());
        open.erase(tp);
        continue;
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
  if (!open.empty()) {
    Log()->warn("msg=\"target partitions did not answer; their start waits\" count={} first={}",
                open.size(), open.begin()->ToString());
  }
  if (!failed.ok() && open.size() == partitions.size()) return failed;
  return absl::OkStatus();
}

absl::StatusOr<std::map<TargetPartition, TailState>> KafkaTargetTail::Read(
    const std::vector<TargetPartition>& partitions, const std::string& source_alias) {
  std::map<TargetPartition, TailState> out;
  if (partitions.empty()) return out;
  // Usually the newest record is ours. When it is not (another writer, active-active traffic,
  // provenance off for a while), look back in windows 8 times larger each until one of ours
  // turns up or the whole partition was read: exact however far back it is, and it reads at most
  // about 9 times the records between the end and our newest one.
  std::vector<TargetPartition> todo = partitions;
  bool any = false;
  for (int64_t depth = 1; !todo.empty(); depth *= 8) {
    std::map<TargetPartition, TailState> pass;
    absl::Status read = ReadPass(todo, depth, source_alias, pass);
    if (!read.ok()) {
      if (!any) return read;
      break;
    }
    std::vector<TargetPartition> deeper;
    for (const auto& p : todo) {
      auto it = pass.find(p);
      if (it == pass.end()) {
        out.erase(p);  // did not answer: left out, retried by the caller
        continue;
      }
      any = true;
      const TailState& s = it->second;
      const bool whole = depth >= s.target.high;  // the window started at offset 0
      TailState& kept = out[p];
      kept.target.high = s.target.high;
      kept.last = s.last;
      kept.records_read = std::max(kept.records_read, s.records_read);
      if (!s.last && !whole && s.target.high > 0) deeper.push_back(p);
    }
    todo = std::move(deeper);
    if (depth > (int64_t{1} << 56)) break;
  }
  if (!any) return absl::UnavailableError("no target partition answered");
  return out;
}

}  // namespace kmirror::replication
