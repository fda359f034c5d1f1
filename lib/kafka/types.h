// Plain value types shared by the producer, consumer and admin wrappers of lib/kafka.
//
// Nothing here depends on librdkafka: the special offsets and partition values are librdkafka's
// numeric constants (checked by static_assert in client_util.cc) so they can travel through code
// and tests that never include rdkafka.h.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>

#include "absl/status/status.h"

namespace kmirror::kafka {

// Logical offsets understood by Assign(), SeekPartitions() and Committed() results.
inline constexpr int64_t kOffsetBeginning = -2;   // RD_KAFKA_OFFSET_BEGINNING
inline constexpr int64_t kOffsetEnd = -1;         // RD_KAFKA_OFFSET_END
inline constexpr int64_t kOffsetStored = -1000;   // RD_KAFKA_OFFSET_STORED (committed offset)
inline constexpr int64_t kOffsetInvalid = -1001;  // RD_KAFKA_OFFSET_INVALID (none / unknown)

// "Let the partitioner choose" (RD_KAFKA_PARTITION_UA).
inline constexpr int32_t kPartitionAny = -1;

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const TopicPartition& a, const TopicPartition& b) {
    return a.partition == b.partition && a.topic == b.topic;
  }
  friend bool operator!=(const TopicPartition& a, const TopicPartition& b) { return !(a == b); }
  friend bool operator<(const TopicPartition& a, const TopicPartition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// A partition with an offset: what to assign/seek/commit, or what a query returned. `status` is the
// per-partition outcome in results (OK in requests). `metadata` is the commit metadata string.
struct TopicPartitionOffset {
  TopicPartitionOffset() = default;
  // Brace-friendly: {"topic", 0, kOffsetBeginning} (partial aggregate init would trip
  // -Wmissing-field-initializers).
  TopicPartitionOffset(std::string topic, int32_t partition, int64_t offset = kOffsetInvalid,
                       std::string metadata = {})
      : topic(std::move(topic)),
        partition(partition),
        offset(offset),
        metadata(std::move(metadata)) {}

  std::string topic;
  int32_t partition = 0;
  int64_t offset = kOffsetInvalid;
  std::string metadata;
  absl::Status status;

  TopicPartition tp() const { return TopicPartition{topic, partition}; }
};

// Low watermark (log start offset) and high watermark (offset of the next record) of a partition.
struct Watermarks {
  int64_t low = kOffsetInvalid;
  int64_t high = kOffsetInvalid;

  friend bool operator==(const Watermarks& a, const Watermarks& b) {
    return a.low == b.low && a.high == b.high;
  }
};

// A record header to produce. A nullopt value is a null header value (distinct from empty).
struct Header {
  std::string name;
  std::optional<std::string> value;
};

// A header of a consumed record; views into the Message that returned it.
struct HeaderView {
  std::string_view name;
  std::optional<std::string_view> value;
};

enum class TimestampType {
  kNotAvailable = 0,
  kCreateTime = 1,
  kLogAppendTime = 2,
};
std::string_view ToString(TimestampType type);

// Whether a produced record may have reached the broker; decides between "resend" and "maybe
// duplicate" after a failure.
enum class PersistenceStatus {
  kNotPersisted = 0,
  kPossiblyPersisted = 1,
  kPersisted = 2,
};
std::string_view ToString(PersistenceStatus status);

// Receives client-level errors (broker down, authentication failure, fatal idempotence errors)
// that are not tied to one record. Runs on the thread that calls the client's Poll().
using ErrorCallback = std::function<void(const absl::Status&)>;

// "topic[partition]" for logs and error messages.
std::string ToString(const TopicPartition& tp);

}  // namespace kmirror::kafka
