// Heartbeats: liveness, latency and topology from MM2-format heartbeat records.
//
// HeartbeatEmitter writes a heartbeat (key: source alias, target alias; value: version 0,
// timestamp ms) every interval to `heartbeats` on the SOURCE cluster (compacted, one partition,
// created if missing); the flow replicates that topic like any other, so it arrives on the target
// as `<source>.heartbeats` and proves the whole path works.
// HeartbeatObserver follows the heartbeat topics on the target and reports, per upstream cluster,
// the age of its newest heartbeat, the emit-to-seen latency and the replication hops, the way
// MirrorClient.upstreamClusters()/replicationHops() derive them from remote topic names.
// Each runs on its own thread once started; RunOnce() is the loop body (one thread at a time).
// Upstreams() is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/offsets/mm2_format.h"
#include "lib/offsets/periodic.h"
#include "lib/offsets/probe.h"
#include "lib/offsets/seams.h"
#include "lib/policy/replication_policy.h"

namespace kmirror::offsets {

class HeartbeatEmitter {
 public:
  struct Options {
    std::string source_alias;
    std::string target_alias;
    std::string topic = "heartbeats";  // policy.HeartbeatsTopic()
    std::chrono::milliseconds interval{1000};
  };
  // `source_writer`/`source_admin` address the source cluster. `probe` may be null.
  HeartbeatEmitter(RecordWriter& source_writer, TopicAdmin& source_admin, OffsetsProbe* probe,
                   Clock clock, Options options);
  ~HeartbeatEmitter();
  absl::Status RunOnce();
  void Start();
  void Stop();  // idempotent

 private:
  RecordWriter& writer_;
  TopicAdmin& admin_;
  OffsetsProbe* probe_;
  Clock clock_;
  const Options options_;
  bool topic_ready_ = false;
  PeriodicThread thread_;
};

// Upstream clusters and their distance, from the names of the heartbeat topics on a cluster.
// upstream alias -> hops (1 for "A.heartbeats", 2 for A in "B.A.heartbeats"); the minimum over
// topics, as MirrorClient.replicationHops() computes it. Cycles (identity naming) are cut.
std::map<std::string, int> ComputeTopology(const policy::ReplicationPolicy& policy,
                                           const std::vector<std::string>& topics);

struct UpstreamStatus {
  int hops = -1;
  int64_t last_heartbeat_ms = -1;  // emission timestamp of the newest heartbeat seen
  int64_t age_ms = -1;             // now - last_heartbeat_ms at the last pass
  int64_t latency_ms = -1;         // emission to first seen by the observer (an upper bound)
};

class HeartbeatObserver {
 public:
  struct Options {
    std::chrono::milliseconds interval{1000};
  };
  // `target_reader`/`target_admin` address the cluster observed (the flow's target).
  HeartbeatObserver(TopicReader& target_reader, TopicAdmin& target_admin,
                    const policy::ReplicationPolicy& policy, OffsetsProbe* probe, Clock clock,
                    Options options);
  ~HeartbeatObserver();
  absl::Status RunOnce();
  void Start();
  void Stop();  // idempotent

  std::map<std::string, UpstreamStatus> Upstreams() const;

 private:
  TopicReader& reader_;
  TopicAdmin& admin_;
  const policy::ReplicationPolicy& policy_;
  OffsetsProbe* probe_;
  Clock clock_;
  const Options options_;
  mutable std::mutex mu_;
  std::map<std::string, UpstreamStatus> upstreams_;  // guarded by mu_
  PeriodicThread thread_;
};

}  // namespace kmirror::offsets
