// librdkafka-backed implementations of the flow's I/O seams (io.h), built on lib/kafka.
//
// KafkaSource: a group consumer on the source cluster (cooperative-sticky, never commits: progress
// lives on the target). KafkaSink: an idempotent producer on the target that produces borrowed
// (zero-copy) payloads. KafkaTargetTail: reads the end of remote partitions to find the last
// source offset written. The TopicAdmin seam is served by lib/topicsync (daemon/topic_sync.h).
// Each object is used from one thread (the flow's worker or discovery thread).
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "lib/kafka/properties.h"
#include "lib/replication/io.h"

namespace kmirror::replication {

class KafkaSource : public SourceClient {
 public:
  // `properties` must carry bootstrap.servers and group.id; replication settings are added here.
  static absl::StatusOr<std::unique_ptr<KafkaSource>> Create(
      kafka::Properties properties, kafka::StatsCallback on_stats = nullptr);
  void SetRebalanceHandler(RebalanceHandler handler) override { handler_ = std::move(handler); }
  absl::Status Subscribe(const std::vector<std::string>& topics) override;
  absl::Status Poll(std::chrono::milliseconds timeout, size_t max,
                    std::vector<SourceRecord>& records,
                    std::vector<SourcePartitionError>& errors) override;
  absl::Status Pause(const std::vector<SourcePartition>& partitions) override;
  absl::Status Resume(const std::vector<SourcePartition>& partitions) override;
  absl::Status Seek(const SourcePartition& partition, SourceOffset offset) override;
  std::optional<Watermarks> CachedWatermarks(const SourcePartition& partition) override;
  absl::StatusOr<Watermarks> QueryWatermarks(const SourcePartition& partition) override;
  absl::Status Close() override;

 private:
  KafkaSource() = default;
  void OnRebalance(kafka::RebalanceEvent& event);
  std::unique_ptr<kafka::Consumer> consumer_;
  RebalanceHandler handler_;
  std::vector<std::string> subscribed_;
};

// The producer is idempotent with the gapless guarantee: a record the target refuses makes
// librdkafka fail every later record (of every partition: the producer turns fatal), so nothing
// of a partition lands behind a refused record; Reset() then builds a new producer. Records for a
// partition the producer does not know yet are refused with kNotFound while a helper thread
// refreshes the topic's metadata.
class KafkaSink : public SinkClient {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaSink>> Create(kafka::Properties properties,
                                                           kafka::StatsCallback on_stats = nullptr);
  ~KafkaSink() override;
  absl::Status Send(const OutgoingRecord& record, uint64_t token) override;
  void Poll(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) override;
  absl::Status Flush(std::chrono::milliseconds timeout, std::vector<SinkAck>& acks) override;
  size_t Queued() const override;
  absl::Status Fatal() const override;
  absl::Status Reset() override;

 private:
  KafkaSink() = default;
  absl::Status NewProducer();
  void RefreshLoop();
  void RequestRefresh(const std::string& topic);

  kafka::Properties properties_;
  kafka::StatsCallback on_stats_;
  std::unique_ptr<kafka::Producer> producer_;
  std::vector<SinkAck>* acks_ = nullptr;  // set during Poll/Flush; delivery reports land here

  std::mutex producer_mu_;  // held by Reset() and by metadata refreshes (not by Send/Poll)
  // Metadata refreshes for topics with unknown partitions, off the flow's worker thread.
  std::mutex refresh_mu_;
  std::condition_variable refresh_cv_;
  std::set<std::string> refresh_topics_;
  bool refresh_stop_ = false;
  std::thread refresher_;
};

class KafkaTargetTail : public TargetTail {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaTargetTail>> Create(kafka::Properties properties);
  absl::StatusOr<std::map<TargetPartition, TailState>> Read(
      const std::vector<TargetPartition>& partitions, const std::string& source_alias) override;

 private:
  KafkaTargetTail() = default;
  // One pass reading the last `depth` records of each partition.
  absl::Status ReadPass(const std::vector<TargetPartition>& partitions, int64_t depth,
                        const std::string& source_alias, std::map<TargetPartition, TailState>& out);
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace kmirror::replication
