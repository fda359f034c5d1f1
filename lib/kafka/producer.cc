#include "lib/kafka/producer.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "lib/common/status.h"
#include "lib/kafka/client_util.h"
#include "lib/kafka/error.h"

namespace kmirror::kafka {
namespace {

using ::kmirror::common::ToAbsl;

// Builds an rd_kafka_headers_t, or null when there are no headers.
template <typename HeaderT>
HeadersPtr MakeHeaders(const std::vector<HeaderT>& headers) {
  if (headers.empty()) return nullptr;
  HeadersPtr hdrs(rd_kafka_headers_new(headers.size()));
  for (const HeaderT& h : headers) {
    // A null value pointer is a null header value; an empty (non-null) one is "".
    const char* value = h.value.has_value() ? h.value->data() : nullptr;
    if (h.value.has_value() && value == nullptr) value = "";
    rd_kafka_header_add(hdrs.get(), h.name.data(), static_cast<ssize_t>(h.name.size()), value,
                        h.value.has_value() ? static_cast<ssize_t>(h.value->size()) : 0);
  }
  return hdrs;
}

// A non-null pointer for present-but-empty payloads, so that "" is not sent as null.
const char* PayloadPtr(const std::optional<std::string_view>& bytes) {
  if (!bytes.has_value()) return nullptr;
  return bytes->data() != nullptr ? bytes->data() : "";
}

}  // namespace

Producer::Producer(DeliveryCallback on_delivery, ErrorCallback on_error, StatsCallback on_stats)
    : on_delivery_(std::move(on_delivery)),
      on_error_(std::move(on_error)),
      on_stats_(std::move(on_stats)) {}

Producer::~Producer() = default;

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const Properties& properties,
                                                           DeliveryCallback on_delivery,
                                                           ErrorCallback on_error,
                                                           StatsCallback on_stats) {
  if (!on_delivery) return absl::InvalidArgumentError("producer needs a delivery callback");
  std::unique_ptr<Producer> producer(
      new Producer(std::move(on_delivery), std::move(on_error), std::move(on_stats)));
  absl::StatusOr<HandlePtr> rk =
      internal::NewClient(RD_KAFKA_PRODUCER, properties, [&](rd_kafka_conf_t* conf) {
        rd_kafka_conf_set_opaque(conf, producer.get());
        rd_kafka_conf_set_dr_msg_cb(conf, &Producer::OnDelivery);
        rd_kafka_conf_set_error_cb(conf, &Producer::OnError);
        if (producer->on_stats_) rd_kafka_conf_set_stats_cb(conf, &Producer::OnStats);
      });
  if (!rk.ok()) return rk.status();
  producer->rk_ = *std::move(rk);
  return producer;
}

void Producer::OnDelivery(rd_kafka_t* /*rk*/, const rd_kafka_message_t* msg,
                          void* opaque) noexcept {
  auto* self = static_cast<Producer*>(opaque);
  DeliveryReport report;
  report.topic = msg->rkt != nullptr ? rd_kafka_topic_name(msg->rkt) : "";
  report.partition = msg->partition;
  report.offset = msg->offset;
  if (msg->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    report.status = ErrorStatus(
        msg->err, absl::StrCat("deliver to ", ToAbsl(report.topic), "[", msg->partition, "]"));
  }
  report.persistence = static_cast<PersistenceStatus>(rd_kafka_message_status(msg));
  rd_kafka_timestamp_type_t tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
  report.timestamp_ms = rd_kafka_message_timestamp(msg, &tstype);
  report.timestamp_type = static_cast<TimestampType>(tstype);
  report.key_size = msg->key_len;
  report.value_size = msg->len;
  report.opaque = msg->_private;
  self->on_delivery_(report);
}

void Producer::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept {
  auto* self = static_cast<Producer*>(opaque);
  absl::Status status =
      ErrorStatus(static_cast<rd_kafka_resp_err_t>(err), absl::StrCat("producer: ", reason));
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    absl::Status fatal = FatalErrorStatus(rk, "producer");
    if (!fatal.ok()) status = fatal;
  }
  if (self->on_error_) {
    self->on_error_(status);
  } else {
    internal::LogClientError(rk, status);
  }
}

absl::Status Producer::ProduceImpl(const char* topic, int32_t partition, int flags, const void* key,
                                   size_t key_size, const void* value, size_t value_size,
                                   rd_kafka_headers_t* headers, int64_t timestamp_ms,
                                   void* opaque) {
  rd_kafka_resp_err_t err = rd_kafka_producev(
      rk_.get(), RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
      RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_KEY(key, key_size),
      RD_KAFKA_V_VALUE(const_cast<void*>(value), value_size), RD_KAFKA_V_HEADERS(headers),
      RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  if (err == RD_KAFKA_RESP_ERR__FATAL) return FatalError();
  return ErrorStatus(err, absl::StrCat("produce to ", topic, "[", partition, "]"));
}

absl::Status Producer::Produce(const ProduceRecord& record) {
  HeadersPtr headers = MakeHeaders(record.headers);
  std::optional<std::string_view> key, value;
  if (record.key.has_value()) key = *record.key;
  if (record.value.has_value()) value = *record.value;
  absl::Status status =
      ProduceImpl(record.topic.c_str(), record.partition, RD_KAFKA_MSG_F_COPY, PayloadPtr(key),
                  key ? key->size() : 0, PayloadPtr(value), value ? value->size() : 0,
                  headers.get(), record.timestamp_ms, record.opaque);
  // librdkafka owns the headers only when producev() succeeded.
  if (status.ok()) headers.release();
  return status;
}

absl::Status Producer::ProduceBorrowed(const BorrowedRecord& record) {
  HeadersPtr headers = MakeHeaders(record.headers);
  const std::string topic(record.topic);
  // No RD_KAFKA_MSG_F_COPY (and no F_FREE): librdkafka points at the caller's value bytes until
  // the delivery report. The key is always copied by librdkafka.
  absl::Status status = ProduceImpl(
      topic.c_str(), record.partition, /*flags=*/0, PayloadPtr(record.key),
      record.key ? record.key->size() : 0, PayloadPtr(record.value),
      record.value ? record.value->size() : 0, headers.get(), record.timestamp_ms, record.opaque);
  if (status.ok()) headers.release();
  return status;
}

int Producer::Poll(std::chrono::milliseconds timeout) {
  return rd_kafka_poll(rk_.get(), internal::TimeoutMs(timeout));
}

absl::Status Producer::Flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), internal::TimeoutMs(timeout));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return ErrorStatus(err, absl::StrCat("flush: ", rd_kafka_outq_len(rk_.get()),
                                       " records/requests still in flight"));
}

absl::Status Producer::PurgeQueued() {
  return ErrorStatus(rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE), "purge queued records");
}

int Producer::OutQueueLength() const { return rd_kafka_outq_len(rk_.get()); }

absl::Status Producer::FatalError() const { return FatalErrorStatus(rk_.get(), "producer"); }

absl::Status Producer::RefreshMetadata(const std::string& topic,
                                       std::chrono::milliseconds timeout) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return ErrorStatus(rd_kafka_last_error(), absl::StrCat("metadata of ", topic));
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 0, rkt, &md, internal::TimeoutMs(timeout));
  if (md != nullptr) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return ErrorStatus(err, absl::StrCat("metadata of ", topic));
}

namespace {
absl::Status TransactionStatus(rd_kafka_error_t* error, std::string_view what) {
  absl::Status s = ErrorStatus(error, what);
  if (error != nullptr) rd_kafka_error_destroy(error);
  return s;
}
}  // namespace

absl::Status Producer::InitTransactions(std::chrono::milliseconds timeout) {
  return TransactionStatus(rd_kafka_init_transactions(rk_.get(), internal::TimeoutMs(timeout)),
                           "init transactions");
}

absl::Status Producer::BeginTransaction() {
  return TransactionStatus(rd_kafka_begin_transaction(rk_.get()), "begin transaction");
}

absl::Status Producer::CommitTransaction(std::chrono::milliseconds timeout) {
  return TransactionStatus(rd_kafka_commit_transaction(rk_.get(), internal::TimeoutMs(timeout)),
                           "commit transaction");
}

absl::Status Producer::AbortTransaction(std::chrono::milliseconds timeout) {
  return TransactionStatus(rd_kafka_abort_transaction(rk_.get(), internal::TimeoutMs(timeout)),
                           "abort transaction");
}

std::string Producer::name() const { return rd_kafka_name(rk_.get()); }

int Producer::OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque) noexcept {
  internal::DeliverStats(rk, json, len, static_cast<Producer*>(opaque)->on_stats_);
  return 0;  // librdkafka frees `json`
}

}  // namespace kmirror::kafka
