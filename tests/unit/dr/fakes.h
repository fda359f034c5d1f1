// Fakes for the DR control plane's seams: a manual clock that runs scheduled work as time
// advances (another instance's control loop, a partition draining), an in-memory state store
// shared by several controllers, scripted replication units and clusters.
#pragma once

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "lib/dr/clock.h"
#include "lib/dr/seams.h"
#include "lib/dr/state.h"

namespace kmirror::dr::testing {

// Time moves only in SleepFor (a verb waiting) and Advance (the test). Tasks scheduled with
// Every run, in time order, whenever the clock passes their due time; they run on the thread that
// moved the clock, without the clock's lock held.
class ManualClock final : public Clock {
 public:
  TimePoint Now() override {
    std::lock_guard<std::mutex> lock(mu_);
    return TimePoint() + std::chrono::hours(1000) + elapsed_;
  }
  int64_t WallMs() override {
    std::lock_guard<std::mutex> lock(mu_);
    return kWallStartMs + std::chrono::duration_cast<std::chrono::milliseconds>(elapsed_).count();
  }
  void SleepFor(std::chrono::milliseconds d) override { Advance(d); }

  void Advance(std::chrono::milliseconds d) {
    const auto until = Elapsed() + d;
    while (true) {
      std::function<void()> run;
      {
        std::lock_guard<std::mutex> lock(mu_);
        Task* next = nullptr;
        for (auto& t : tasks_) {
          if (t.due <= until && (next == nullptr || t.due < next->due)) next = &t;
        }
        if (next == nullptr) {
          elapsed_ = std::max(elapsed_, until);
          return;
        }
        elapsed_ = std::max(elapsed_, next->due);
        next->due += next->period;
        run = next->fn;
      }
      run();
    }
  }
  // Runs `fn` every `period`, the first time one period from now.
  void Every(std::chrono::milliseconds period, std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    tasks_.push_back({elapsed_ + period, period, std::move(fn)});
  }
  std::chrono::milliseconds Elapsed() {
    std::lock_guard<std::mutex> lock(mu_);
    return elapsed_;
  }
  static constexpr int64_t kWallStartMs = 1'800'000'000'000;

 private:
  struct Task {
    std::chrono::milliseconds due;
    std::chrono::milliseconds period;
    std::function<void()> fn;
  };
  std::mutex mu_;
  std::chrono::milliseconds elapsed_{0};
  std::vector<Task> tasks_;
};

// Another instance's view of time: the same monotonic clock, a wall clock off by `skew`.
class SkewedClock final : public Clock {
 public:
  SkewedClock(ManualClock& base, std::chrono::milliseconds skew) : base_(base), skew_(skew) {}
  TimePoint Now() override { return base_.Now(); }
  int64_t WallMs() override { return base_.WallMs() + skew_.count(); }
  void SleepFor(std::chrono::milliseconds d) override { base_.SleepFor(d); }

 private:
  ManualClock& base_;
  const std::chrono::milliseconds skew_;
};

// The state topic in memory, shared by the instances of a test.
class MemoryStateStore final : public StateStore {
 public:
  absl::StatusOr<std::optional<FlowState>> LoadFlow(const std::string& flow) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!readable) return absl::UnavailableError("state topic unreadable (test)");
    auto it = values_.find(FlowKey(flow));
    if (it == values_.end()) return std::optional<FlowState>();
    auto s = FlowStateFromJson(it->second);
    if (!s.ok()) return s.status();
    return std::optional<FlowState>(*s);
  }
  absl::Status SaveFlow(const FlowState& next) override {
    std::function<void()> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      hook = std::move(before_save);
      before_save = nullptr;
    }
    if (hook) hook();  // e.g. another instance commits first
    std::lock_guard<std::mutex> lock(mu_);
    if (!readable) return absl::UnavailableError("state topic unreadable (test)");
    int64_t stored = 0;
    if (auto it = values_.find(FlowKey(next.flow)); it != values_.end()) {
      stored = it->second.value("version", int64_t{0});
    }
    if (stored != next.version - 1) {
      return absl::FailedPreconditionError("flow " + next.flow +
                                           ": its state changed meanwhile (version " +
                                           std::to_string(stored) + ")");
    }
    values_[FlowKey(next.flow)] = ToJson(next);
    ++saves;
    return absl::OkStatus();
  }
  absl::Status Append(const std::string& key, const nlohmann::json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!readable) return absl::UnavailableError("state topic unreadable (test)");
    values_[key] = value;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<nlohmann::json>> List(const std::string& prefix,
                                                   size_t limit) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!readable) return absl::UnavailableError("state topic unreadable (test)");
    std::vector<nlohmann::json> out;
    for (auto it = values_.lower_bound(prefix);
         it != values_.end() && absl::StartsWith(it->first, prefix); ++it) {
      out.push_back(it->second);
    }
    if (out.size() > limit) out.erase(out.begin(), out.end() - static_cast<long>(limit));
    return out;
  }
  std::optional<nlohmann::json> Get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

  bool readable = true;  // guarded by the test's single thread between calls
  std::function<void()> before_save;
  int saves = 0;

 private:
  std::mutex mu_;
  std::map<std::string, nlohmann::json> values_;
};

// What a test sees of one unit the controller created, and scripts it through.
struct UnitState {
  config::FlowConfig flow;
  UnitOptions options;
  replication::FlowStatus status;  // as scripted; `paused` mirrors SetPaused
  // Called on every Status() with the status to return (e.g. lag that drains over time).
  std::function<void(replication::FlowStatus&)> on_status;
  bool started = false, stopped = false, paused = false;
  std::map<SourcePartition, int64_t> skips;
  std::set<std::string> paused_groups;
  std::optional<int64_t> last_checkpoint_ms = -1;
  std::optional<std::map<std::string, Upstream>> upstreams = std::map<std::string, Upstream>{};
  int final_checkpoints = 0;
};

class FakeUnit final : public ReplicationUnit {
 public:
  explicit FakeUnit(std::shared_ptr<UnitState> s) : s_(std::move(s)) {}
  void Start() override { s_->started = true; }
  absl::Status Stop(std::chrono::milliseconds) override {
    s_->stopped = true;
    return absl::OkStatus();
  }
  absl::Status Reload(const config::FlowConfig&) override { return absl::OkStatus(); }
  void SetPaused(bool paused) override { s_->paused = paused; }
  void SetSkips(std::map<SourcePartition, int64_t> skips) override { s_->skips = skips; }
  void SetPausedGroups(const std::set<std::string>& g) override { s_->paused_groups = g; }
  void RequestDiscovery() override {}
  replication::FlowStatus Status() const override {
    replication::FlowStatus st = s_->status;
    st.name = s_->flow.name();
    st.paused = s_->paused;
    if (s_->on_status) s_->on_status(st);
    for (auto& p : st.partitions) {
      p.lag_records = p.position >= 0 ? std::max<int64_t>(0, p.source_end - p.position) : 0;
    }
    return st;
  }
  bool Ready() const override { return true; }
  const config::FlowConfig& flow() const override { return s_->flow; }
  std::optional<int64_t> LastCheckpointMs() const override { return s_->last_checkpoint_ms; }
  std::optional<std::map<std::string, Upstream>> Upstreams() const override {
    return s_->upstreams;
  }
  nlohmann::json FinalCheckpoints() override {
    ++s_->final_checkpoints;
    return {{"groups", 0}};
  }

 private:
  std::shared_ptr<UnitState> s_;
};

// Creates FakeUnits; `prepare` scripts each new one (by flow name) before the controller gets it.
class FakeUnitFactory final : public UnitFactory {
 public:
  absl::StatusOr<std::unique_ptr<ReplicationUnit>> Create(const config::FlowConfig& f,
                                                          UnitOptions options) override {
    auto s = std::make_shared<UnitState>();
    s->flow = f;
    s->paused = options.paused;
    s->options = std::move(options);
    if (prepare) prepare(*s);
    units.push_back(s);
    return std::unique_ptr<ReplicationUnit>(new FakeUnit(s));
  }
  // The newest unit of flow `name` (nullptr: none).
  std::shared_ptr<UnitState> Last(const std::string& name) const {
    for (auto it = units.rbegin(); it != units.rend(); ++it) {
      if ((*it)->flow.name() == name) return *it;
    }
    return nullptr;
  }
  std::function<void(UnitState&)> prepare;
  std::vector<std::shared_ptr<UnitState>> units;
};

class FakeCluster final : public Cluster {
 public:
  absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("cluster down (test)");
    auto it = topics.find(topic);
    if (it == topics.end() || partition >= static_cast<int32_t>(it->second.size())) {
      return absl::NotFoundError(topic + " has no such partition");
    }
    return it->second[partition];
  }
  absl::StatusOr<std::map<std::string, int32_t>> Topics() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("cluster down (test)");
    std::map<std::string, int32_t> out;
    for (const auto& [t, parts] : topics) out[t] = static_cast<int32_t>(parts.size());
    return out;
  }
  absl::Status EnsureTopic(const std::string& topic, int32_t partitions) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("cluster down (test)");
    auto& parts = topics[topic];
    if (parts.empty()) parts.resize(partitions, Watermarks{0, 0});
    return absl::OkStatus();
  }
  absl::StatusOr<std::map<TargetPartition, replication::TailState>> Tails(
      const std::vector<TargetPartition>& partitions, const std::string&) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (down) return absl::UnavailableError("cluster down (test)");
    std::map<TargetPartition, replication::TailState> out;
    for (const auto& p : partitions) {
      auto it = last_source.find(p);
      replication::TailState t;
      auto topic = topics.find(p.topic);
      if (topic != topics.end() && p.partition < static_cast<int32_t>(topic->second.size())) {
        t.target = topic->second[p.partition];
      }
      if (it != last_source.end()) t.last = SourceOffset(it->second);
      out[p] = t;
    }
    return out;
  }
  // Sets a partition's watermarks, creating the topic as needed.
  void Set(const std::string& topic, int32_t partition, int64_t low, int64_t high) {
    std::lock_guard<std::mutex> lock(mu_);
    auto& parts = topics[topic];
    if (static_cast<int32_t>(parts.size()) <= partition) parts.resize(partition + 1, {0, 0});
    parts[partition] = {low, high};
  }

  bool down = false;
  std::map<std::string, std::vector<Watermarks>> topics;
  std::map<TargetPartition, int64_t> last_source;  // provenance of the newest copy

 private:
  std::mutex mu_;
};

class FakePreserver final : public Preserver {
 public:
  absl::StatusOr<nlohmann::json> Preserve(const std::vector<DivergentRange>& r,
                                          const PreserveTarget& where,
                                          std::chrono::milliseconds) override {
    if (!fail.ok()) return fail;
    ranges = r;
    target = where;
    nlohmann::json out = nlohmann::json::array();
    for (const auto& x : r) out.push_back({{"topic", x.topic}, {"records", x.to - x.from}});
    return out;
  }
  absl::Status fail;
  std::vector<DivergentRange> ranges;
  PreserveTarget target;
};

// Canaries go to the source cluster's drill topic; comparisons count what they are asked.
class FakeDrillIo final : public DrillIo {
 public:
  explicit FakeDrillIo(FakeCluster& source) : source_(source) {}
  absl::StatusOr<std::vector<int64_t>> ProduceCanaries(const std::string&, int n,
                                                       std::chrono::milliseconds) override {
    auto wm = source_.QueryWatermarks(std::string(policy::kDrillTopic), 0);
    if (!wm.ok()) return wm.status();
    std::vector<int64_t> out;
    for (int i = 0; i < n; ++i) out.push_back(wm->high + i);
    source_.Set(std::string(policy::kDrillTopic), 0, wm->low, wm->high + n);
    return out;
  }
  absl::StatusOr<Translation> TranslateCanary(const std::string&, int64_t source_offset, int64_t,
                                              int64_t, Clock::TimePoint) override {
    return Translation{source_offset + translation_shift, source_offset};
  }
  absl::StatusOr<int64_t> Compare(const std::string&, const std::string&, int32_t, int64_t from,
                                  int64_t to, Clock::TimePoint) override {
    if (!difference.ok()) return difference;
    return to - from;
  }
  int64_t translation_shift = 0;  // non-zero: the translation is off by that much
  absl::Status difference;

 private:
  FakeCluster& source_;
};

}  // namespace kmirror::dr::testing
