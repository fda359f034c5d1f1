#include "lib/kafka/client_util.h"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "lib/common/logging.h"
#include "lib/common/status.h"
#include "lib/kafka/conf.h"
#include "lib/kafka/error.h"

namespace kmirror::kafka {

namespace internal {
namespace {

using ::kmirror::common::ToAbsl;

// librdkafka log callback; runs on librdkafka's internal threads (spdlog is thread-safe).
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* buf) noexcept {
  // Leaked on purpose: librdkafka threads may still log while static destructors run.
  static const auto* const logger = new std::shared_ptr<spdlog::logger>(common::Logger("rdkafka"));
  spdlog::level::level_enum lvl;
  if (level <= 2) {
    lvl = spdlog::level::critical;
  } else if (level == 3) {
    lvl = spdlog::level::err;
  } else if (level == 4) {
    lvl = spdlog::level::warn;
  } else if (level <= 6) {
    lvl = spdlog::level::info;
  } else {
    lvl = spdlog::level::debug;
  }
  (*logger)->log(lvl, "client={} facility={} msg=\"{}\"", rd_kafka_name(rk), facility, buf);
}

}  // namespace

int TimeoutMs(std::chrono::milliseconds timeout) {
  return static_cast<int>(std::clamp<int64_t>(timeout.count(), 0, INT_MAX));
}

PartitionListPtr ToPartitionList(const std::vector<TopicPartition>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartition& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  return list;
}

PartitionListPtr ToPartitionList(const std::vector<TopicPartitionOffset>& partitions) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const TopicPartitionOffset& tpo : partitions) {
    rd_kafka_topic_partition_t* p =
        rd_kafka_topic_partition_list_add(list.get(), tpo.topic.c_str(), tpo.partition);
    p->offset = tpo.offset;
    if (!tpo.metadata.empty()) {
      // librdkafka frees `metadata` with free() when the list is destroyed.
      p->metadata = malloc(tpo.metadata.size());
      if (p->metadata != nullptr) {
        memcpy(p->metadata, tpo.metadata.data(), tpo.metadata.size());
        p->metadata_size = tpo.metadata.size();
      }
    }
  }
  return list;
}

std::vector<TopicPartitionOffset> FromPartitionList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartitionOffset> out;
  if (list == nullptr) return out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    TopicPartitionOffset tpo;
    tpo.topic = p.topic;
    tpo.partition = p.partition;
    tpo.offset = p.offset;
    if (p.metadata != nullptr && p.metadata_size > 0) {
      tpo.metadata.assign(static_cast<const char*>(p.metadata), p.metadata_size);
    }
    tpo.status = ErrorStatus(p.err, absl::StrCat(p.topic, "[", p.partition, "]"));
    out.push_back(std::move(tpo));
  }
  return out;
}

std::vector<TopicPartition> PartitionsFromList(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(list->cnt);
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back(TopicPartition{list->elems[i].topic, list->elems[i].partition});
  }
  return out;
}

absl::Status FirstPartitionError(const rd_kafka_topic_partition_list_t* list,
                                 std::string_view context) {
  if (list == nullptr) return absl::OkStatus();
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (p.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return ErrorStatus(p.err, absl::StrCat(ToAbsl(context), " ", p.topic, "[", p.partition, "]"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfPtr> BuildClientConf(const Properties& properties) {
  absl::StatusOr<ConfPtr> conf = BuildConf(properties);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_log_cb(conf->get(), &LogCallback);
  return conf;
}

absl::StatusOr<HandlePtr> CreateHandle(rd_kafka_type_t type, ConfPtr conf) {
  char errstr[512] = {0};
  HandlePtr rk(rd_kafka_new(type, conf.get(), errstr, sizeof(errstr)));
  if (rk == nullptr) {
    // rd_kafka_new() keeps the configuration only on success; `conf` frees it here.
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot create Kafka ", type == RD_KAFKA_PRODUCER ? "producer" : "consumer", ": ", errstr));
  }
  conf.release();  // Now owned by rk.
  return rk;
}

absl::StatusOr<Watermarks> QueryWatermarks(rd_kafka_t* rk, const std::string& topic,
                                           int32_t partition, std::chrono::milliseconds timeout) {
  Watermarks w;
  rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), partition, &w.low,
                                                             &w.high, TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, absl::StrCat("query watermarks ", topic, "[", partition, "]"));
  }
  return w;
}

absl::StatusOr<Watermarks> GetWatermarksCached(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition) {
  Watermarks w;
  rd_kafka_resp_err_t err =
      rd_kafka_get_watermark_offsets(rk, topic.c_str(), partition, &w.low, &w.high);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return ErrorStatus(err, absl::StrCat("cached watermarks ", topic, "[", partition, "]"));
  }
  return w;
}

absl::StatusOr<std::vector<TopicPartitionOffset>> OffsetsForTimes(
    rd_kafka_t* rk, const std::vector<TopicPartitionOffset>& timestamps,
    std::chrono::milliseconds timeout) {
  if (timestamps.empty()) return std::vector<TopicPartitionOffset>{};
  PartitionListPtr list = ToPartitionList(timestamps);
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list.get(), TimeoutMs(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return ErrorStatus(err, "offsets for times");
  return FromPartitionList(list.get());
}

void DeliverStats(rd_kafka_t* rk, const char* json, size_t len, const StatsCallback& callback) {
  absl::StatusOr<ClientStats> stats = ParseStats(std::string_view(json, len));
  if (!stats.ok()) {
    LogClientError(rk, stats.status());
    return;
  }
  callback(*stats);
}

void LogClientError(rd_kafka_t* rk, const absl::Status& status) {
  static const auto* const logger = new std::shared_ptr<spdlog::logger>(common::Logger("kafka"));
  (*logger)->warn("client={} msg=\"{}\"", rd_kafka_name(rk), status.message());
}

}  // namespace internal
}  // namespace kmirror::kafka
