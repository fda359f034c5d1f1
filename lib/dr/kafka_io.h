// The control plane's seams (seams.h) on Kafka, through lib/kafka: a cluster view over an admin
// client and a tail reader, the drill's canary and comparison I/O, and the preservation of
// divergent records (kafka_divergence.cc).
//
// Thread-safe: each object serialises its own clients.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "lib/dr/seams.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/properties.h"
#include "lib/offsets/kafka_io.h"
#include "lib/replication/kafka_io.h"

namespace kmirror::dr {

// Reads kmirror's provenance header for lib/offsets' target index.
offsets::ProvenanceDecoder ProvenanceIndexDecoder();

class KafkaCluster final : public Cluster {
 public:
  // `properties` address the cluster; `reader_group` names the group.id of the tail reader
  // (never joined: partitions are assigned).
  static absl::StatusOr<std::unique_ptr<KafkaCluster>> Create(kafka::Properties properties,
                                                              std::string reader_group);
  absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition) override;
  absl::StatusOr<std::map<std::string, int32_t>> Topics() override;
  absl::Status EnsureTopic(const std::string& topic, int32_t partitions) override;
  absl::StatusOr<std::map<TargetPartition, replication::TailState>> Tails(
      const std::vector<TargetPartition>& partitions, const std::string& source_alias) override;

 private:
  KafkaCluster() = default;
  kafka::Properties properties_;
  std::string reader_group_;
  std::unique_ptr<kafka::AdminClient> admin_;
  std::mutex tail_mu_;  // the tail reader is created at first use and is not thread-safe
  std::unique_ptr<replication::KafkaTargetTail> tail_;
};

class KafkaDrillIo final : public DrillIo {
 public:
  struct Setup {
    std::string flow;  // names the readers' group ids
    std::string source_alias;
    kafka::Properties source, target;
  };
  explicit KafkaDrillIo(Setup setup) : setup_(std::move(setup)) {}

  absl::StatusOr<std::vector<int64_t>> ProduceCanaries(const std::string& drill_id, int n,
                                                       std::chrono::milliseconds timeout) override;
  absl::StatusOr<Translation> TranslateCanary(const std::string& remote_topic,
                                              int64_t source_offset, int64_t from, int64_t to,
                                              Clock::TimePoint deadline) override;
  absl::StatusOr<int64_t> Compare(const std::string& source_topic, const std::string& target_topic,
                                  int32_t partition, int64_t from, int64_t to,
                                  Clock::TimePoint deadline) override;

 private:
  // Creates both readers at first use: a consumer towards a cluster that is down is slow to
  // close, so none exists unless the canaries arrived. Requires mu_.
  absl::Status EnsureReadersLocked();

  const Setup setup_;
  std::mutex mu_;
  std::unique_ptr<kafka::Consumer> source_reader_, target_reader_;
};

class KafkaPreserver final : public Preserver {
 public:
  // `source` addresses the cluster the divergent records are read from (and quarantined on).
  explicit KafkaPreserver(kafka::Properties source) : source_(std::move(source)) {}
  absl::StatusOr<nlohmann::json> Preserve(const std::vector<DivergentRange>& ranges,
                                          const PreserveTarget& where,
                                          std::chrono::milliseconds timeout) override {
    return PreserveDivergent(source_, ranges, where, timeout);
  }

 private:
  const kafka::Properties source_;
};

}  // namespace kmirror::dr
