// Taking over a flow from MirrorMaker 2 without copying again: for a partition whose remote copy
// holds no kmirror provenance from this source, the first source offset MM2 did not copy.
//
// MM2's newest offset sync (upstream u, downstream d) and the target's end E give the estimate
// s = u + (E - 1 - d) for the source offset of the target's last record: exact when the source has
// no offset gaps and MM2 wrote each record once (gaps and filtered records make the real offset
// larger, duplicates from MM2's producer retries smaller). The record settles it: the source is
// searched around the estimate for the record with the same key, value and timestamp, which MM2
// preserves. Not found within the bounds: the estimate, with a warning (at-least-once risk).
//
// Thread-safe (one lock); meant for FlowOptions::start_floor, which the flow's resolver thread
// calls at partition assignment. Clients are created at the first call, results cached per
// partition.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/properties.h"
#include "lib/offsets/kafka_io.h"
#include "lib/offsets/mm2_format.h"
#include "lib/replication/kafka_io.h"

namespace kmirror::dr {

class Mm2Takeover {
 public:
  struct Setup {
    std::string flow, source_alias;
    // MM2 names its offset-syncs topic after the other cluster: on the source by default, on the
    // target with offset-syncs.topic.location=target.
    std::string source_syncs_topic, target_syncs_topic;
    kafka::Properties source, target;  // the flow's client properties on each side
    std::function<std::string(const std::string&)> remote_topic;
  };
  static absl::StatusOr<std::unique_ptr<Mm2Takeover>> Create(Setup setup);

  // Where the partition starts after MM2: right after the source record MM2 wrote last; the
  // source's log start when MM2 wrote nothing to the remote partition. nullopt (the flow follows
  // its target tail or start_from) when kmirror's provenance from this source is on the target or
  // MM2 left no offset sync for the partition. kUnavailable when the look-up failed (logged, not
  // cached): the partition waits and the flow retries.
  absl::StatusOr<std::optional<int64_t>> StartAfterMm2(const SourcePartition& p);

  // How far the content search looks below and above the estimate.
  static constexpr int64_t kSearchBelow = 100000;
  static constexpr int64_t kSearchAbove = 100000;
  // Time allowed for one partition (tail, syncs, search).
  static constexpr std::chrono::seconds kDeadline{60};

 private:
  Mm2Takeover() = default;
  absl::Status EnsureClientsLocked();
  absl::Status LoadSyncsLocked();
  // nullopt: no floor (cached); an error: logged by the caller, not cached (retried next time).
  absl::StatusOr<std::optional<int64_t>> ComputeLocked(const SourcePartition& p);

  std::string flow_, source_alias_;
  std::string source_syncs_topic_, target_syncs_topic_;
  std::function<std::string(const std::string&)> remote_topic_;
  kafka::Properties source_props_, target_props_;

  std::mutex mu_;
  std::unique_ptr<kafka::AdminClient> source_admin_, target_admin_;
  std::unique_ptr<replication::KafkaTargetTail> tail_;
  std::unique_ptr<kafka::Consumer> source_reader_, target_reader_;
  bool syncs_loaded_ = false;
  std::map<std::pair<std::string, int32_t>, offsets::OffsetSync> syncs_;  // newest per partition
  std::map<SourcePartition, std::optional<int64_t>> cache_;
};

}  // namespace kmirror::dr
