// Consumer: an owning wrapper over a librdkafka high-level consumer handle, and Message, an owning
// wrapper over one consumed record.
//
// Partitions come either from manual assignment (Assign) or from the group protocol (Subscribe);
// with a subscription the wrapper performs the (incremental, for cooperative-sticky) assignment
// itself after letting the RebalanceCallback see, and adjust, the partitions. Messages keep their
// bytes in librdkafka's buffers, so key()/value() are views: keep the Message alive instead of
// copying (e.g. until the replicated record's delivery report).
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

// One consumed record, or a per-partition consumer error (status() not OK: e.g. kResourceExhausted
// for partition EOF, kOutOfRange for offset out of range with auto.offset.reset=error). Move-only.
// Thread-compatible. Every Message must be destroyed before the Consumer that returned it.
class Message {
 public:
  explicit Message(MessagePtr msg);
  Message(Message&&) noexcept = default;
  Message& operator=(Message&&) noexcept = default;
  ~Message() = default;

  std::string_view topic() const;
  int32_t partition() const;
  int64_t offset() const;
  // nullopt for a null key/value (and for the value of an error message); an empty view for an
  // empty one.
  std::optional<std::string_view> key() const;
  std::optional<std::string_view> value() const;
  // All headers in record order (names may repeat).
  std::vector<HeaderView> headers() const;
  // The last header called `name`: nullopt if absent; a present header may have a null value.
  std::optional<std::optional<std::string_view>> header(std::string_view name) const;
  int64_t timestamp_ms() const;
  TimestampType timestamp_type() const;
  // OK for a record; the per-partition error otherwise.
  absl::Status status() const;
  bool ok() const;
  bool is_partition_eof() const;
  // Key plus value bytes.
  size_t size() const;

 private:
  MessagePtr msg_;
};

struct RebalanceEvent {
  enum class Type {
    kAssign,  // Partitions given to this member.
    kRevoke,  // Partitions taken away after an orderly rebalance (commit first if needed).
    kLost,    // Partitions revoked because the member lost its group membership (others may
              // already own them: do not commit).
    kError,   // The rebalance failed; `status` says why. The wrapper unassigns everything.
  };
  Type type = Type::kAssign;
  // True when the group uses the COOPERATIVE protocol (cooperative-sticky): `partitions` is then
  // the increment, otherwise the whole new assignment (kAssign) or all partitions (kRevoke).
  bool cooperative = false;
  // For kAssign the hook may set each offset (default kOffsetInvalid: resume at the committed
  // offset, else auto.offset.reset); the wrapper assigns exactly these partitions and offsets.
  std::vector<TopicPartitionOffset> partitions;
  absl::Status status;
};
std::string_view ToString(RebalanceEvent::Type type);

// Thread-safety: Poll(), ConsumeBatch() and Close() — which run the rebalance and error callbacks —
// must be called from one thread at a time. The other methods are thread-safe (librdkafka locks),
// but assignment changes are normally made from the polling thread. Not movable.
class Consumer {
 public:
  using RebalanceCallback = std::function<void(RebalanceEvent&)>;

  // `properties` must contain group.id (librdkafka 2.0.2 cannot poll a consumer without one, even
  // with manual assignment; set enable.auto.commit=false to never touch the group). Callbacks must
  // not throw, must not destroy the Consumer, and must not call Poll()/ConsumeBatch().
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(const Properties& properties,
                                                          RebalanceCallback on_rebalance = nullptr,
                                                          ErrorCallback on_error = nullptr,
                                                          StatsCallback on_stats = nullptr);
  // Close()s (leaving the group) if not done yet, then destroys the handle.
  ~Consumer();
  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Group subscription; the rebalance callback runs inside Poll()/ConsumeBatch()/Close().
  absl::Status Subscribe(const std::vector<std::string>& topics);
  absl::Status Unsubscribe();

  // Manual (eager) assignment; replaces the whole assignment. Offsets may be absolute or
  // kOffsetBeginning / kOffsetEnd / kOffsetStored / kOffsetInvalid (= stored).
  absl::Status Assign(const std::vector<TopicPartitionOffset>& partitions);
  absl::Status Unassign();
  // Adds to / removes from the current assignment (also valid without a group subscription).
  absl::Status IncrementalAssign(const std::vector<TopicPartitionOffset>& partitions);
  absl::Status IncrementalUnassign(const std::vector<TopicPartition>& partitions);
  absl::StatusOr<std::vector<TopicPartition>> Assignment() const;
  // True if the current assignment was lost (see RebalanceEvent::Type::kLost).
  bool AssignmentLost() const;
  // "COOPERATIVE", "EAGER" or "NONE" (no group protocol chosen yet).
  std::string RebalanceProtocol() const;

  // Waits up to `timeout` for one record or per-partition error (returned as a Message) and serves
  // callbacks. nullopt when nothing arrived. A non-OK status is a client-level error (fatal ones
  // have IsFatal()); per-partition errors come back as Messages.
  absl::StatusOr<std::optional<Message>> Poll(std::chrono::milliseconds timeout);
  // Waits up to `timeout` for the first message, then takes whatever else is already fetched,
  // up to `max_messages` in total. Empty when nothing arrived. Like Poll(), elements may be
  // per-partition errors (check ok()); a client-level error met after the first message is
  // returned by the next call.
  absl::StatusOr<std::vector<Message>> ConsumeBatch(std::chrono::milliseconds timeout,
                                                    size_t max_messages);

  // Synchronously commits `offsets` (the offset of the next record to read) to the group; waits
  // for the coordinator up to `timeout` (then kUnavailable, TIMED_OUT; the commit may still land).
  // The first per-partition failure is returned.
  absl::Status Commit(const std::vector<TopicPartitionOffset>& offsets,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Commits the current positions of all assigned partitions. OK if there is nothing to commit.
  absl::Status CommitPositions(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The group's committed offsets (kOffsetInvalid when none), with per-partition status.
  absl::StatusOr<std::vector<TopicPartitionOffset>> Committed(
      const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout);
  // The offset of the next record the consumer will return per partition (kOffsetInvalid if none
  // was consumed yet).
  absl::StatusOr<std::vector<TopicPartitionOffset>> Position(
      const std::vector<TopicPartition>& partitions) const;

  // Asks the partition leader for the current low/high watermarks.
  absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                             std::chrono::milliseconds timeout);
  // The watermarks last seen in fetch responses (no request); kOffsetInvalid parts until known.
  absl::StatusOr<Watermarks> GetWatermarksCached(const std::string& topic, int32_t partition) const;
  // For each element, `offset` holds a timestamp (ms); the result holds the earliest offset whose
  // timestamp is >= it (kOffsetEnd if none), with per-partition status.
  absl::StatusOr<std::vector<TopicPartitionOffset>> OffsetsForTimes(
      const std::vector<TopicPartitionOffset>& timestamps, std::chrono::milliseconds timeout);

  // Stops/restarts fetching the given assigned partitions. The first per-partition error is
  // returned.
  absl::Status Pause(const std::vector<TopicPartition>& partitions);
  absl::Status Resume(const std::vector<TopicPartition>& partitions);
  // Moves the fetch position of assigned partitions (absolute or logical offsets); waits up to
  // `timeout` for each seek to be applied.
  absl::Status SeekPartitions(const std::vector<TopicPartitionOffset>& offsets,
                              std::chrono::milliseconds timeout);
  // Moves one assigned partition's fetch position. Unlike SeekPartitions it also works on a
  // partition whose fetcher stopped after an error (auto.offset.reset=error), by removing and
  // re-adding it to the assignment (cooperative rebalancing only).
  absl::Status Reposition(const TopicPartitionOffset& offset, std::chrono::milliseconds timeout);

  // Leaves the group (revoking through the rebalance callback) and stops fetching. Blocks until
  // the group is left (bounded by librdkafka's request timeouts). Idempotent: later calls return
  // the first call's result.
  absl::Status Close();

  // The fatal error raised by librdkafka, or OK.
  absl::Status FatalError() const;
  // The group member id ("" before joining).
  std::string MemberId() const;
  std::string name() const;

 private:
  Consumer(RebalanceCallback on_rebalance, ErrorCallback on_error, StatsCallback on_stats);

  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions, void* opaque) noexcept;
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) noexcept;
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque) noexcept;
  void HandleRebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* partitions);
  // Turns what rd_kafka_consumer_poll() returned into a Message or a client-level error.
  absl::StatusOr<std::optional<Message>> Wrap(rd_kafka_message_t* msg);
  absl::Status CommitList(const rd_kafka_topic_partition_list_t* list,
                          std::chrono::milliseconds timeout);

  RebalanceCallback on_rebalance_;
  ErrorCallback on_error_;
  StatsCallback on_stats_;
  bool closed_ = false;
  bool assigned_once_ = false;  // a group assignment was received (see ~Consumer)
  absl::Status close_status_;
  // A client-level error met in the middle of a ConsumeBatch(); returned by the next call.
  absl::Status pending_error_;
  // Declared last so it is destroyed first, while the callbacks above are still valid.
  HandlePtr rk_;
};

}  // namespace kmirror::kafka
