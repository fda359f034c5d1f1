#include "lib/dr/kafka_state_store.h"

#include <chrono>
#include <thread>

#include "absl/strings/match.h"
#include "lib/kafka/error.h"
#include "lib/kafka/producer.h"

namespace kmirror::dr {

using nlohmann::json;

namespace {
// One retry for what a leader move makes fail for a moment (the reader then asks a fresh
// client); more would hold callers for minutes when the cluster is really down.
template <typename F>
absl::Status RetryOnce(F f) {
  absl::Status s = f();
  if (s.code() != absl::StatusCode::kUnavailable) return s;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return f();
}
}  // namespace

absl::StatusOr<std::unique_ptr<KafkaStateStore>> KafkaStateStore::Create(
    const kafka::Properties& properties, kafka::InternalTopicSettings settings, std::string topic) {
  std::unique_ptr<KafkaStateStore> store(new KafkaStateStore());
  store->topic_ = std::move(topic);
  auto admin = kafka::AdminClient::Create(properties);
  if (!admin.ok()) return admin.status();
  store->admin_ = std::move(*admin);
  store->topics_ = std::make_unique<offsets::KafkaTopicAdmin>(*store->admin_, settings);
  kafka::Properties writer = properties;
  // A write either lands or fails within the writer's wait: a state reported as not recorded
  // must not appear later.
  writer.Set("message.timeout.ms", "10000");
  auto w = offsets::KafkaRecordWriter::Create(writer);
  if (!w.ok()) return w.status();
  store->writer_ = std::move(*w);
  store->properties_ = properties;
  auto r = offsets::KafkaTopicReader::Create(properties);
  if (!r.ok()) return r.status();
  store->reader_ = std::move(*r);
  return store;
}

absl::Status KafkaStateStore::EnsureTopicLocked() {
  if (topic_ready_) return absl::OkStatus();
  if (absl::Status s = topics_->EnsureTopic(topic_, /*compacted=*/true); !s.ok()) return s;
  topic_ready_ = true;
  return absl::OkStatus();
}

absl::Status KafkaStateStore::EnsureTopic() {
  if (topic_ready_.load()) return absl::OkStatus();
  std::lock_guard<std::mutex> read(read_mu_);
  return EnsureTopicLocked();
}

absl::Status KafkaStateStore::Refresh() {
  std::lock_guard<std::mutex> read(read_mu_);
  return RetryOnce([this]() -> absl::Status {
    if (absl::Status s = EnsureTopicLocked(); !s.ok()) return s;
    auto records = reader_->ReadNew(topic_);
    if (!records.ok()) return records.status();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& kv : *records) values_[kv.key] = std::move(kv.value);
    return absl::OkStatus();
  });
}

absl::Status KafkaStateStore::Write(const std::string& key, const std::string& value) {
  if (absl::Status s = EnsureTopic(); !s.ok()) return s;
  // One attempt: the producer retries within its message timeout by itself.
  const std::vector<offsets::KeyValue> record{offsets::KeyValue{key, value}};
  if (absl::Status s = writer_->Write(topic_, 0, record); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  values_[key] = value;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FlowState>> KafkaStateStore::LoadFlow(const std::string& flow) {
  if (absl::Status s = Refresh(); !s.ok()) return s;
  std::string text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(FlowKey(flow));
    if (it == values_.end()) return std::optional<FlowState>();
    text = it->second;
  }
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError("state topic " + topic_ + ": the record of flow " + flow +
                               " is not JSON; refusing to guess the flow's state");
  }
  auto state = FlowStateFromJson(j);
  if (!state.ok()) return state.status();
  return std::optional<FlowState>(std::move(*state));
}

absl::Status KafkaStateStore::SaveFlow(const FlowState& next) {
  // Its own lock and its own producer: instance reports and audit entries (Append) are not held
  // up by a transaction in progress.
  std::lock_guard<std::mutex> save(save_mu_);
  if (absl::Status s = EnsureTopic(); !s.ok()) return s;
  // The flow's transactional id: initialising it fences every other instance's writer of this
  // flow's state (its open transaction is aborted), so the check below and the write cannot be
  // interleaved with another instance's.
  kafka::Properties props = properties_;
  props.Set("transactional.id", "kmirror-state." + next.flow);
  props.Set("transaction.timeout.ms", "30000");
  absl::Status delivered;
  auto producer = kafka::Producer::Create(props, [&delivered](const kafka::DeliveryReport& r) {
    if (!r.status.ok() && delivered.ok()) delivered = r.status;
  });
  if (!producer.ok()) return producer.status();
  if (absl::Status s = (*producer)->InitTransactions(std::chrono::seconds(10)); !s.ok()) return s;
  if (absl::Status s = Refresh(); !s.ok()) return s;
  int64_t stored = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(FlowKey(next.flow));
    if (it != values_.end()) {
      json j = json::parse(it->second, nullptr, false);
      if (!j.is_discarded()) stored = j.value("version", int64_t{0});
    }
  }
  if (stored != next.version - 1) {
    return absl::FailedPreconditionError(
        "flow " + next.flow + ": its state changed meanwhile (version " + std::to_string(stored) +
        ", expected " + std::to_string(next.version - 1) + "); another instance acted on it");
  }
  if (before_write_) before_write_();
  const std::string value = ToJson(next).dump();
  if (absl::Status s = (*producer)->BeginTransaction(); !s.ok()) return s;
  kafka::ProduceRecord r;
  r.topic = topic_;
  r.partition = 0;
  r.key = FlowKey(next.flow);
  r.value = value;
  absl::Status s = (*producer)->Produce(r);
  if (s.ok()) {
    s = (*producer)->CommitTransaction(std::chrono::seconds(10));
    // A commit that timed out may still complete: ask again until the answer is definite.
    for (int retry = 0; retry < 3 && !s.ok() && kafka::IsRetriable(s) && !kafka::IsFatal(s);
         ++retry) {
      s = (*producer)->CommitTransaction(std::chrono::seconds(10));
    }
  }
  if (s.ok()) s = delivered;
  if (!s.ok()) {
    if (kafka::IsFatal(s) || !kafka::IsRetriable(s)) {
      // Fenced (another instance took the flow's transactional id) or refused: not written.
      (void)(*producer)->AbortTransaction(std::chrono::seconds(5));
      return absl::FailedPreconditionError(
          "flow " + next.flow +
          ": the state was not recorded: another instance changed it at the same moment, or "
          "the write was refused (" +
          std::string(s.message()) + "); nothing was changed by this verb");
    }
    return absl::UnavailableError(
        "flow " + next.flow + ": the outcome of the state change is unknown (" +
        std::string(s.message()) + "); kmirrorctl status shows whether it was recorded");
  }
  std::lock_guard<std::mutex> lock(mu_);
  values_[FlowKey(next.flow)] = value;
  return absl::OkStatus();
}

absl::Status KafkaStateStore::Append(const std::string& key, const json& value) {
  std::lock_guard<std::mutex> write(write_mu_);
  return Write(key, value.dump());
}

absl::StatusOr<std::vector<json>> KafkaStateStore::List(const std::string& prefix, size_t limit) {
  if (absl::Status s = Refresh(); !s.ok()) return s;
  std::vector<json> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = values_.lower_bound(prefix);
       it != values_.end() && absl::StartsWith(it->first, prefix); ++it) {
    json j = json::parse(it->second, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  if (out.size() > limit) out.erase(out.begin(), out.end() - static_cast<long>(limit));
  return out;
}

}  // namespace kmirror::dr
