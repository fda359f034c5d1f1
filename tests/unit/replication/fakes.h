// In-memory source, sink and target tail for Flow unit tests.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lib/replication/io.h"
#include "lib/replication/provenance.h"

namespace kmirror::replication::testing {

struct StoredRecord {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  int64_t timestamp_ms = 0;
};

// A source cluster: logs per partition, a log start that retention can move, and one consumer.
class FakeSource : public SourceClient {
 public:
  std::map<SourcePartition, std::vector<StoredRecord>> logs;
  std::map<SourcePartition, int64_t> log_start;
  std::map<SourcePartition, int64_t> positions;
  std::set<SourcePartition> paused;
  std::vector<SourcePartition> to_assign, to_revoke;
  std::vector<std::string> subscription;
  int seeks = 0;
  // Offsets that hold no record (transaction markers, aborted or compacted records): never
  // delivered. Their place in `logs` is a placeholder.
  std::map<SourcePartition, std::set<int64_t>> no_record;
  // Like librdkafka's enable.partition.eof: the end is reported once per end offset reached.
  std::map<SourcePartition, int64_t> end_reported;

  void Append(const SourcePartition& p, StoredRecord r) { logs[p].push_back(std::move(r)); }
  int64_t End(const SourcePartition& p) { return static_cast<int64_t>(logs[p].size()); }

  void SetRebalanceHandler(RebalanceHandler h) override { handler_ = std::move(h); }
  absl::Status Subscribe(const std::vector<std::string>& topics) override {
    subscription = topics;
    return absl::OkStatus();
  }
  absl::Status Poll(std::chrono::milliseconds, size_t max, std::vector<SourceRecord>& records,
                    std::vector<SourcePartitionError>& errors) override {
    if (!to_revoke.empty()) {
      std::vector<SourceOffset> none;
      auto parts = std::move(to_revoke);
      to_revoke.clear();
      handler_(RebalanceKind::kRevoked, parts, none);
      for (const auto& p : parts) positions.erase(p);
    }
    if (!to_assign.empty()) {
      std::vector<SourceOffset> start;
      auto parts = std::move(to_assign);
      to_assign.clear();
      handler_(RebalanceKind::kAssigned, parts, start);
      for (size_t i = 0; i < parts.size(); ++i) {
        int64_t o = start[i].value;
        if (o == -2) o = log_start[parts[i]];
        if (o == -1) o = End(parts[i]);
        positions[parts[i]] = o;
      }
    }
    for (auto& [p, pos] : positions) {
      if (paused.count(p)) continue;
      if (pos < log_start[p] || pos > End(p)) {
        errors.push_back({p, SourceOffset(pos), absl::OutOfRangeError("offset out of range")});
        continue;
      }
      while (pos < End(p) && records.size() < max) {
        if (no_record[p].contains(pos)) {
          ++pos;
          continue;
        }
        const StoredRecord& s = logs[p][pos];
        SourceRecord r;
        r.partition = p;
        r.offset = SourceOffset(pos);
        r.key = s.key ? std::optional<std::string_view>(*s.key) : std::nullopt;
        r.value = s.value ? std::optional<std::string_view>(*s.value) : std::nullopt;
        for (const auto& [n, v] : s.headers) {
          r.headers.push_back(
              HeaderView{n, v ? std::optional<std::string_view>(*v) : std::nullopt});
        }
        r.timestamp_ms = s.timestamp_ms;
        r.bytes = (s.key ? s.key->size() : 0) + (s.value ? s.value->size() : 0) + 10;
        r.owner = std::make_shared<int>(0);
        records.push_back(std::move(r));
        ++pos;
      }
      if (pos == End(p) && end_reported[p] != pos) {
        end_reported[p] = pos;
        errors.push_back({p, SourceOffset(pos), absl::OkStatus()});
      }
    }
    return absl::OkStatus();
  }
  absl::Status Pause(const std::vector<SourcePartition>& ps) override {
    paused.insert(ps.begin(), ps.end());
    return absl::OkStatus();
  }
  absl::Status Resume(const std::vector<SourcePartition>& ps) override {
    for (const auto& p : ps) paused.erase(p);
    return absl::OkStatus();
  }
  absl::Status Seek(const SourcePartition& p, SourceOffset o) override {
    ++seeks;
    int64_t v = o.value;
    if (v == -2) v = log_start[p];
    if (v == -1) v = End(p);
    positions[p] = v;
    return absl::OkStatus();
  }
  std::optional<Watermarks> CachedWatermarks(const SourcePartition& p) override {
    return Watermarks{log_start[p], End(p)};
  }
  absl::StatusOr<Watermarks> QueryWatermarks(const SourcePartition& p) override {
    return Watermarks{log_start[p], End(p)};
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  RebalanceHandler handler_;
};

// A target cluster: records land in `logs` when acknowledged; acks can be held back. Like Kafka's
// idempotent producer with the gapless guarantee, a refused record turns the sink fatal and
// fails everything queued behind it as not written, until Reset().
class FakeSink : public SinkClient {
 public:
  std::map<TargetPartition, std::vector<StoredRecord>> logs;
  bool hold_acks = false;
  size_t queue_limit = 1000000;
  std::optional<absl::Status> fail_next;  // the target refuses the next record (a verdict)
  std::map<TargetPartition, absl::Status> send_errors;  // Send() returns these (queues nothing)
  std::set<TargetPartition> stalled;  // records of these stay queued: no leader, no answer
  std::set<TargetPartition> refuse;   // the target refuses every record of these
  int resets = 0;
  size_t sends = 0;
  std::mutex mu;  // guards `logs` between the worker and a background tail reader

  absl::Status Send(const OutgoingRecord& r, uint64_t token) override {
    ++sends;
    if (!fatal_.ok()) return absl::FailedPreconditionError(fatal_.message());
    if (auto e = send_errors.find(r.partition); e != send_errors.end()) return e->second;
    if (queued_.size() >= queue_limit) return absl::UnavailableError("queue full");
    StoredRecord s;
    if (r.key) s.key = std::string(*r.key);
    if (r.value) s.value = std::string(*r.value);
    for (const auto& h : r.headers) {
      s.headers.emplace_back(
          std::string(h.name),
          h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
    }
    s.timestamp_ms = r.timestamp_ms;
    absl::Status status = fail_next.value_or(absl::OkStatus());
    if (refuse.count(r.partition)) status = absl::InvalidArgumentError("MSG_SIZE_TOO_LARGE");
    queued_.push_back({token, r.partition, std::move(s), status});
    fail_next.reset();
    return absl::OkStatus();
  }
  void Poll(std::chrono::milliseconds, std::vector<SinkAck>& acks) override {
    if (!hold_acks) Deliver(acks);
  }
  absl::Status Flush(std::chrono::milliseconds, std::vector<SinkAck>& acks) override {
    if (hold_acks) return absl::DeadlineExceededError("held");
    Deliver(acks);
    return absl::OkStatus();
  }
  size_t Queued() const override { return queued_.size(); }
  size_t QueuedFor(const TargetPartition& p) const {
    size_t n = 0;
    for (const auto& q : queued_) n += q.partition == p ? 1 : 0;
    return n;
  }
  absl::Status Fatal() const override { return fatal_; }
  absl::Status Reset() override {
    queued_.clear();  // never acknowledged: the flow forgets them
    fatal_ = absl::OkStatus();
    ++resets;
    return absl::OkStatus();
  }
  // Turns the sink fatal now (e.g. a fenced producer); queued records fail as not written.
  void BreakNow() { fatal_ = absl::FailedPreconditionError("fatal: producer fenced"); }

 private:
  struct Q {
    uint64_t token;
    TargetPartition partition;
    StoredRecord record;
    absl::Status status;
  };
  void Deliver(std::vector<SinkAck>& acks) {
    std::deque<Q> waiting;
    for (auto& q : queued_) {
      if (fatal_.ok() && stalled.count(q.partition)) {
        waiting.push_back(std::move(q));
        continue;
      }
      if (!fatal_.ok()) {
        acks.push_back(
            {q.token, absl::AbortedError("purged: producer failed"), TargetOffset(-1), false});
        continue;
      }
      if (!q.status.ok()) {
        acks.push_back({q.token, q.status, TargetOffset(-1), true});
        fatal_ =
            absl::FailedPreconditionError("gapless guarantee: " + std::string(q.status.message()));
        continue;
      }
      std::lock_guard<std::mutex> lock(mu);
      auto& log = logs[q.partition];
      log.push_back(std::move(q.record));
      acks.push_back(
          {q.token, absl::OkStatus(), TargetOffset(static_cast<int64_t>(log.size()) - 1)});
    }
    queued_ = std::move(waiting);
  }
  std::deque<Q> queued_;
  absl::Status fatal_;
};

class FakeTail : public TargetTail {
 public:
  explicit FakeTail(FakeSink* sink) : sink_(sink) {}
  bool fail = false;
  std::set<TargetPartition> unreadable;  // left out of the answer (no leader)
  std::function<void()> on_read;         // runs at the start of every Read (on its thread)
  absl::StatusOr<std::map<TargetPartition, TailState>> Read(
      const std::vector<TargetPartition>& partitions, const std::string& source) override {
    if (on_read) on_read();
    if (fail) return absl::UnavailableError("target down");
    std::lock_guard<std::mutex> lock(sink_->mu);
    std::map<TargetPartition, TailState> out;
    for (const auto& p : partitions) {
      if (unreadable.count(p)) continue;
      TailState t;
      const auto& log = sink_->logs[p];
      t.target = Watermarks{0, static_cast<int64_t>(log.size())};
      t.records_read = static_cast<int64_t>(log.size());
      for (const auto& r : log) {
        for (const auto& [n, v] : r.headers) {
          if (n != kProvenanceHeader || !v) continue;
          auto prov = DecodeProvenance(*v);
          if (prov && prov->source == source) t.last = prov->offset;
        }
      }
      out[p] = t;
    }
    return out;
  }

 private:
  FakeSink* sink_;
};

}  // namespace kmirror::replication::testing
