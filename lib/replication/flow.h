// One replication flow (source cluster -> target cluster) as a set of per-partition pipelines
// driven by one worker thread: fetch -> filter -> produce to the same partition of the remote
// topic -> acknowledge.
//
// Guarantees: per-partition order; progress only after the target acknowledges; with provenance
// on, a restarted flow resumes after the last source offset the target holds (no loss, no
// duplicates); records lost to source retention are counted exactly and never silent; data held
// between fetch and acknowledgement is bounded by max_in_flight_bytes (fetching pauses above it),
// and one partition holds at most its share of it, so a stuck partition delays only itself.
// No silent gap: a record the target refuses stops its partition at that record (the sink writes
// nothing of the partition behind it, so a restart finds the tail just before it and stops there
// again) until an operator skips it (SetSkips, counted as lost). A record merely not written
// (producer reset, fenced, purged) sends its partition back to the target's tail.
// Thread-safety: every method except Status() must be called from the worker thread; Status() is
// safe from any thread. With resolve_in_background the flow owns one more thread, which only
// reads target tails and start floors.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
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
  // Called on the worker thread when a partition's target holds less than was acknowledged
  // (truncated or recreated): translations learnt about it are void.
  std::function<void(const SourcePartition&)> on_target_reset;
  // The lowest source offset a partition may start from, whatever its target tail says (a
  // failback resumes after the records it reported as divergent; a reverse flow starts at its
  // failover mark; a take-over starts after MirrorMaker 2). nullopt: no floor. An error leaves
  // the partition waiting and is retried.
  std::function<absl::StatusOr<std::optional<int64_t>>(const SourcePartition&)> start_floor;
  // Read target tails and start floors on a thread of the flow's own, so that a target partition
  // without a leader delays only itself; false: on the worker thread (unit tests).
  bool resolve_in_background = false;
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
  int64_t stop_offset = -1;  // the source offset the partition stopped at, -1: not at a record
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
  // Source offsets an operator chose to give up (kmirrorctl skip), one per partition: a partition
  // stopped at, or resuming at, exactly that offset continues after it and counts it as lost.
  void SetSkips(std::map<SourcePartition, int64_t> skips);
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
    uint64_t id = 0;  // tells a reassigned partition's pipeline from the one before
    bool resolved = false;
    bool resolving = false;       // a tail read is under way
    std::string resolve_error;    // last reason the start could not be found (logged once)
    std::optional<int64_t> next;  // next offset expected from the fetcher; nullopt: take first
    std::optional<int64_t> fixed_start;  // start_from = latest: where it started, once known
    int64_t position = -1;               // all offsets below are on the target (or skipped)
    // The source's end as last reported (every record below it was delivered) and the greatest
    // offset delivered: offsets between the last record and the end hold no record.
    int64_t end_hint = -1;
    int64_t max_delivered = -1;
    // Where the source consumer was last positioned (assignment or seek); -1 when unknown (the
    // log end). An end it reports covers what it delivered from there only.
    int64_t fetch_from = -1;
    std::deque<Entry> in_flight;
    size_t pending = 0;         // records sent and not acknowledged
    size_t bytes = 0;           // their bytes (this partition's share of the in-flight bound)
    bool over_share = false;    // holds more than its share: fetches nothing until acks drain
    bool needs_seek = false;    // records were dropped; seek to `next` before resuming
    bool fetching = true;       // as last told to the source (assign starts fetching)
    bool rewind = false;        // records were not written: back to the target's tail once settled
    int64_t hold_until_ms = 0;  // the target partition is unknown: retry sending after this
    int64_t backoff_ms = 0;
    int64_t skip_at = -1;  // the operator gave this source offset up (SetSkips)
    bool stopped = false;
    std::string stop_reason;
    int64_t stop_offset = -1;
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
  // Where a partition starts, as the resolver found it.
  struct Resolution {
    SourcePartition source;
    uint64_t id = 0;
    absl::Status status;  // not OK: unknown yet (tail unreadable, floor failed); retried
    TailState tail;
    std::optional<int64_t> floor;
  };
  struct ResolveRequest {
    SourcePartition source;
    TargetPartition target;
    uint64_t id = 0;
  };

  void OnRebalance(RebalanceKind kind, const std::vector<SourcePartition>& partitions,
                   std::vector<SourceOffset>& start);
  // Hands the pipelines to the resolver (or resolves them now when not in the background).
  void RequestResolve(const std::vector<std::shared_ptr<Pipeline>>& pipelines);
  // Reads tails and floors: the resolver's work, on whichever thread runs it.
  std::vector<Resolution> ComputeResolutions(const std::vector<ResolveRequest>& requests);
  void ResolverLoop();
  void CollectResolutions();
  // False when the resolution failed (the pipeline stays unresolved).
  bool ApplyResolution(Pipeline& p, const Resolution& r);
  void HandleRecord(SourceRecord& record);
  void HandleError(const SourcePartitionError& error);
  // The source reached `p`'s end at `end` (a transaction marker, aborted or compacted records may
  // lie between the last record and it).
  void HandleEnd(Pipeline& p, int64_t end);
  // Moves `next` past offsets that hold no record, once every record below the end is handled.
  void PassNonRecords(Pipeline& p);
  void HandleAcks(std::vector<SinkAck>& acks);
  void Skip(Pipeline& p, const SourceRecord& record, const char* reason);
  // Moves `position` past the completed head of the in-flight queue and reports it.
  void Advance(Pipeline& p);
  void Stop(Pipeline& p, std::string reason, int64_t at_offset = -1);
  // Drops the record in hand: the partition fetches it again after a seek to `next`.
  void Drop(Pipeline& p);
  // Forgets what the partition had in flight and where it was: its start is resolved again from
  // the target's tail (the one way back after records were not written, or a skip).
  void ForgetStart(Pipeline& p);
  // The sink broke (fatal producer error): rebuild it, then every partition with records that
  // were not acknowledged resumes from the target's tail.
  void RecoverSink(const absl::Status& why);
  // Pipelines whose records were not written go back to the target's tail once nothing of them
  // is in flight any more.
  void SettleRewinds();
  // A partition stopped at the offset the operator skipped starts again from the target's tail;
  // the skipped record is passed over when it comes.
  void MaybeApplySkip(const std::shared_ptr<Pipeline>& p);
  void ApplyResolutions(const std::vector<Resolution>& results);
  void Hold(Pipeline& p, const absl::Status& why);
  void RecomputeShare();
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
  uint64_t next_pipeline_id_ = 1;
  // Records sent and not yet acknowledged, by token (open addressing: no allocation per record).
  absl::flat_hash_map<uint64_t, Pending> pending_;
  uint64_t next_token_ = 1;
  OutgoingRecord out_;  // reused for every send: its header vector keeps its capacity
  size_t in_flight_bytes_ = 0;
  size_t share_bytes_ = 0;  // what one partition may hold of max_in_flight_bytes
  bool backpressured_ = false;
  bool fetch_dirty_ = false;  // pipelines' fetch state must be re-applied
  bool draining_ = false;
  bool paused_ = false;
  bool sink_broken_ = false;
  int64_t next_sink_reset_ms_ = 0;
  int64_t next_release_ms_ = 0;  // the earliest hold_until_ms of a held pipeline, 0: none
  int64_t replicated_records_ = 0;
  int64_t replicated_bytes_ = 0;
  double latency_ms_sum_ = 0;
  int64_t latency_count_ = 0;
  int64_t last_housekeeping_ms_ = 0;
  int64_t last_resolve_attempt_ms_ = 0;
  std::vector<SourceRecord> records_;
  std::vector<SourcePartitionError> errors_;
  std::vector<SinkAck> acks_;
  std::vector<std::shared_ptr<Pipeline>> rewinding_;
  std::map<SourcePartition, int64_t> skips_;

  // The resolver thread (resolve_in_background) and what it hands over.
  std::mutex resolver_mu_;
  std::condition_variable resolver_cv_;
  std::vector<ResolveRequest> resolve_requests_;
  std::vector<Resolution> resolutions_;
  bool resolver_stop_ = false;
  std::thread resolver_;

  mutable std::mutex status_mu_;
  FlowStatus status_;
};

}  // namespace kmirror::replication
