#include "lib/replication/flow.h"

#include <algorithm>
#include <chrono>

#include "lib/common/logging.h"
#include "lib/replication/provenance.h"

namespace kmirror::replication {
namespace {

// librdkafka's logical offsets, used as start positions.
constexpr int64_t kOffsetBeginning = -2;
constexpr int64_t kOffsetEnd = -1;
constexpr int64_t kHousekeepingIntervalMs = 1000;
constexpr int64_t kResolveRetryMs = 2000;

std::shared_ptr<spdlog::logger> Log() { return common::Logger("replication"); }

}  // namespace

Flow::Flow(FlowOptions options, SourceClient* source, SinkClient* sink, TargetTail* tail,
           FlowProbe* probe)
    : options_(std::move(options)), source_(source), sink_(sink), tail_(tail), probe_(probe) {
  if (!options_.now_ms) {
    options_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
  status_.name = options_.name;
}

Flow::~Flow() = default;

int64_t Flow::NowMs() const { return options_.now_ms(); }

void Flow::Start() {
  source_->SetRebalanceHandler(
      [this](RebalanceKind kind, const std::vector<SourcePartition>& partitions,
             std::vector<SourceOffset>& start) { OnRebalance(kind, partitions, start); });
}

absl::Status Flow::SetTopics(const std::vector<std::string>& topics) {
  return source_->Subscribe(topics);
}

bool Flow::Resolve(const std::vector<std::shared_ptr<Pipeline>>& pipelines) {
  std::vector<TargetPartition> targets;
  for (const auto& p : pipelines) targets.push_back(p->target);
  auto tails = tail_->Read(targets, options_.source_alias);
  if (!tails.ok()) {
    Log()->warn(
        "msg=\"cannot read target tails; partitions wait\" flow={} partitions={} error=\"{}\"",
        options_.name, pipelines.size(), tails.status().message());
    if (probe_) probe_->RecordError("target_tail");
    return false;
  }
  for (const auto& p : pipelines) {
    auto it = tails->find(p->target);
    const TailState* t = it == tails->end() ? nullptr : &it->second;
    if (t != nullptr && t->last) {
      p->next = t->last->value + 1;
      p->position = *p->next;
    } else {
      p->next.reset();
      p->position = -1;
    }
    if (options_.start_floor) {
      std::optional<int64_t> floor = options_.start_floor(p->source);
      if (floor && (!p->next || *p->next < *floor)) {
        Log()->info("msg=\"partition starts at its floor\" flow={} partition={} floor={} tail={}",
                    options_.name, p->source.ToString(), *floor,
                    p->next ? std::to_string(*p->next) : "none");
        p->next = *floor;
        p->position = *floor;
      }
    }
    if (!p->next && t != nullptr && t->records_read > 0 && options_.provenance) {
      Log()->warn(
          "msg=\"target partition holds records without provenance from this source; starting "
          "per start_from\" flow={} partition={} target_end={}",
          options_.name, p->target.ToString(), t->target.high);
    }
    p->resolved = true;
    Log()->info("msg=\"partition resolved\" flow={} partition={} start={}", options_.name,
                p->source.ToString(),
                p->next ? std::to_string(*p->next)
                        : (options_.start_from == StartFrom::kEarliest ? "earliest" : "latest"));
  }
  return true;
}

void Flow::OnRebalance(RebalanceKind kind, const std::vector<SourcePartition>& partitions,
                       std::vector<SourceOffset>& start) {
  if (kind == RebalanceKind::kAssigned) {
    std::vector<std::shared_ptr<Pipeline>> added;
    for (const auto& sp : partitions) {
      auto p = std::make_shared<Pipeline>();
      p->source = sp;
      p->target = TargetPartition{options_.remote_topic(sp.topic), sp.partition};
      p->last_progress_ms = NowMs();
      pipelines_[sp] = p;
      added.push_back(p);
      if (probe_) probe_->PartitionAssigned(sp);
    }
    const bool resolved = Resolve(added);
    last_resolve_attempt_ms_ = NowMs();
    start.clear();
    for (const auto& p : added) {
      if (!resolved) {
        // Unknown start: take whatever comes but drop it until the tail is read (needs_seek).
        p->needs_seek = true;
        fetch_dirty_ = true;
        start.emplace_back(kOffsetEnd);
      } else if (p->next) {
        start.emplace_back(*p->next);
      } else {
        start.emplace_back(options_.start_from == StartFrom::kEarliest ? kOffsetBeginning
                                                                       : kOffsetEnd);
      }
    }
    Log()->info("msg=\"partitions assigned\" flow={} count={} resolved={}", options_.name,
                partitions.size(), resolved);
    PublishStatus();
    return;
  }
  // Revoked or lost: stop accepting their records now.
  std::vector<std::shared_ptr<Pipeline>> leaving;
  for (const auto& sp : partitions) {
    auto it = pipelines_.find(sp);
    if (it == pipelines_.end()) continue;
    it->second->retired = true;
    leaving.push_back(it->second);
    pipelines_.erase(it);
  }
  if (kind == RebalanceKind::kRevoked) {
    // Cooperative hand-over: deliver what is in flight before another instance takes over, so it
    // reads a tail that includes everything this one wrote.
    size_t open = 0;
    for (const auto& p : leaving) open += p->in_flight.size();
    if (open > 0) {
      acks_.clear();
      absl::Status s = sink_->Flush(options_.revoke_timeout, acks_);
      HandleAcks(acks_);
      if (!s.ok()) {
        Log()->warn(
            "msg=\"revoked partitions not fully delivered before hand-over\" flow={} "
            "error=\"{}\"",
            options_.name, s.message());
        if (probe_) probe_->RecordError("revoke_flush");
      }
    }
  }
  for (const auto& p : leaving) {
    if (probe_) probe_->PartitionRevoked(p->source);
  }
  Log()->info("msg=\"partitions {}\" flow={} count={}",
              kind == RebalanceKind::kLost ? "lost" : "revoked", options_.name, partitions.size());
  PublishStatus();
}

void Flow::Advance(Pipeline& p) {
  const int64_t before = p.position;
  while (!p.in_flight.empty() && p.in_flight.front().done) {
    p.position = p.in_flight.front().offset + 1;
    p.in_flight.pop_front();
  }
  if (p.position != before && options_.on_position) {
    options_.on_position(p.source, SourceOffset(p.position));
  }
}

void Flow::Skip(Pipeline& p, const SourceRecord& record, const char* reason) {
  p.in_flight.push_back(Entry{record.offset.value, 0, record.timestamp_ms, true});
  Advance(p);
  if (probe_) probe_->RecordSkipped(reason, 1);
}

void Flow::Stop(Pipeline& p, std::string reason) {
  if (p.stopped) return;
  p.stopped = true;
  p.stop_reason = std::move(reason);
  fetch_dirty_ = true;
  Log()->error("msg=\"partition stopped\" flow={} partition={} reason=\"{}\"", options_.name,
               p.source.ToString(), p.stop_reason);
  if (probe_) probe_->SetStopped(p.source, true);
}

void Flow::HandleRecord(SourceRecord& record) {
  auto it = pipelines_.find(record.partition);
  if (it == pipelines_.end()) return;  // not (or no longer) ours
  Pipeline& p = *it->second;
  if (p.stopped || !p.resolved || p.needs_seek || draining_ || backpressured_) {
    p.needs_seek = true;  // dropped: fetched again after a seek to `next`
    fetch_dirty_ = true;
    return;
  }
  if (p.next && record.offset.value < *p.next) return;  // already handled (re-fetch)
  if (!p.next && p.position < 0) p.position = record.offset.value;

  // Loop prevention: a record that originated on the target cluster is not sent back there.
  std::optional<Provenance> incoming;
  for (const auto& h : record.headers) {
    if (h.name == kProvenanceHeader && h.value) incoming = DecodeProvenance(*h.value);
  }
  if (incoming && incoming->origin == options_.target_alias) {
    p.next = record.offset.value + 1;
    Skip(p, record, "origin_is_target");
    return;
  }
  if (!pending_.empty() && in_flight_bytes_ + record.bytes > options_.max_in_flight_bytes) {
    backpressured_ = true;  // over the bound: fetch nothing more until acks drain
    p.needs_seek = true;
    fetch_dirty_ = true;
    return;
  }
  const uint64_t token = next_token_++;
  Pending& pending = pending_[token];
  pending.pipeline = it->second;
  pending.offset = record.offset.value;
  pending.bytes = record.bytes;
  OutgoingRecord& out = out_;  // reused: its header vector keeps its capacity
  out.partition = p.target;
  out.key = record.key;
  out.value = record.value;
  out.timestamp_ms = record.timestamp_ms;
  out.headers.clear();
  for (const auto& h : record.headers) {
    if (h.name != kProvenanceHeader) out.headers.push_back(h);
  }
  if (options_.provenance) {
    pending.provenance = EncodeProvenance(Provenance{
        incoming ? incoming->origin : options_.source_alias, options_.source_alias, record.offset});
    out.headers.push_back(HeaderView{kProvenanceHeader, std::string_view(pending.provenance)});
  }
  absl::Status sent = sink_->Send(out, token);
  if (!sent.ok()) {
    pending_.erase(token);
    p.needs_seek = true;
    fetch_dirty_ = true;
    if (sent.code() != absl::StatusCode::kUnavailable) {
      Log()->error("msg=\"produce refused\" flow={} partition={} offset={} error=\"{}\"",
                   options_.name, p.target.ToString(), record.offset.value, sent.message());
      if (probe_) probe_->RecordError("produce");
    }
    backpressured_ = true;  // queue full or failing: stop fetching until acks drain
    return;
  }
  pending.owner = std::move(record.owner);
  p.next = record.offset.value + 1;
  p.in_flight.push_back(Entry{record.offset.value, record.bytes, record.timestamp_ms, false});
  in_flight_bytes_ += record.bytes;
}

void Flow::HandleAcks(std::vector<SinkAck>& acks) {
  const int64_t now = NowMs();
  for (const SinkAck& ack : acks) {
    auto it = pending_.find(ack.token);
    if (it == pending_.end()) continue;
    Pending pending = std::move(it->second);
    pending_.erase(it);
    in_flight_bytes_ -= std::min(in_flight_bytes_, pending.bytes);
    Pipeline& p = *pending.pipeline;
    if (!ack.status.ok()) {
      // librdkafka retries transient errors itself (message.timeout.ms is infinite): what reaches
      // here is permanent for this record. Stop the partition rather than skip the record.
      if (probe_) probe_->RecordError("delivery");
      if (!p.retired) {
        Stop(p, "target refused record at source offset " + std::to_string(pending.offset) + ": " +
                    std::string(ack.status.message()));
      }
      continue;
    }
    // Acks arrive in order per partition with an idempotent producer; tolerate any order.
    auto e = std::lower_bound(p.in_flight.begin(), p.in_flight.end(), pending.offset,
                              [](const Entry& en, int64_t off) { return en.offset < off; });
    if (e == p.in_flight.end() || e->offset != pending.offset) continue;
    e->done = true;
    p.replicated++;
    replicated_records_++;
    replicated_bytes_ += static_cast<int64_t>(pending.bytes);
    const int64_t latency_ms = std::max<int64_t>(0, now - e->timestamp_ms);
    latency_ms_sum_ += static_cast<double>(latency_ms);
    latency_count_++;
    if (probe_) {
      probe_->RecordReplicated(p.source, 1, pending.bytes);
      probe_->RecordLatency(latency_ms / 1000.0);
    }
    if (options_.on_replicated) {
      options_.on_replicated(p.source, SourceOffset(pending.offset), ack.offset);
    }
    Advance(p);
    p.last_progress_ms = now;
  }
  acks.clear();
}

void Flow::HandleError(const SourcePartitionError& error) {
  auto it = pipelines_.find(error.partition);
  if (it == pipelines_.end()) return;
  Pipeline& p = *it->second;
  if (error.status.code() != absl::StatusCode::kOutOfRange) {
    Log()->warn("msg=\"source partition error\" flow={} partition={} error=\"{}\"", options_.name,
                p.source.ToString(), error.status.message());
    if (probe_) probe_->RecordError("source");
    return;
  }
  auto wm = source_->QueryWatermarks(p.source);
  if (!wm.ok()) {
    Log()->warn(
        "msg=\"offset out of range and watermarks unavailable; retrying\" flow={} "
        "partition={} error=\"{}\"",
        options_.name, p.source.ToString(), wm.status().message());
    p.needs_seek = true;
    fetch_dirty_ = true;
    return;
  }
  const int64_t wanted = p.next.value_or(error.offset.value);
  if (wanted < wm->low) {
    const int64_t lost = wm->low - wanted;
    p.lost += lost;
    if (probe_) probe_->RecordLost(p.source, lost);
    Log()->error(
        "msg=\"source retention deleted records before they were replicated\" flow={} "
        "partition={} lost={} from={} to={} policy={}",
        options_.name, p.source.ToString(), lost, wanted, wm->low - 1,
        options_.on_retention_loss == OnRetentionLoss::kContinue ? "continue" : "stop");
    if (options_.on_retention_loss == OnRetentionLoss::kStop) {
      Stop(p, "source retention deleted " + std::to_string(lost) + " records from offset " +
                  std::to_string(wanted));
      return;
    }
    p.next = wm->low;
    // Everything below the new log start is settled once what is still in flight is: a done
    // marker for the last lost offset keeps `position` monotonic.
    p.in_flight.push_back(Entry{wm->low - 1, 0, NowMs(), true});
    Advance(p);
  } else if (wanted > wm->high) {
    // The source holds fewer records than the target already has: the source was truncated or
    // rebuilt. Never rewrite what is on the target; continue at the new end.
    Log()->error(
        "msg=\"source partition is behind what was replicated (truncated source?)\" "
        "flow={} partition={} replicated_up_to={} source_end={}",
        options_.name, p.source.ToString(), wanted, wm->high);
    if (probe_) probe_->RecordError("source_truncated");
    if (options_.on_retention_loss == OnRetentionLoss::kStop) {
      Stop(p, "source end offset " + std::to_string(wm->high) + " is below replicated offset " +
                  std::to_string(wanted));
      return;
    }
    p.next = wm->high;
  }
  p.needs_seek = true;
  fetch_dirty_ = true;
}

void Flow::ApplyBackpressure() {
  const size_t max = options_.max_in_flight_bytes;
  if (!backpressured_ && in_flight_bytes_ >= max) {
    backpressured_ = true;
    fetch_dirty_ = true;
  } else if (backpressured_ && in_flight_bytes_ <= max / 2) {
    backpressured_ = false;
    fetch_dirty_ = true;
  }
  if (!fetch_dirty_) return;
  fetch_dirty_ = false;
  // Pause what must not fetch; rewind what dropped records (backpressure, unknown start, errors)
  // before letting it fetch again.
  const bool may_fetch = !backpressured_ && !draining_ && !paused_;
  std::vector<SourcePartition> pause, resume;
  for (auto& [sp, p] : pipelines_) {
    const bool fetch = may_fetch && p->resolved && !p->stopped;
    if (fetch && p->needs_seek) {
      int64_t to = p->next.value_or(options_.start_from == StartFrom::kEarliest ? kOffsetBeginning
                                                                                : kOffsetEnd);
      if (absl::Status sought = source_->Seek(sp, SourceOffset(to)); sought.ok()) {
        p->needs_seek = false;
      } else {
        Log()->warn("msg=\"seek failed; retrying\" flow={} partition={} offset={} error=\"{}\"",
                    options_.name, sp.ToString(), to, sought.message());
        if (probe_) probe_->RecordError("seek");
        fetch_dirty_ = true;  // try again next turn
        continue;
      }
    }
    if (fetch != p->fetching) {
      (fetch ? resume : pause).push_back(sp);
      p->fetching = fetch;
    }
  }
  if (!pause.empty()) (void)source_->Pause(pause);
  if (!resume.empty()) (void)source_->Resume(resume);
}

void Flow::Housekeeping() {
  const int64_t now = NowMs();
  // Retry reading target tails for partitions whose start is still unknown.
  if (now - last_resolve_attempt_ms_ >= kResolveRetryMs) {
    std::vector<std::shared_ptr<Pipeline>> unresolved;
    for (auto& [sp, p] : pipelines_) {
      if (!p->resolved) unresolved.push_back(p);
    }
    if (!unresolved.empty()) {
      last_resolve_attempt_ms_ = now;
      if (Resolve(unresolved)) {
        for (auto& p : unresolved) p->needs_seek = true;  // move the fetcher to the start found
        fetch_dirty_ = true;
      }
    }
  }
  if (now - last_housekeeping_ms_ < kHousekeepingIntervalMs) return;
  last_housekeeping_ms_ = now;
  for (auto& [sp, p] : pipelines_) {
    auto wm = source_->CachedWatermarks(sp);
    int64_t lag = 0;
    double lag_s = 0;
    if (wm && wm->high >= 0) {
      int64_t position = p->position >= 0 ? p->position : (p->next ? *p->next : wm->high);
      if (!p->next && p->position < 0 && options_.start_from == StartFrom::kEarliest) {
        position = wm->low;
      }
      lag = std::max<int64_t>(0, wm->high - position);
    }
    if (lag > 0) {
      lag_s = p->in_flight.empty()
                  ? (now - p->last_progress_ms) / 1000.0
                  : std::max<int64_t>(0, now - p->in_flight.front().timestamp_ms) / 1000.0;
    } else {
      p->last_progress_ms = now;
    }
    p->lag_seconds = lag_s;
    if (probe_) probe_->SetLag(sp, lag, lag_s);
  }
  if (probe_) probe_->SetInFlightBytes(in_flight_bytes_);
  PublishStatus();
}

void Flow::PublishStatus() {
  FlowStatus s;
  s.name = options_.name;
  s.in_flight_bytes = in_flight_bytes_;
  s.backpressured = backpressured_;
  s.paused = paused_;
  s.replicated_records = replicated_records_;
  s.replicated_bytes = replicated_bytes_;
  s.latency_ms_sum = latency_ms_sum_;
  s.latency_count = latency_count_;
  for (const auto& [sp, p] : pipelines_) {
    PartitionStatus ps;
    ps.source = p->source;
    ps.target = p->target;
    ps.position = p->position >= 0 ? p->position : p->next.value_or(-1);
    ps.replicated = p->replicated;
    ps.lag_seconds = p->lag_seconds;
    ps.lost = p->lost;
    ps.resolved = p->resolved;
    ps.stopped = p->stopped;
    ps.stop_reason = p->stop_reason;
    if (auto wm = source_->CachedWatermarks(sp); wm && wm->high >= 0) {
      ps.source_end = wm->high;
      // Started from the earliest record and nothing copied yet: the next one is the first.
      if (ps.position < 0 && p->resolved && !p->needs_seek &&
          options_.start_from == StartFrom::kEarliest && wm->low >= 0) {
        ps.position = wm->low;
      }
      if (ps.position >= 0) ps.lag_records = std::max<int64_t>(0, wm->high - ps.position);
    }
    s.partitions.push_back(std::move(ps));
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  status_ = std::move(s);
}

void Flow::RunOnce(std::chrono::milliseconds poll_timeout) {
  records_.clear();
  errors_.clear();
  const auto timeout = pending_.empty() ? poll_timeout : std::chrono::milliseconds(1);
  absl::Status polled = source_->Poll(timeout, options_.poll_batch, records_, errors_);
  if (!polled.ok()) {
    Log()->warn("msg=\"source poll failed\" flow={} error=\"{}\"", options_.name, polled.message());
    if (probe_) probe_->RecordError("source_poll");
  }
  for (auto& r : records_) HandleRecord(r);
  records_.clear();  // owners of dropped records go now
  for (const auto& e : errors_) HandleError(e);
  acks_.clear();
  sink_->Poll(std::chrono::milliseconds(0), acks_);
  HandleAcks(acks_);
  ApplyBackpressure();
  Housekeeping();
}

void Flow::SetPaused(bool paused) {
  if (paused == paused_) return;
  paused_ = paused;
  fetch_dirty_ = true;
  PublishStatus();
  Log()->info("msg=\"{}\" flow={}", paused ? "fetching paused" : "fetching resumed", options_.name);
}

absl::Status Flow::Drain(std::chrono::milliseconds timeout) {
  draining_ = true;
  std::vector<SourcePartition> all;
  for (auto& [sp, p] : pipelines_) {
    all.push_back(sp);
    p->fetching = false;
  }
  (void)source_->Pause(all);
  acks_.clear();
  absl::Status flushed = sink_->Flush(timeout, acks_);
  HandleAcks(acks_);
  PublishStatus();
  if (!pending_.empty()) {
    return absl::DeadlineExceededError(std::to_string(pending_.size()) +
                                       " records not acknowledged by the target before the "
                                       "drain deadline; they will be copied again on restart");
  }
  return flushed;
}

int64_t FlowStatus::LagRecords() const {
  int64_t lag = 0;
  for (const auto& p : partitions) lag += p.lag_records;
  return lag;
}

double FlowStatus::LagSeconds() const {
  double lag = 0;
  for (const auto& p : partitions) lag = std::max(lag, p.lag_seconds);
  return lag;
}

FlowStatus Flow::Status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

}  // namespace kmirror::replication
