// Helpers shared by lib/kafka's clients (producer, consumer, admin). Internal to lib/kafka.
//
// Conversions between plain vectors and rd_kafka_topic_partition_list_t, client creation with
// kmirror's log routing, and the few queries that both the consumer and the admin client offer
// (watermarks, offsets for times). All functions are thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/handles.h"
#include "lib/kafka/properties.h"
#include "lib/kafka/stats.h"
#include "lib/kafka/types.h"

namespace kmirror::kafka::internal {

// Milliseconds for librdkafka's int timeouts, clamped to [0, INT_MAX].
int TimeoutMs(std::chrono::milliseconds timeout);

PartitionListPtr ToPartitionList(const std::vector<TopicPartition>& partitions);
PartitionListPtr ToPartitionList(const std::vector<TopicPartitionOffset>& partitions);
// Copies topic, partition, offset, metadata and the per-partition error of each element.
std::vector<TopicPartitionOffset> FromPartitionList(const rd_kafka_topic_partition_list_t* list);
std::vector<TopicPartition> PartitionsFromList(const rd_kafka_topic_partition_list_t* list);
// The first per-partition error of `list` (OK if none), naming the partition.
absl::Status FirstPartitionError(const rd_kafka_topic_partition_list_t* list,
                                 std::string_view context);

// Builds the configuration from `properties`, routes librdkafka's log lines to the spdlog logger
// "rdkafka", lets `customize` install callbacks, then creates the client.
template <typename Customize>
absl::StatusOr<HandlePtr> NewClient(rd_kafka_type_t type, const Properties& properties,
                                    Customize&& customize);
absl::StatusOr<ConfPtr> BuildClientConf(const Properties& properties);
absl::StatusOr<HandlePtr> CreateHandle(rd_kafka_type_t type, ConfPtr conf);

template <typename Customize>
absl::StatusOr<HandlePtr> NewClient(rd_kafka_type_t type, const Properties& properties,
                                    Customize&& customize) {
  absl::StatusOr<ConfPtr> conf = BuildClientConf(properties);
  if (!conf.ok()) return conf.status();
  customize(conf->get());
  return CreateHandle(type, *std::move(conf));
}

absl::StatusOr<Watermarks> QueryWatermarks(rd_kafka_t* rk, const std::string& topic,
                                           int32_t partition, std::chrono::milliseconds timeout);
absl::StatusOr<Watermarks> GetWatermarksCached(rd_kafka_t* rk, const std::string& topic,
                                               int32_t partition);
absl::StatusOr<std::vector<TopicPartitionOffset>> OffsetsForTimes(
    rd_kafka_t* rk, const std::vector<TopicPartitionOffset>& timestamps,
    std::chrono::milliseconds timeout);

// Parses one statistics document and hands it to `callback`; an unparseable one is logged.
void DeliverStats(rd_kafka_t* rk, const char* json, size_t len, const StatsCallback& callback);

// Logs a non-fatal client error reported through librdkafka's error_cb.
void LogClientError(rd_kafka_t* rk, const absl::Status& status);

}  // namespace kmirror::kafka::internal
