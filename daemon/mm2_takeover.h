// Taking over a flow from MirrorMaker 2 without copying again: for a partition whose remote copy
// holds MM2's records (no kmirror provenance), the first source offset MM2 did not copy.
//
// MM2's newest offset sync (upstream u, downstream d) and the target's end E give the estimate
// u + (E - 1 - d) for the source offset of the target's last record (exact when the source has no
// offset gaps; gaps only make the real offset larger). The record itself settles it: the source
// is searched from the estimate for the record with the same key, value and timestamp, which MM2
// preserves. Not found within the bound: the estimate is used, with a warning (at-least-once).
//
// Thread-safe (one lock); meant for FlowOptions::start_floor, called at partition assignment.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/config/config.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/offsets/kafka_io.h"
#include "lib/offsets/mm2_format.h"

namespace kmirror::daemon {

class Mm2Takeover {
 public:
  static absl::StatusOr<std::unique_ptr<Mm2Takeover>> Create(
      const config::Config& cfg, const config::FlowConfig& f,
      std::function<std::string(const std::string&)> remote_topic);

  // The first source offset MM2 did not copy; nullopt when the remote partition is empty, its
  // last record is kmirror's own, or MM2 left no offset sync for it.
  std::optional<int64_t> StartAfterMm2(const SourcePartition& p);

  // How far past the estimate the content search looks.
  static constexpr int64_t kSearchBound = 100000;

 private:
  Mm2Takeover() = default;
  absl::Status LoadSyncsLocked();
  std::optional<int64_t> ComputeLocked(const SourcePartition& p);

  std::string flow_, source_alias_, target_alias_;
  std::string source_syncs_topic_, target_syncs_topic_;
  std::function<std::string(const std::string&)> remote_topic_;
  std::unique_ptr<kafka::AdminClient> source_admin_, target_admin_;
  std::unique_ptr<offsets::KafkaTopicReader> source_syncs_, target_syncs_;
  std::unique_ptr<kafka::Consumer> source_reader_, target_reader_;

  std::mutex mu_;
  bool loaded_ = false;
  std::map<std::pair<std::string, int32_t>, offsets::OffsetSync> syncs_;  // newest per partition
  std::map<SourcePartition, std::optional<int64_t>> cache_;
};

}  // namespace kmirror::daemon
