#include "lib/control/kafka_state_store.h"

#include <chrono>
#include <thread>

#include "absl/strings/match.h"

namespace kmirror::control {

using nlohmann::json;

absl::StatusOr<std::unique_ptr<KafkaStateStore>> KafkaStateStore::Create(
    const kafka::Properties& properties, std::string topic) {
  std::unique_ptr<KafkaStateStore> store(new KafkaStateStore());
  store->topic_ = std::move(topic);
  auto admin = kafka::AdminClient::Create(properties);
  if (!admin.ok()) return admin.status();
  store->admin_ = std::move(*admin);
  store->topics_ = std::make_unique<offsets::KafkaTopicAdmin>(*store->admin_);
  kafka::Properties writer = properties;
  writer.Set("enable.idempotence", "true");
  // A write either lands or fails within the writer's wait: a state reported as not recorded
  // must not appear later.
  writer.Set("message.timeout.ms", "10000");
  auto w = offsets::KafkaRecordWriter::Create(writer);
  if (!w.ok()) return w.status();
  store->writer_ = std::move(*w);
  auto r = offsets::KafkaTopicReader::Create(properties);
  if (!r.ok()) return r.status();
  store->reader_ = std::move(*r);
  return store;
}

namespace {
// Retries what a leader move or a broker restart makes fail for a moment.
template <typename F>
absl::Status Retrying(F f) {
  absl::Status s;
  for (int attempt = 1; attempt <= 5; ++attempt) {
    s = f();
    if (s.ok() || (s.code() != absl::StatusCode::kUnavailable &&
                   s.code() != absl::StatusCode::kDeadlineExceeded)) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 * attempt));
  }
  return s;
}
}  // namespace

absl::Status KafkaStateStore::RefreshLocked() {
  return Retrying([this]() -> absl::Status {
    if (!topic_ready_) {
      if (absl::Status s = topics_->EnsureTopic(topic_, /*compacted=*/true); !s.ok()) return s;
      topic_ready_ = true;
    }
    auto records = reader_->ReadNew(topic_);
    if (!records.ok()) return records.status();
    for (auto& kv : *records) values_[kv.key] = std::move(kv.value);
    return absl::OkStatus();
  });
}

absl::Status KafkaStateStore::WriteLocked(const std::string& key, const std::string& value) {
  // The writer is idempotent: a retried record is not written twice.
  if (absl::Status s = Retrying([&] {
        return writer_->Write(topic_, 0, {{key, value}});
      });
      !s.ok()) {
    return s;
  }
  values_[key] = value;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FlowState>> KafkaStateStore::LoadFlow(const std::string& flow) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  auto it = values_.find(FlowKey(flow));
  if (it == values_.end()) return std::optional<FlowState>();
  json j = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return absl::DataLossError("state topic " + topic_ + ": record " + it->first +
                               " is not JSON; refusing to guess the flow's state");
  }
  auto state = FlowStateFromJson(j);
  if (!state.ok()) return state.status();
  return std::optional<FlowState>(std::move(*state));
}

absl::Status KafkaStateStore::SaveFlow(const FlowState& next) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  auto it = values_.find(FlowKey(next.flow));
  int64_t stored = 0;
  if (it != values_.end()) {
    json j = json::parse(it->second, nullptr, false);
    if (!j.is_discarded()) stored = j.value("version", int64_t{0});
  }
  if (stored != next.version - 1) {
    return absl::FailedPreconditionError(
        "flow " + next.flow + ": its state changed meanwhile (version " + std::to_string(stored) +
        ", expected " + std::to_string(next.version - 1) + "); another instance acted on it");
  }
  return WriteLocked(FlowKey(next.flow), ToJson(next).dump());
}

absl::Status KafkaStateStore::Append(const std::string& key, const json& value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!topic_ready_) {
    if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  }
  return WriteLocked(key, value.dump());
}

absl::StatusOr<std::vector<json>> KafkaStateStore::List(const std::string& prefix, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = RefreshLocked(); !s.ok()) return s;
  std::vector<json> out;
  for (auto it = values_.lower_bound(prefix);
       it != values_.end() && absl::StartsWith(it->first, prefix); ++it) {
    json j = json::parse(it->second, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  if (out.size() > limit) out.erase(out.begin(), out.end() - static_cast<long>(limit));
  return out;
}

}  // namespace kmirror::control
