#include "lib/kafka/types.h"

#include <librdkafka/rdkafka.h>

#include "absl/strings/str_cat.h"

namespace kmirror::kafka {

static_assert(kOffsetBeginning == RD_KAFKA_OFFSET_BEGINNING);
static_assert(kOffsetEnd == RD_KAFKA_OFFSET_END);
static_assert(kOffsetStored == RD_KAFKA_OFFSET_STORED);
static_assert(kOffsetInvalid == RD_KAFKA_OFFSET_INVALID);
static_assert(kPartitionAny == RD_KAFKA_PARTITION_UA);
static_assert(static_cast<int>(TimestampType::kCreateTime) == RD_KAFKA_TIMESTAMP_CREATE_TIME);
static_assert(static_cast<int>(TimestampType::kLogAppendTime) ==
              RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME);
static_assert(static_cast<int>(PersistenceStatus::kPersisted) == RD_KAFKA_MSG_STATUS_PERSISTED);
static_assert(static_cast<int>(PersistenceStatus::kPossiblyPersisted) ==
              RD_KAFKA_MSG_STATUS_POSSIBLY_PERSISTED);

std::string_view ToString(TimestampType type) {
  switch (type) {
    case TimestampType::kNotAvailable:
      return "NotAvailable";
    case TimestampType::kCreateTime:
      return "CreateTime";
    case TimestampType::kLogAppendTime:
      return "LogAppendTime";
  }
  return "NotAvailable";
}

std::string_view ToString(PersistenceStatus status) {
  switch (status) {
    case PersistenceStatus::kNotPersisted:
      return "NotPersisted";
    case PersistenceStatus::kPossiblyPersisted:
      return "PossiblyPersisted";
    case PersistenceStatus::kPersisted:
      return "Persisted";
  }
  return "NotPersisted";
}

std::string ToString(const TopicPartition& tp) {
  return absl::StrCat(tp.topic, "[", tp.partition, "]");
}

}  // namespace kmirror::kafka
