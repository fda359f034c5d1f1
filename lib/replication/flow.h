// One replication flow (source cluster -> target cluster) as a set of per-partition pipelines
// driven by one worker thread: fetch -> filter -> produce to the same partition of the remote
// topic -> acknowledge.
//
// Guarantees: per-partition order; progress only after the target acknowledges; with provenance
// on, a restarted flow resumes after the last source offset the target holds (no loss, no
// duplicates); records lost to source retention are counted exactly and never silent; data held
// between fetch and acknowledgement is bounded by max_in_flight_bytes (fetching pauses above it).
// Thread-safety: every method except Status() must be called from the worker thread; Status() is
// safe from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "lib/replication/io.h"
#include "lib/replication/probe.h"

namespace kmirror::replication {

enum class StartFrom { kEarliest, kLatest };
enum class OnRetentionLoss { kContinue, kStop };

struct FlowOptions {
  std::string name;  // "A->B"
  std::string source_alias;
  std::string target_alias;
  std::function<std::string(const std::string&)> remote_topic;
  bool provenance = true;
  StartFrom start_from = StartFrom::kEarliest;
  OnRetentionLoss on_retention_loss = OnRetentionLoss::kContinue;
  size_t max_in_flight_bytes = 64 << 20;
  size_t poll_batch = 5000;
  // How long a revoked partition may take to deliver what is in flight before it is handed over.
  std::chrono::milliseconds revoke_timeout{10000};
  std::function<int64_t()> now_ms;  // wall clock in ms; injectable for tests
  // Called on the worker thread for every record the target acknowledged (offset syncs, offset
  // translation). Must be cheap and must not block.
  std::function<void(const SourcePartition&, SourceOffset, TargetOffset)> on_replicated;
  // Called on the worker thread when every source record below `next` of a partition has been
  // replicated or deliberately skipped.
  std::function<void(const SourcePartition&, SourceOffset next)> on_position;
  // The lowest source offset a partition may start from, whatever its target tail says (a
  // failback resumes after the records it reported as divergent; a reverse flow starts at its
  // failover mark). nullopt: no floor.
  std::function<std::optional<int64_t>(const SourcePartition&)> start_floor;
};

struct PartitionStatus {
  SourcePartition source;
  TargetPartition target;
  int64_t position = -1;    // next source offset not yet on the target; -1 unknown
  int64_t source_end = -1;  // source high watermark, -1 unknown
  int64_t lag_records = 0;
  double lag_seconds = 0;
  int64_t replicated = 0;
  int64_t lost = 0;
  bool resolved = false;  // start position known (target tail read)
  bool stopped = false;
  std::string stop_reason;
};

struct FlowStatus {
  std::string name;
  std::vector<PartitionStatus> partitions;
  size_t in_flight_bytes = 0;
  bool backpressured = false;
  bool paused = false;
  int64_t replicated_records = 0;
  int64_t replicated_bytes = 0;
  // Source timestamp to target acknowledgement, summed over every acknowledged record.
  double latency_ms_sum = 0;
  int64_t latency_count = 0;

  // Over the partitions: records behind in total, and the oldest record not yet copied.
  int64_t LagRecords() const;
  double LagSeconds() const;
};

class Flow {
 public:
  Flow(FlowOptions options, SourceClient* source, SinkClient* sink, TargetTail* tail,
       FlowProbe* probe);
  ~Flow();

  // Installs the rebalance handler. Call once before the first RunOnce.
  void Start();
  // Replaces the subscription (the topics discovery selected and created remotely).
  absl::Status SetTopics(const std::vector<std::string>& topics);
  // Stops or restarts fetching on every partition (operator pause, failover).
  void SetPaused(bool paused);
  // One turn of the worker loop.
  void RunOnce(std::chrono::milliseconds poll_timeout);
  // Stops fetching and waits up to `timeout` for in-flight records to be acknowledged.
  absl::Status Drain(std::chrono::milliseconds timeout);
  FlowStatus Status() const;

 private:
  struct Entry {
    int64_t offset;
    size_t bytes;
    int64_t timestamp_ms;
    bool done;
  };
  struct Pipeline {
    SourcePartition source;
    TargetPartition target;
    bool resolved = false;
    std::optional<int64_t> next;  // next offset expected from the fetcher; nullopt: take first
    int64_t position = -1;        // all offsets below are on the target (or skipped)
    std::deque<Entry> in_flight;
    bool needs_seek = false;  // records were dropped; seek to `next` before resuming
    bool fetching = true;     // as last told to the source (assign starts fetching)
    bool stopped = false;
    std::string stop_reason;
    int64_t replicated = 0;
    int64_t lost = 0;
    int64_t last_progress_ms = 0;
    double lag_seconds = 0;  // as of the last housekeeping
    bool retired = false;
  };
  struct Pending {
    std::shared_ptr<Pipeline> pipeline;
    int64_t offset = 0;
    size_t bytes = 0;
    std::shared_ptr<const void> owner;
    std::string provenance;
  };

  void OnRebalance(RebalanceKind kind, const std::vector<SourcePartition>& partitions,
                   std::vector<SourceOffset>& start);
  // Reads the target tails and sets start positions; false when the target could not be read.
  bool Resolve(const std::vector<std::shared_ptr<Pipeline>>& pipelines);
  void HandleRecord(SourceRecord& record);
  void HandleError(const SourcePartitionError& error);
  void HandleAcks(std::vector<SinkAck>& acks);
  void Skip(Pipeline& p, const SourceRecord& record, const char* reason);
  // Moves `position` past the completed head of the in-flight queue and reports it.
  void Advance(Pipeline& p);
  void Stop(Pipeline& p, std::string reason);
  void ApplyBackpressure();
  void Housekeeping();
  void PublishStatus();
  int64_t NowMs() const;

  FlowOptions options_;
  SourceClient* source_;
  SinkClient* sink_;
  TargetTail* tail_;
  FlowProbe* probe_;

  std::map<SourcePartition, std::shared_ptr<Pipeline>> pipelines_;
  // Records sent and not yet acknowledged, by token (open addressing: no allocation per record).
  absl::flat_hash_map<uint64_t, Pending> pending_;
  uint64_t next_token_ = 1;
  OutgoingRecord out_;  // reused for every send: its header vector keeps its capacity
  size_t in_flight_bytes_ = 0;
  bool backpressured_ = false;
  bool fetch_dirty_ = false;  // pipelines' fetch state must be re-applied
  bool draining_ = false;
  bool paused_ = false;
  int64_t replicated_records_ = 0;
  int64_t replicated_bytes_ = 0;
  double latency_ms_sum_ = 0;
  int64_t latency_count_ = 0;
  int64_t last_housekeeping_ms_ = 0;
  int64_t last_resolve_attempt_ms_ = 0;
  std::vector<SourceRecord> records_;
  std::vector<SourcePartitionError> errors_;
  std::vector<SinkAck> acks_;

  mutable std::mutex status_mu_;
  FlowStatus status_;
};

}  // namespace kmirror::replication
