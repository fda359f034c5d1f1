// Producer: an owning wrapper over a librdkafka producer handle.
//
// Records go in with Produce() (payloads copied) or ProduceBorrowed() (value not copied: the caller
// keeps it alive until its delivery report, which is how kmirror replicates without copying). The
// outcome of every accepted record arrives exactly once through the DeliveryCallback, run by Poll()
// or Flush() on the calling thread. Idempotence, acks, batching... come from the Properties.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/handles.h"
#include "lib/kafka/properties.h"
#include "lib/kafka/stats.h"
#include "lib/kafka/types.h"

namespace kmirror::kafka {

// One record to produce; every byte is copied by Produce().
struct ProduceRecord {
  std::string topic;
  int32_t partition = kPartitionAny;  // kPartitionAny: the configured partitioner decides.
  std::optional<std::string> key;     // nullopt: null key.
  std::optional<std::string> value;   // nullopt: null value (a tombstone), distinct from "".
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;  // 0: now.
  void* opaque = nullptr;    // Handed back in the DeliveryReport.
};

// One record for ProduceBorrowed(). The value bytes are NOT copied: they must stay valid and
// unchanged until this record's delivery report has been delivered, or, if the Producer is
// destroyed first, until its destructor has returned. The topic, key and headers are copied by
// librdkafka and may be released on return.
struct BorrowedRecord {
  std::string_view topic;
  int32_t partition = kPartitionAny;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<HeaderView> headers;
  int64_t timestamp_ms = 0;
  void* opaque = nullptr;
};

// The outcome of one produced record. `topic` views librdkafka memory valid only during the
// callback: copy it to keep it.
struct DeliveryReport {
  std::string_view topic;
  int32_t partition = kPartitionAny;
  int64_t offset = kOffsetInvalid;  // Assigned offset; kOffsetInvalid when unknown or failed.
  absl::Status status;              // OK when the broker acknowledged the record.
  PersistenceStatus persistence = PersistenceStatus::kNotPersisted;
  int64_t timestamp_ms = 0;
  TimestampType timestamp_type = TimestampType::kNotAvailable;
  size_t key_size = 0;
  size_t value_size = 0;
  void* opaque = nullptr;  // The record's opaque.
};

// Thread-safety: Produce(), ProduceBorrowed(), OutQueueLength() and FatalError() are thread-safe.
// Callbacks run inside Poll()/Flush() on the calling thread; call those from one thread at a time
// unless the callbacks are themselves thread-safe. Not movable (librdkafka holds `this`).
class Producer {
 public:
  using DeliveryCallback = std::function<void(const DeliveryReport&)>;

  // Creates the producer. `on_delivery` must be set; `on_error` defaults to logging. Callbacks must
  // not throw and must not destroy this Producer.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const Properties& properties,
                                                          DeliveryCallback on_delivery,
                                                          ErrorCallback on_error = nullptr,
                                                          StatsCallback on_stats = nullptr);

  // Does not flush: records still queued are dropped and their delivery reports may never be
  // delivered (nor their opaques released). Call Flush() first.
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Enqueues a copy of `record`. kUnavailable (retriable, QUEUE_FULL) when the local queue is full:
  // Poll() and retry. kInvalidArgument for an unknown partition or an oversized record,
  // kFailedPrecondition (IsFatal) once the producer hit a fatal error.
  absl::Status Produce(const ProduceRecord& record);

  // Zero-copy variant of Produce(): see BorrowedRecord for the lifetime contract of the value.
  absl::Status ProduceBorrowed(const BorrowedRecord& record);

  // Serves delivery reports and error callbacks for up to `timeout`. Returns the events served.
  int Poll(std::chrono::milliseconds timeout);

  // Waits until every queued record has its delivery report (served here), or `timeout` elapses:
  // then kUnavailable (TIMED_OUT) with records still in flight.
  absl::Status Flush(std::chrono::milliseconds timeout);

  // Drops records not yet sent to a broker; they get a delivery report with PURGE_QUEUE on the
  // next Poll(). For a bounded shutdown after a Flush() deadline.
  absl::Status PurgeQueued();

  // Records queued or in flight, plus events (delivery reports, errors) not yet served by Poll():
  // librdkafka's rd_kafka_outq_len(). Zero means fully drained.
  int OutQueueLength() const;

  // The fatal error raised by librdkafka (e.g. idempotence broken), or OK.
  absl::Status FatalError() const;

  // Asks the cluster for `topic`'s metadata now (partition count, leaders) instead of at the next
  // periodic refresh, so that records for partitions added since can be produced. Blocks up to
  // `timeout`; thread-safe.
  absl::Status RefreshMetadata(const std::string& topic, std::chrono::milliseconds timeout);

  // Kafka transactions, for a producer created with `transactional.id` (tools and tests that play
  // a transactional application): init once, then begin / produce / commit or abort.
  absl::Status InitTransactions(std::chrono::milliseconds timeout);
  absl::Status BeginTransaction();
  absl::Status CommitTransaction(std::chrono::milliseconds timeout);
  absl::Status AbortTransaction(std::chrono::milliseconds timeout);

  // librdkafka's client instance name (e.g. "rdkafka#producer-1").
  std::string name() const;

 private:
  Producer(DeliveryCallback on_delivery, ErrorCallback on_error, StatsCallback on_stats);

  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque) noexcept;
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque) noexcept;

  absl::Status ProduceImpl(const char* topic, int32_t partition, int flags, const void* key,
                           size_t key_size, const void* value, size_t value_size,
                           rd_kafka_headers_t* headers, int64_t timestamp_ms, void* opaque);

  DeliveryCallback on_delivery_;
  ErrorCallback on_error_;
  StatsCallback on_stats_;
  // Declared last so it is destroyed first, while the callbacks above are still valid.
  HandlePtr rk_;
};

}  // namespace kmirror::kafka
