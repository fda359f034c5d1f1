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
// Retrying a partition the producer does not know yet: from 100 ms, doubling, at most 10 s.
constexpr int64_t kFirstHoldMs = 100;
constexpr int64_t kMaxHoldMs = 10000;
constexpr int64_t kSinkResetRetryMs = 5000;
constexpr auto kFatalFlushTimeout = std::chrono::seconds(5);

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
  RecomputeShare();
  if (options_.resolve_in_background) resolver_ = std::thread([this] { ResolverLoop(); });
}

Flow::~Flow() {
  {
    std::lock_guard<std::mutex> lock(resolver_mu_);
    resolver_stop_ = true;
  }
  resolver_cv_.notify_all();
  if (resolver_.joinable()) resolver_.join();
}

int64_t Flow::NowMs() const { return options_.now_ms(); }

void Flow::Start() {
  source_->SetRebalanceHandler(
      [this](RebalanceKind kind, const std::vector<SourcePartition>& partitions,
             std::vector<SourceOffset>& start) { OnRebalance(kind, partitions, start); });
}

absl::Status Flow::SetTopics(const std::vector<std::string>& topics) {
  return source_->Subscribe(topics);
}

void Flow::RecomputeShare() {
  // A partition may hold an equal share of the bound, and never less than an eighth of it, so a
  // partition whose target does not answer cannot take the budget of all the others.
  const size_t n = std::max<size_t>(1, pipelines_.size());
  share_bytes_ = std::max(options_.max_in_flight_bytes / n, options_.max_in_flight_bytes / 8);
}

std::vector<Flow::Resolution> Flow::ComputeResolutions(
    const std::vector<ResolveRequest>& requests) {
  std::vector<TargetPartition> targets;
  targets.reserve(requests.size());
  for (const auto& r : requests) targets.push_back(r.target);
  auto tails = tail_->Read(targets, options_.source_alias);
  std::vector<Resolution> out;
  out.reserve(requests.size());
  for (const auto& r : requests) {
    Resolution res;
    res.source = r.source;
    res.id = r.id;
    if (!tails.ok()) {
      res.status = tails.status();
    } else if (auto it = tails->find(r.target); it == tails->end()) {
      res.status = absl::UnavailableError("target partition " + r.target.ToString() +
                                          " could not be read (no leader, or not there yet)");
    } else {
      res.tail = it->second;
      if (options_.start_floor) {
        auto floor = options_.start_floor(r.source);
        if (floor.ok()) {
          res.floor = *floor;
        } else {
          res.status = floor.status();
        }
      }
    }
    out.push_back(std::move(res));
  }
  return out;
}

void Flow::ResolverLoop() {
  std::unique_lock<std::mutex> lock(resolver_mu_);
  while (true) {
    resolver_cv_.wait(lock, [this] { return resolver_stop_ || !resolve_requests_.empty(); });
    if (resolver_stop_) return;
    std::vector<ResolveRequest> requests;
    requests.swap(resolve_requests_);
    lock.unlock();
    std::vector<Resolution> results = ComputeResolutions(requests);
    lock.lock();
    for (auto& r : results) resolutions_.push_back(std::move(r));
  }
}

void Flow::RequestResolve(const std::vector<std::shared_ptr<Pipeline>>& pipelines) {
  std::vector<ResolveRequest> requests;
  for (const auto& p : pipelines) {
    if (p->resolved || p->resolving || p->retired) continue;
    p->resolving = true;
    requests.push_back(ResolveRequest{p->source, p->target, p->id});
  }
  if (requests.empty()) return;
  last_resolve_attempt_ms_ = NowMs();
  if (!options_.resolve_in_background) {
    ApplyResolutions(ComputeResolutions(requests));
    return;
  }
  {
    std::lock_guard<std::mutex> lock(resolver_mu_);
    for (auto& r : requests) resolve_requests_.push_back(std::move(r));
  }
  resolver_cv_.notify_all();
}

void Flow::CollectResolutions() {
  if (!options_.resolve_in_background) return;
  std::vector<Resolution> results;
  {
    std::lock_guard<std::mutex> lock(resolver_mu_);
    if (resolutions_.empty()) return;
    results.swap(resolutions_);
  }
  ApplyResolutions(results);
}

void Flow::ApplyResolutions(const std::vector<Resolution>& results) {
  size_t failed = 0;
  for (const Resolution& r : results) {
    auto it = pipelines_.find(r.source);
    if (it == pipelines_.end() || it->second->id != r.id) continue;  // revoked meanwhile
    Pipeline& p = *it->second;
    p.resolving = false;
    if (ApplyResolution(p, r)) {
      p.needs_seek = true;  // move the fetcher to the start found
      fetch_dirty_ = true;
    } else {
      ++failed;
    }
  }
  if (failed > 0 && probe_) probe_->RecordError("target_tail");
}

bool Flow::ApplyResolution(Pipeline& p, const Resolution& r) {
  if (!r.status.ok()) {
    const std::string why(r.status.message());
    if (why != p.resolve_error) {
      Log()->warn("msg=\"partition start unknown yet; it waits\" flow={} partition={} error=\"{}\"",
                  options_.name, p.source.ToString(), why);
      p.resolve_error = why;
    }
    return false;
  }
  p.resolve_error.clear();
  const TailState& t = r.tail;
  if (t.last) {
    p.next = t.last->value + 1;
  } else {
    p.next.reset();
  }
  if (r.floor && (!p.next || *p.next < *r.floor)) {
    Log()->info("msg=\"partition starts at its floor\" flow={} partition={} floor={} tail={}",
                options_.name, p.source.ToString(), *r.floor,
                p.next ? std::to_string(*p.next) : "none");
    p.next = *r.floor;
  }
  if (!p.next && t.records_read > 0 && options_.provenance) {
    // The whole remote partition was read: none of its records came from this source.
    Log()->warn(
        "msg=\"target partition holds records, none from this flow's source; starting per "
        "start_from\" flow={} partition={} target_end={} start_from={}",
        options_.name, p.target.ToString(), t.target.high,
        options_.start_from == StartFrom::kEarliest ? "earliest" : "latest");
    if (probe_) probe_->RecordError("foreign_target_records");
  }
  if (!p.next && p.fixed_start) p.next = p.fixed_start;
  if (p.next) {
    if (p.position > *p.next) {
      Log()->error(
          "msg=\"target holds less than was acknowledged (target partition truncated?); "
          "following the target\" flow={} partition={} acknowledged_up_to={} target_next={}",
          options_.name, p.source.ToString(), p.position, *p.next);
      if (probe_) probe_->RecordError("target_truncated");
      if (options_.on_target_reset) options_.on_target_reset(p.source);
    }
    p.position = *p.next;
  }
  p.resolved = true;
  Log()->info("msg=\"partition resolved\" flow={} partition={} start={}", options_.name,
              p.source.ToString(),
              p.next ? std::to_string(*p.next)
                     : (options_.start_from == StartFrom::kEarliest ? "earliest" : "latest"));
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
      p->id = next_pipeline_id_++;
      p->last_progress_ms = NowMs();
      if (auto skip = skips_.find(sp); skip != skips_.end()) p->skip_at = skip->second;
      pipelines_[sp] = p;
      added.push_back(p);
      if (probe_) probe_->PartitionAssigned(sp);
    }
    RecomputeShare();
    RequestResolve(added);  // resolved now unless in the background
    start.clear();
    size_t resolved = 0;
    for (const auto& p : added) {
      if (!p->resolved) {
        // Unknown start: take whatever comes but drop it until the tail is read (needs_seek).
        p->needs_seek = true;
        fetch_dirty_ = true;
        start.emplace_back(kOffsetEnd);
        continue;
      }
      ++resolved;
      p->needs_seek = false;
      p->fetch_from = p->next.value_or(options_.start_from == StartFrom::kEarliest ? 0 : -1);
      if (p->next) {
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
  RecomputeShare();
  if (kind == RebalanceKind::kRevoked) {
    // Cooperative hand-over: deliver what is in flight before another instance takes over, so it
    // reads a tail that includes everything this one wrote.
    size_t open = 0;
    for (const auto& p : leaving) open += p->pending;
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

void Flow::PassNonRecords(Pipeline& p) {
  if (!p.next || *p.next >= p.end_hint || p.max_delivered >= *p.next) return;
  if (p.stopped || !p.resolved || p.needs_seek || p.rewind) return;
  p.next = p.end_hint;
  p.in_flight.push_back(Entry{p.end_hint - 1, 0, NowMs(), true});
}

void Flow::HandleEnd(Pipeline& p, int64_t end) {
  if (!p.resolved || p.stopped) return;  // a fetch from a placeholder start: it says nothing
  if (!p.next) {
    // Nothing delivered since the start per start_from: the start is the end.
    if (p.max_delivered >= 0 || p.needs_seek) return;
    p.next = end;
    if (p.position < 0) p.position = end;
    if (options_.start_from == StartFrom::kLatest) p.fixed_start = end;
    return;
  }
  // Only a fetch that started at or below `next` delivered every record in [next, end).
  if (p.fetch_from < 0 || p.fetch_from > *p.next || end <= p.end_hint) return;
  p.end_hint = end;
  Advance(p);
}

void Flow::Advance(Pipeline& p) {
  const int64_t before = p.position;
  PassNonRecords(p);
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

void Flow::Stop(Pipeline& p, std::string reason, int64_t at_offset) {
  if (p.stopped) {
    // A lower offset of the same refusal (acks of one batch come in any order) moves the stop.
    if (at_offset >= 0 && (p.stop_offset < 0 || at_offset < p.stop_offset)) {
      p.stop_offset = at_offset;
      p.stop_reason = std::move(reason);
    }
    return;
  }
  p.stopped = true;
  p.stop_reason = std::move(reason);
  p.stop_offset = at_offset;
  fetch_dirty_ = true;
  Log()->error("msg=\"partition stopped\" flow={} partition={} at_offset={} reason=\"{}\"",
               options_.name, p.source.ToString(), at_offset, p.stop_reason);
  if (probe_) probe_->SetStopped(p.source, true);
  PublishStatus();
}

void Flow::Drop(Pipeline& p) {
  p.needs_seek = true;
  fetch_dirty_ = true;
}

void Flow::ForgetStart(Pipeline& p) {
  p.in_flight.clear();  // `position` stays: everything below it is on the target
  p.next.reset();
  p.end_hint = -1;  // it covered a fetch from a start that is no longer ours
  p.resolved = false;
  Drop(p);
}

void Flow::Hold(Pipeline& p, const absl::Status& why) {
  const bool first = p.backoff_ms == 0;
  p.backoff_ms = first ? kFirstHoldMs : std::min(2 * p.backoff_ms, kMaxHoldMs);
  p.hold_until_ms = NowMs() + p.backoff_ms;
  if (next_release_ms_ == 0 || p.hold_until_ms < next_release_ms_) {
    next_release_ms_ = p.hold_until_ms;
  }
  if (first) {
    Log()->warn(
        "msg=\"target partition not known to the producer yet; refreshing metadata and "
        "retrying\" flow={} partition={} error=\"{}\"",
        options_.name, p.target.ToString(), why.message());
  }
  if (probe_) probe_->RecordError("target_partition_unknown");
}

void Flow::HandleRecord(SourceRecord& record) {
  auto it = pipelines_.find(record.partition);
  if (it == pipelines_.end()) return;  // not (or no longer) ours
  Pipeline& p = *it->second;
  p.max_delivered = std::max(p.max_delivered, record.offset.value);
  if (p.stopped || !p.resolved || p.needs_seek || p.rewind || draining_) return Drop(p);
  if (p.next && record.offset.value < *p.next) return;  // already handled (re-fetch)
  if (!p.next) {
    // The first record of a partition without progress on the target: its start is fixed now,
    // so a record dropped below is fetched again from here, never from a newer end.
    p.next = record.offset.value;
    if (p.position < 0) p.position = record.offset.value;
    if (options_.start_from == StartFrom::kLatest) p.fixed_start = record.offset.value;
  }
  if (backpressured_ || p.hold_until_ms > 0) return Drop(p);
  if (record.offset.value == p.skip_at) {
    // The operator gave this record up (kmirrorctl skip): lost, deliberately.
    p.next = record.offset.value + 1;
    p.in_flight.push_back(Entry{record.offset.value, 0, record.timestamp_ms, true});
    Advance(p);
    p.lost++;
    if (probe_) probe_->RecordLost(p.source, 1);
    Log()->warn(
        "msg=\"record skipped by the operator; counted as lost\" flow={} partition={} "
        "offset={}",
        options_.name, p.source.ToString(), record.offset.value);
    return;
  }

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
    return Drop(p);
  }
  if (p.bytes > 0 && p.bytes + record.bytes > share_bytes_) {
    p.over_share = true;  // this partition holds its share: it waits for its own acks
    return Drop(p);
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
    Drop(p);
    switch (sent.code()) {
      case absl::StatusCode::kUnavailable:
        backpressured_ = true;  // local queue full: stop fetching until acks drain
        break;
      case absl::StatusCode::kNotFound:
        Hold(p, sent);
        break;
      case absl::StatusCode::kFailedPrecondition:
        sink_broken_ = true;
        break;
      default:
        if (probe_) probe_->RecordError("produce_refused");
        Stop(p,
             "the producer cannot send the record at source offset " +
                 std::to_string(record.offset.value) + ": " + std::string(sent.message()),
             record.offset.value);
        break;
    }
    return;
  }
  pending.owner = std::move(record.owner);
  p.next = record.offset.value + 1;
  p.in_flight.push_back(Entry{record.offset.value, record.bytes, record.timestamp_ms, false});
  p.pending++;
  p.bytes += record.bytes;
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
    p.pending--;
    p.bytes -= std::min(p.bytes, pending.bytes);
    if (p.over_share && p.bytes <= share_bytes_ / 2) {
      p.over_share = false;
      fetch_dirty_ = true;
    }
    if (!ack.status.ok()) {
      if (p.retired) continue;
      if (ack.refused) {
        // The target's verdict on this record: the partition stops here, and the sink wrote
        // nothing of it behind this record.
        if (probe_) probe_->RecordError("delivery_refused");
        Stop(p,
             "target refused the record at source offset " + std::to_string(pending.offset) + ": " +
                 std::string(ack.status.message()),
             pending.offset);
      } else if (!p.rewind && !p.stopped) {
        // Only not written: once the partition has nothing in flight, it resumes from the tail.
        if (probe_) probe_->RecordError("delivery_not_written");
        Log()->warn(
            "msg=\"records not written by the target; the partition resumes from the target's "
            "tail\" flow={} partition={} first_offset={} error=\"{}\"",
            options_.name, p.source.ToString(), pending.offset, ack.status.message());
        p.rewind = true;
        rewinding_.push_back(pending.pipeline);
      }
      continue;
    }
    if (p.stopped && p.stop_offset >= 0 && pending.offset > p.stop_offset) {
      // The sink broke its promise: a record landed behind a refused one.
      Log()->error("msg=\"record written after a refused one\" flow={} partition={} offset={}",
                   options_.name, p.source.ToString(), pending.offset);
      if (probe_) probe_->RecordError("written_after_refusal");
    }
    // Acks arrive in order per partition with an idempotent producer; tolerate any order.
    auto e = std::lower_bound(p.in_flight.begin(), p.in_flight.end(), pending.offset,
                              [](const Entry& en, int64_t off) { return en.offset < off; });
    if (e == p.in_flight.end() || e->offset != pending.offset) continue;
    e->done = true;
    p.replicated++;
    p.backoff_ms = 0;
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

void Flow::SettleRewinds() {
  if (rewinding_.empty()) return;
  std::vector<std::shared_ptr<Pipeline>> keep, resolve;
  for (auto& sp : rewinding_) {
    Pipeline& p = *sp;
    if (p.retired) continue;
    if (p.pending > 0) {
      keep.push_back(std::move(sp));
      continue;
    }
    p.rewind = false;
    if (p.stopped) continue;  // stopped at a refused record: it stays there
    // What the target holds is a prefix of what was sent: its tail says where to go on.
    ForgetStart(p);
    resolve.push_back(std::move(sp));
  }
  rewinding_ = std::move(keep);
  RequestResolve(resolve);
}

void Flow::RecoverSink(const absl::Status& why) {
  const int64_t now = NowMs();
  if (now < next_sink_reset_ms_) return;
  Log()->error("msg=\"target producer failed; rebuilding it\" flow={} error=\"{}\"", options_.name,
               why.message());
  if (probe_) probe_->RecordError("producer_fatal");
  // In-flight requests still get their answers; queued records come back purged.
  acks_.clear();
  (void)sink_->Flush(kFatalFlushTimeout, acks_);
  HandleAcks(acks_);
  if (absl::Status reset = sink_->Reset(); !reset.ok()) {
    Log()->error("msg=\"target producer cannot be rebuilt; retrying\" flow={} error=\"{}\"",
                 options_.name, reset.message());
    next_sink_reset_ms_ = now + kSinkResetRetryMs;
    return;
  }
  sink_broken_ = false;
  // What the old producer never reported is forgotten; the target's tail says what landed.
  for (auto& [token, pending] : pending_) {
    Pipeline& p = *pending.pipeline;
    p.pending--;
    p.bytes -= std::min(p.bytes, pending.bytes);
    if (!p.retired && !p.stopped && !p.rewind) {
      p.rewind = true;
      rewinding_.push_back(pending.pipeline);
    }
  }
  pending_.clear();
  in_flight_bytes_ = 0;
  for (auto& [sp, p] : pipelines_) p->over_share = false;
  fetch_dirty_ = true;
  Log()->info("msg=\"target producer rebuilt\" flow={} partitions_resuming={}", options_.name,
              rewinding_.size());
  SettleRewinds();
}

void Flow::MaybeApplySkip(const std::shared_ptr<Pipeline>& sp) {
  Pipeline& p = *sp;
  if (!p.stopped || p.skip_at < 0 || p.stop_offset != p.skip_at || p.pending > 0) return;
  Log()->warn(
      "msg=\"operator skip: the stopped partition resumes after the skipped record\" "
      "flow={} partition={} skipped={}",
      options_.name, p.source.ToString(), p.skip_at);
  p.stopped = false;
  p.stop_reason.clear();
  p.stop_offset = -1;
  if (probe_) probe_->SetStopped(p.source, false);
  // Back to the target's tail, which ends just before the skipped record (the record itself is
  // passed over when it is fetched again).
  ForgetStart(p);
  RequestResolve({sp});
}

void Flow::SetSkips(std::map<SourcePartition, int64_t> skips) {
  skips_ = std::move(skips);
  for (auto& [sp, p] : pipelines_) {
    auto it = skips_.find(sp);
    p->skip_at = it == skips_.end() ? -1 : it->second;
    MaybeApplySkip(p);
  }
  PublishStatus();
}

void Flow::HandleError(const SourcePartitionError& error) {
  auto it = pipelines_.find(error.partition);
  if (it == pipelines_.end()) return;
  Pipeline& p = *it->second;
  if (error.status.ok()) return HandleEnd(p, error.offset.value);
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
    Drop(p);
    return;
  }
  const int64_t wanted = p.next.value_or(error.offset.value);
  const bool stop = options_.on_retention_loss == OnRetentionLoss::kStop;
  if (wanted < wm->low) {
    const int64_t lost = wm->low - wanted;
    p.lost += lost;
    if (probe_) probe_->RecordLost(p.source, lost);
    Log()->error(
        "msg=\"source retention deleted records before they were replicated\" flow={} "
        "partition={} lost={} from={} to={} policy={}",
        options_.name, p.source.ToString(), lost, wanted, wm->low - 1, stop ? "stop" : "continue");
    if (stop) {
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
    // The source holds fewer records than were replicated: it was truncated or recreated. What
    // is on the target stays; the source's records now below `wanted` can never be copied in
    // order behind it, so the flow continues at the new end and counts them as lost.
    const int64_t lost = std::max<int64_t>(0, wm->high - std::max<int64_t>(0, wm->low));
    p.lost += lost;
    if (probe_) {
      probe_->RecordError("source_truncated");
      if (lost > 0) probe_->RecordLost(p.source, lost);
    }
    Log()->error(
        "msg=\"source partition is behind what was replicated (truncated or recreated "
        "source)\" flow={} partition={} replicated_up_to={} source_start={} source_end={} "
        "lost={} policy={}",
        options_.name, p.source.ToString(), wanted, wm->low, wm->high, lost,
        stop ? "stop" : "continue");
    if (stop) {
      Stop(p, "source end offset " + std::to_string(wm->high) + " is below replicated offset " +
                  std::to_string(wanted));
      return;
    }
    p.next = wm->high;
    p.end_hint = p.max_delivered = -1;  // facts about the log that is gone
  }
  Drop(p);
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
  const int64_t now = NowMs();
  if (next_release_ms_ > 0 && now >= next_release_ms_) fetch_dirty_ = true;
  if (!fetch_dirty_) return;
  fetch_dirty_ = false;
  next_release_ms_ = 0;
  // Pause what must not fetch; rewind what dropped records (backpressure, unknown start, errors)
  // before letting it fetch again.
  const bool may_fetch = !backpressured_ && !draining_ && !paused_ && !sink_broken_;
  std::vector<SourcePartition> pause, resume;
  for (auto& [sp, p] : pipelines_) {
    if (p->hold_until_ms > 0) {
      if (now >= p->hold_until_ms) {
        p->hold_until_ms = 0;
      } else if (next_release_ms_ == 0 || p->hold_until_ms < next_release_ms_) {
        next_release_ms_ = p->hold_until_ms;
      }
    }
    const bool fetch = may_fetch && p->resolved && !p->stopped && !p->over_share &&
                       p->hold_until_ms == 0 && !p->rewind;
    if (fetch && p->needs_seek) {
      int64_t to = kOffsetBeginning;
      if (p->next) {
        to = *p->next;
      } else if (options_.start_from == StartFrom::kLatest) {
        // Fix the start once: a later seek must not jump to a newer end.
        auto wm = source_->CachedWatermarks(sp);
        to = wm && wm->high >= 0 ? wm->high : kOffsetEnd;
        if (to >= 0) {
          p->next = p->fixed_start = to;
          p->position = to;
        }
      }
      if (absl::Status sought = source_->Seek(sp, SourceOffset(to)); sought.ok()) {
        p->needs_seek = false;
        p->fetch_from = to == kOffsetBeginning ? 0 : to;
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
  // Retry finding the start of partitions whose start is still unknown.
  if (now - last_resolve_attempt_ms_ >= kResolveRetryMs) {
    std::vector<std::shared_ptr<Pipeline>> unresolved;
    for (auto& [sp, p] : pipelines_) {
      if (!p->resolved && !p->resolving && !p->stopped && !p->rewind) unresolved.push_back(p);
    }
    last_resolve_attempt_ms_ = now;
    RequestResolve(unresolved);
  }
  if (now - last_housekeeping_ms_ < kHousekeepingIntervalMs) return;
  last_housekeeping_ms_ = now;
  for (auto& [sp, p] : pipelines_) {
    if (p->stopped && p->skip_at >= 0) MaybeApplySkip(p);  // its acks may have settled since
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
    ps.stop_offset = p->stop_offset;
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
  CollectResolutions();
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
  if (absl::Status fatal = sink_->Fatal(); !fatal.ok() || sink_broken_) {
    sink_broken_ = true;
    RecoverSink(fatal.ok() ? absl::FailedPreconditionError("send refused: producer broken")
                           : fatal);
  }
  SettleRewinds();
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
