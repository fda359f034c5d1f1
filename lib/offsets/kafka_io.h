// Kafka implementations of the lib/offsets seams, over lib/kafka (no librdkafka here).
// The daemon builds one set per cluster and hands them to the emitters. Internal topics are
// single-partition (as MM2 creates them): readers read partition 0.
// Each object is used by one emitter thread; none is thread-safe unless stated.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "lib/kafka/properties.h"
#include "lib/offsets/seams.h"
#include "lib/offsets/translator.h"

namespace kmirror::offsets {

// Produces with acks=all and waits for every delivery report.
class KafkaRecordWriter final : public RecordWriter {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaRecordWriter>> Create(kafka::Properties properties);
  absl::Status Write(const std::string& topic, int32_t partition,
                     const std::vector<KeyValue>& records) override;

 private:
  KafkaRecordWriter() = default;
  std::vector<absl::Status> results_;  // filled by delivery reports during Flush()
  std::unique_ptr<kafka::Producer> producer_;
};

// Where a reader that has read a partition up to `next` continues, given its watermarks now: at
// `next`, or at the log start when the partition ends below `next` (the topic was deleted and
// created again, or truncated): what was read of the old log is no bound on the new one.
int64_t ReadStart(int64_t next, int64_t low, int64_t high);

class KafkaTopicReader final : public TopicReader {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaTopicReader>> Create(kafka::Properties properties);
  absl::StatusOr<std::vector<KeyValue>> ReadAll(const std::string& topic) override;
  absl::StatusOr<std::vector<KeyValue>> ReadNew(const std::string& topic) override;

 private:
  KafkaTopicReader() = default;
  // Reads [from, end offset) of partition 0; returns the end offset through `end`.
  absl::StatusOr<std::vector<KeyValue>> ReadFrom(const std::string& topic, int64_t from,
                                                 int64_t& end);
  std::map<std::string, int64_t> next_;  // ReadNew positions
  kafka::Properties properties_;
  std::unique_ptr<kafka::Consumer> consumer_;
};

// Thread-safe (AdminClient is).
class KafkaTopicAdmin final : public TopicAdmin {
 public:
  explicit KafkaTopicAdmin(kafka::AdminClient& admin, kafka::InternalTopicSettings settings = {})
      : admin_(admin), settings_(settings) {}
  absl::Status EnsureTopic(const std::string& topic, bool compacted) override;
  absl::StatusOr<std::vector<std::string>> ListTopics() override;

 private:
  kafka::AdminClient& admin_;
  const kafka::InternalTopicSettings settings_;
};

// Thread-safe (AdminClient is). DescribeGroup uses DescribeConsumerGroups: see the librdkafka
// 2.0.2 caveat in lib/kafka/admin.h (real Kafka >= 2.4 and the sandbox are fine).
class KafkaGroupAdmin final : public GroupAdmin {
 public:
  explicit KafkaGroupAdmin(kafka::AdminClient& admin) : admin_(admin) {}
  absl::StatusOr<std::vector<std::string>> ListGroups() override;
  absl::StatusOr<GroupInfo> DescribeGroup(const std::string& group) override;
  absl::StatusOr<std::vector<CommittedOffset>> Committed(const std::string& group) override;
  absl::Status Commit(const std::string& group,
                      const std::vector<CommittedOffset>& offsets) override;

 private:
  kafka::AdminClient& admin_;
};

// Where a replicated record came from, as its provenance header says.
struct RecordProvenance {
  std::string source_alias;
  SourceOffset offset;
};
// Decodes a provenance header value; nullopt when it is not one. The daemon passes a wrapper of
// replication::DecodeProvenance (lib/offsets does not depend on lib/replication, which depends on
// lib/offsets for AckObserver).
using ProvenanceDecoder = std::function<std::optional<RecordProvenance>(std::string_view)>;

// TargetIndex over a target cluster: assigns one partition at the probed offset and reads forward
// (small fetches) until a record of ours, `limit`, or the end.
class KafkaTargetIndex final : public TargetIndex {
 public:
  struct Options {
    std::string source_alias;  // records whose provenance source is this alias are ours
    std::string header = "kmirror.provenance";
    ProvenanceDecoder decode;
    std::chrono::milliseconds timeout{30000};  // per probe
  };
  static absl::StatusOr<std::unique_ptr<KafkaTargetIndex>> Create(kafka::Properties properties,
                                                                  Options options);
  absl::StatusOr<Bounds> GetBounds(const TargetPartition& partition) override;
  absl::StatusOr<std::optional<IndexEntry>> NextOurs(const TargetPartition& partition,
                                                     TargetOffset from,
                                                     TargetOffset limit) override;
  // Records read by all probes so far (for tests and logs: proves the cache works).
  int64_t records_read() const { return records_read_; }

 private:
  explicit KafkaTargetIndex(Options options) : options_(std::move(options)) {}
  Options options_;
  int64_t records_read_ = 0;
  std::unique_ptr<kafka::Consumer> consumer_;
};

}  // namespace kmirror::offsets
