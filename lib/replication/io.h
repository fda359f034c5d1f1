// The I/O seams of a replication flow: where records come from (SourceClient), where they go
// (SinkClient), and how a restarted flow learns what the target already holds (TargetTail).
//
// Production implementations over librdkafka live in kafka_io.h and are wired in daemon/; unit
// tests drive the same Flow with fakes. All three are used from the flow's worker thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/kafka/types.h"

namespace kmirror::replication {

using HeaderView = kafka::HeaderView;

// A record read from the source. The views stay valid as long as `owner` lives: the flow keeps the
// owner until the target acknowledged the copy (zero-copy from consume to produce).
struct SourceRecord {
  SourcePartition partition;
  SourceOffset offset;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<HeaderView> headers;
  int64_t timestamp_ms = 0;
  size_t bytes = 0;  // key + value + headers, for the in-flight bound and throughput
  std::shared_ptr<const void> owner;
};

// A partition-level event reported by the source: a problem (e.g. the position fell below the log
// start), or, with an OK status, the end of the partition reached at `offset`: every record below
// it has been delivered, so offsets after the last record up to it hold none (transaction
// markers, aborted records for a read_committed reader, records removed by compaction).
struct SourcePartitionError {
  SourcePartition partition;
  SourceOffset offset;  // the position that failed, or the end reached
  absl::Status status;  // kOutOfRange for "offset out of range"; OK for "end reached"
};

struct Watermarks {
  int64_t low = -1;
  int64_t high = -1;
};

enum class RebalanceKind { kAssigned, kRevoked, kLost };

class SourceClient {
 public:
  // Called from inside Poll(). For kAssigned the handler fills `start` (same size and order as
  // `partitions`) with the offset to consume from; for kRevoked/kLost it must stop using them.
  using RebalanceHandler =
      std::function<void(RebalanceKind kind, const std::vector<SourcePartition>& partitions,
                         std::vector<SourceOffset>& start)>;
  virtual ~SourceClient() = default;
  virtual void SetRebalanceHandler(RebalanceHandler handler) = 0;
  virtual absl::Status Subscribe(const std::vector<std::string>& topics) = 0;
  // Appends up to `max` records and any partition errors.
  virtual absl::Status Poll(std::chrono::milliseconds timeout, size_t max,
                            std::vector<SourceRecord>& records,
                            std::vector<SourcePartitionError>& errors) = 0;
  virtual absl::Status Pause(const std::vector<SourcePartition>& partitions) = 0;
  virtual absl::Status Resume(const std::vector<SourcePartition>& partitions) = 0;
  virtual absl::Status Seek(const SourcePartition& partition, SourceOffset offset) = 0;
  // Last known watermarks from fetch responses (no request), nullopt if unknown yet.
  virtual std::optional<Watermarks> CachedWatermarks(const SourcePartition& partition) = 0;
  virtual absl::StatusOr<Watermarks> QueryWatermarks(const SourcePartition& partition) = 0;
  virtual absl::Status Close() = 0;
};

struct OutgoingRecord {
  TargetPartition partition;
  std::optional<std::string_view> key;
  std::optional<std::string_view> value;
  std::vector<HeaderView> headers;  // provenance already added by the flow when enabled
  int64_t timestamp_ms = 0;
};

struct SinkAck {
  uint64_t token = 0;
  absl::Status status;  // OK once the target acknowledged
  TargetOffset offset;
  // With a failed status: true when the target refused this very record (too large, invalid
  // timestamp, not authorized, policy: a retry would get the same verdict); false when it was
  // only not written (purged, fenced, producer reset) and may be sent again.
  bool refused = false;
};

// A sink never writes a record of a partition after one of that partition it failed to write: a
// refused record stops everything behind it (Kafka's idempotent producer with the gapless
// guarantee), so what a target partition holds is always a prefix of what was sent to it.
class SinkClient {
 public:
  virtual ~SinkClient() = default;
  // Queues a record; its views must stay valid until the ack for `token` is returned by Poll (or
  // until Reset() returned). On error nothing was queued:
  //   kUnavailable        the local queue is full: retry after Poll;
  //   kNotFound           the client does not know the partition yet (its metadata is being
  //                       refreshed): retry this partition later;
  //   kFailedPrecondition the sink is broken (Fatal()): Reset() it;
  //   anything else       this record can never be sent (e.g. larger than the client allows).
  virtual absl::Status Send(const OutgoingRecord& record, uint64_t token) = 0;
  // Serves delivery reports, appending acks.
  virtual void Poll(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) = 0;
  virtual absl::Status Flush(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) = 0;
  virtual size_t Queued() const = 0;
  // OK, or the error that broke the sink: it delivers nothing more until Reset().
  virtual absl::Status Fatal() const = 0;
  // Replaces a broken client with a new one. Records without an ack by then are never
  // acknowledged: the caller forgets them (they may or may not be on the target).
  virtual absl::Status Reset() = 0;
};

// What the target already holds for a partition of this flow.
struct TailState {
  Watermarks target;                 // the remote partition's watermarks
  std::optional<SourceOffset> last;  // last source offset written there by this flow's source
  int64_t records_read = 0;          // records examined at the end of the partition
};

class TargetTail {
 public:
  virtual ~TargetTail() = default;
  // Finds, for each remote partition, the newest record whose provenance says it came from
  // `source_alias`, however far back it is. Partitions that could not be read (no leader, not
  // there yet) are left out of the map; an error means none could be read.
  virtual absl::StatusOr<std::map<TargetPartition, TailState>> Read(
      const std::vector<TargetPartition>& partitions, const std::string& source_alias) = 0;
};

// Creates and grows remote topics and lists topics on both sides; used by the flow's discovery
// step. Implementations log each change they make (the daemon's goes through lib/topicsync).
struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
};

class TopicAdmin {
 public:
  virtual ~TopicAdmin() = default;
  virtual absl::StatusOr<std::vector<TopicInfo>> ListSourceTopics() = 0;
  virtual absl::StatusOr<std::vector<TopicInfo>> ListTargetTopics() = 0;
  // Creates `remote` for the source topic `source` with its partition count. OK if it exists.
  virtual absl::Status CreateTargetTopic(const TopicInfo& source, const std::string& remote,
                                         int replication_factor) = 0;
  // Grows `remote` (now `current` partitions) to `source.partitions`.
  virtual absl::Status AddTargetPartitions(const TopicInfo& source, const std::string& remote,
                                           int32_t current) = 0;
};

}  // namespace kmirror::replication
