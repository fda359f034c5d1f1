// What the control plane needs from the rest of kmirror, as small interfaces: a replication unit
// and its factory, a view of a cluster, the drill's record I/O and the preservation of divergent
// records. kafka_io.h implements the cluster, drill and preservation seams on librdkafka (through
// lib/kafka); daemon/ implements the unit over lib/replication and lib/offsets. Unit tests use the
// fakes in tests/unit/dr/fakes.h.
//
// Every implementation is thread-safe unless it says otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/config/config.h"
#include "lib/dr/clock.h"
#include "lib/dr/divergence.h"
#include "lib/replication/flow.h"
#include "lib/replication/io.h"

namespace kmirror::dr {

// Heartbeats of one upstream cluster as seen on the unit's target.
struct Upstream {
  int hops = -1;
  int64_t age_ms = -1;      // -1: none seen yet
  int64_t latency_ms = -1;  // -1: not measured
};

// One direction of replication of a flow, running: copy pipelines, offset translation,
// checkpoints and heartbeats.
class ReplicationUnit {
 public:
  virtual ~ReplicationUnit() = default;
  virtual void Start() = 0;  // idempotent
  // Idempotent: drains what is in flight (up to `drain_timeout`), leaves the source group and
  // writes the last offset syncs.
  virtual absl::Status Stop(std::chrono::milliseconds drain_timeout) = 0;
  virtual absl::Status Reload(const config::FlowConfig& f) = 0;
  virtual void SetPaused(bool paused) = 0;
  virtual void SetSkips(std::map<SourcePartition, int64_t> skips) = 0;
  virtual void SetPausedGroups(const std::set<std::string>& groups) = 0;
  virtual void RequestDiscovery() = 0;
  virtual replication::FlowStatus Status() const = 0;
  virtual bool Ready() const = 0;
  virtual const config::FlowConfig& flow() const = 0;
  // Wall-clock time of the last completed checkpoint pass: -1 none yet; nullopt: checkpoints off.
  virtual std::optional<int64_t> LastCheckpointMs() const = 0;
  // Heartbeats seen on the target, by upstream alias; nullopt: heartbeats off.
  virtual std::optional<std::map<std::string, Upstream>> Upstreams() const = 0;
  // After Stop: one last checkpoint pass with group offset sync into the target, whatever the
  // flow's sync_group_offsets says (what consumers resume from after a switch).
  virtual nlohmann::json FinalCheckpoints() = 0;
};

struct UnitOptions {
  // See replication::FlowOptions::start_floor.
  std::function<absl::StatusOr<std::optional<int64_t>>(const SourcePartition&)> start_floor;
  bool paused = false;  // start with fetching paused
};

class UnitFactory {
 public:
  virtual ~UnitFactory() = default;
  virtual absl::StatusOr<std::unique_ptr<ReplicationUnit>> Create(const config::FlowConfig& f,
                                                                  UnitOptions options) = 0;
};

using replication::Watermarks;

// One cluster as the control plane looks at it.
class Cluster {
 public:
  virtual ~Cluster() = default;
  virtual absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic,
                                                     int32_t partition) = 0;
  // Topic name -> partition count.
  virtual absl::StatusOr<std::map<std::string, int32_t>> Topics() = 0;
  // Creates the topic if it does not exist (best effort: errors are for logging).
  virtual absl::Status EnsureTopic(const std::string& topic, int32_t partitions) = 0;
  // For each partition, its end and the provenance of its newest record copied from
  // `source_alias` (replication::TargetTail's answer).
  virtual absl::StatusOr<std::map<TargetPartition, replication::TailState>> Tails(
      const std::vector<TargetPartition>& partitions, const std::string& source_alias) = 0;
};

// The drill's record I/O between the flow's two clusters.
class DrillIo {
 public:
  virtual ~DrillIo() = default;
  // Produces `n` canary records to the source's drill topic (partition 0), acknowledged on
  // return; their offsets in order.
  virtual absl::StatusOr<std::vector<int64_t>> ProduceCanaries(
      const std::string& drill_id, int n, std::chrono::milliseconds timeout) = 0;
  struct Translation {
    std::optional<int64_t> translated;  // what the flow's translator answers (exact only)
    std::optional<int64_t> expected;    // the first target record holding >= the source offset
  };
  // How the flow's translation maps `source_offset` of the canary partition, and where the
  // target really holds it: the first record of [from, to) of the remote canary topic
  // `remote_topic`, partition 0, whose provenance is at or past it.
  virtual absl::StatusOr<Translation> TranslateCanary(const std::string& remote_topic,
                                                      int64_t source_offset, int64_t from,
                                                      int64_t to, Clock::TimePoint deadline) = 0;
  // Compares the records of [from, to) of a target partition with the source records their
  // provenance names (key, value, headers, timestamp unless the broker replaced it): the count
  // compared, DataLoss naming the first difference.
  virtual absl::StatusOr<int64_t> Compare(const std::string& source_topic,
                                          const std::string& target_topic, int32_t partition,
                                          int64_t from, int64_t to, Clock::TimePoint deadline) = 0;
};

// Copies divergent records (failback) to the quarantine topic or a file: per range, how many
// were found and where they went (PreserveDivergent's report).
class Preserver {
 public:
  virtual ~Preserver() = default;
  virtual absl::StatusOr<nlohmann::json> Preserve(const std::vector<DivergentRange>& ranges,
                                                  const PreserveTarget& where,
                                                  std::chrono::milliseconds timeout) = 0;
};

}  // namespace kmirror::dr
