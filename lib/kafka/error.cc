#include "lib/kafka/error.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "fmt/format.h"

namespace kmirror::kafka {
namespace {

constexpr absl::string_view kCodeUrl = "kmirror.kafka/error_code";
constexpr absl::string_view kFatalUrl = "kmirror.kafka/fatal";
constexpr absl::string_view kRetriableUrl = "kmirror.kafka/retriable";
constexpr absl::string_view kAbortUrl = "kmirror.kafka/txn_requires_abort";

absl::StatusCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
    case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
      return absl::StatusCode::kUnavailable;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
      return absl::StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR_GROUP_ID_NOT_FOUND:
    case RD_KAFKA_RESP_ERR_RESOURCE_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
      return absl::StatusCode::kPermissionDenied;
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
      return absl::StatusCode::kOutOfRange;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
      return absl::StatusCode::kResourceExhausted;
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
      return absl::StatusCode::kFailedPrecondition;
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
    case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
      return absl::StatusCode::kUnimplemented;
    case RD_KAFKA_RESP_ERR__DESTROY:
      return absl::StatusCode::kCancelled;
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status Make(rd_kafka_resp_err_t err, std::string_view context, std::string_view detail,
                  bool fatal, bool retriable, bool abort) {
  absl::StatusCode code = fatal ? absl::StatusCode::kFailedPrecondition : CodeFor(err);
  if (retriable && code != absl::StatusCode::kFailedPrecondition) {
    code = absl::StatusCode::kUnavailable;
  }
  absl::Status status(code, fmt::format("{}: {} ({})", context, detail, rd_kafka_err2name(err)));
  status.SetPayload(kCodeUrl, absl::Cord(absl::StrCat(static_cast<int>(err))));
  if (fatal) status.SetPayload(kFatalUrl, absl::Cord("1"));
  if (retriable || code == absl::StatusCode::kUnavailable) {
    status.SetPayload(kRetriableUrl, absl::Cord("1"));
  }
  if (abort) status.SetPayload(kAbortUrl, absl::Cord("1"));
  return status;
}

}  // namespace

absl::Status ErrorStatus(rd_kafka_resp_err_t err, std::string_view context) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return Make(err, context, rd_kafka_err2str(err), err == RD_KAFKA_RESP_ERR__FATAL, false, false);
}

absl::Status ErrorStatus(const rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return absl::OkStatus();
  return Make(rd_kafka_error_code(error), context, rd_kafka_error_string(error),
              rd_kafka_error_is_fatal(error), rd_kafka_error_is_retriable(error),
              rd_kafka_error_txn_requires_abort(error));
}

absl::Status FatalErrorStatus(rd_kafka_t* rk, std::string_view context) {
  char errstr[512] = {0};
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk, errstr, sizeof(errstr));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return Make(err, context, absl::StrCat("fatal error: ", errstr), /*fatal=*/true, false, false);
}

std::optional<rd_kafka_resp_err_t> KafkaErrorCode(const absl::Status& status) {
  auto payload = status.GetPayload(kCodeUrl);
  int code = 0;
  if (!payload || !absl::SimpleAtoi(std::string(*payload), &code)) return std::nullopt;
  return static_cast<rd_kafka_resp_err_t>(code);
}

bool IsRetriable(const absl::Status& status) {
  return status.GetPayload(kRetriableUrl).has_value();
}
bool IsFatal(const absl::Status& status) { return status.GetPayload(kFatalUrl).has_value(); }
bool TxnRequiresAbort(const absl::Status& status) {
  return status.GetPayload(kAbortUrl).has_value();
}

ProduceFailure ClassifyProduceFailure(const absl::Status& status) {
  auto code = KafkaErrorCode(status);
  if (code == RD_KAFKA_RESP_ERR__QUEUE_FULL) return ProduceFailure::kQueueFull;
  if (code == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
    return ProduceFailure::kUnknownPartition;
  }
  if (IsFatal(status) || code == RD_KAFKA_RESP_ERR__FATAL) return ProduceFailure::kFatal;
  if (!code || IsRetriable(status)) return ProduceFailure::kNotWritten;
  switch (*code) {
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
    case RD_KAFKA_RESP_ERR__DESTROY:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__STATE:
    case RD_KAFKA_RESP_ERR__INCONSISTENT:
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return ProduceFailure::kNotWritten;
    default:
      return ProduceFailure::kRefused;
  }
}

}  // namespace kmirror::kafka
