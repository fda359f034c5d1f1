// The one place where librdkafka errors become absl::Status.
//
// The status code follows kmirror's convention (kUnavailable: retry with backoff,
// kFailedPrecondition: stop and alert, kDataLoss: page someone, kInvalidArgument: bad input), and
// the librdkafka details survive as payloads: the numeric error code, and the fatal / retriable /
// txn-requires-abort bits of an rd_kafka_error_t. Callers branch on IsRetriable()/IsFatal(), never
// on message text.
//
// Consumer-side codes: OFFSET_OUT_OF_RANGE and AUTO_OFFSET_RESET (what a consumer with
// auto.offset.reset=error gets when its position is outside the log, e.g. retention overtook it)
// are kOutOfRange; PARTITION_EOF (enable.partition.eof, informational) is kResourceExhausted, so
// the two never mix up. Prefer Message::is_partition_eof() for EOF.
#pragma once

#include <librdkafka/rdkafka.h>

#include <optional>
#include <string_view>

#include "absl/status/status.h"

namespace kmirror::kafka {

// Maps a response error to a status. NO_ERROR gives OkStatus. `context` names what was attempted.
absl::Status ErrorStatus(rd_kafka_resp_err_t err, std::string_view context);

// Maps an rd_kafka_error_t (may be null => OK) keeping its fatal/retriable/abort bits. Does not
// take ownership.
absl::Status ErrorStatus(const rd_kafka_error_t* error, std::string_view context);

// The fatal error raised on client `rk` (rd_kafka_fatal_error), or OK if none. The status carries
// the underlying error code and the fatal bit.
absl::Status FatalErrorStatus(rd_kafka_t* rk, std::string_view context);

// The librdkafka error code carried by a status made above, if any.
std::optional<rd_kafka_resp_err_t> KafkaErrorCode(const absl::Status& status);

// True when librdkafka (or the code mapping) says the operation may succeed if retried.
bool IsRetriable(const absl::Status& status);
// True when librdkafka flagged the error fatal: the client instance must be recreated.
bool IsFatal(const absl::Status& status);
// True when a transaction must be aborted.
bool TxnRequiresAbort(const absl::Status& status);

// What a failed produce (at Produce() time or in a delivery report) means for the record.
enum class ProduceFailure {
  kQueueFull,         // local queue full: nothing queued, retry after polling
  kUnknownPartition,  // the client does not know the topic or partition (stale metadata)
  kFatal,             // the producer is broken and must be recreated
  kNotWritten,        // not written only (purged, timed out, fenced, sequence lost): may be resent
  kRefused,           // the cluster's verdict on the record itself (too large, invalid, denied)
};
ProduceFailure ClassifyProduceFailure(const absl::Status& status);

}  // namespace kmirror::kafka
