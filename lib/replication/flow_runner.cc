#include "lib/replication/flow_runner.h"

#include "lib/common/logging.h"

namespace kmirror::replication {

FlowRunner::FlowRunner(std::unique_ptr<SourceClient> source, std::unique_ptr<SinkClient> sink,
                       std::unique_ptr<TargetTail> tail, std::unique_ptr<TopicAdmin> admin,
                       std::unique_ptr<FlowProbe> probe, FlowOptions options,
                       DiscoveryOptions discovery, std::chrono::milliseconds refresh_interval)
    : source_(std::move(source)),
      sink_(std::move(sink)),
      tail_(std::move(tail)),
      admin_(std::move(admin)),
      probe_(std::move(probe)),
      flow_(std::move(options), source_.get(), sink_.get(), tail_.get(), probe_.get()),
      refresh_interval_(refresh_interval),
      discovery_options_(std::move(discovery)) {}

FlowRunner::~FlowRunner() {
  (void)Stop(std::chrono::milliseconds(0));
  // The producer first: after a missed drain deadline it still references payloads that the
  // flow's pending records own (zero-copy), and destroying it stops every use of them.
  sink_.reset();
}

void FlowRunner::SetSkips(std::map<SourcePartition, int64_t> skips) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_skips_ = std::move(skips);
}

void FlowRunner::Start() {
  flow_.Start();
  worker_ = std::thread([this] { WorkerLoop(); });
  discovery_ = std::thread([this] { DiscoveryLoop(); });
}

void FlowRunner::WorkerLoop() {
  while (!stop_worker_.load()) {
    std::optional<std::vector<std::string>> topics;
    std::optional<std::map<SourcePartition, int64_t>> skips;
    {
      std::lock_guard<std::mutex> lock(mu_);
      topics.swap(pending_topics_);
      skips.swap(pending_skips_);
    }
    if (skips) flow_.SetSkips(std::move(*skips));
    flow_.SetPaused(paused_.load());
    if (topics) {
      if (auto s = flow_.SetTopics(*topics); !s.ok()) {
        common::Logger("replication")->error("msg=\"subscribe failed\" error=\"{}\"", s.message());
      }
      ready_.store(true);
    }
    flow_.RunOnce(std::chrono::milliseconds(50));
  }
  drain_status_ = flow_.Drain(drain_timeout_);
  (void)source_->Close();
}

void FlowRunner::DiscoveryLoop() {
  auto log = common::Logger("discovery");
  std::unique_lock<std::mutex> lock(mu_);
  // One discovery for the runner's life, so each selected topic is logged once.
  TopicDiscovery discovery(discovery_options_, admin_.get());
  while (!stop_discovery_) {
    DiscoveryOptions options = discovery_options_;
    discover_now_ = false;
    lock.unlock();
    discovery.SetOptions(options);
    auto topics = discovery.RunOnce();
    lock.lock();
    if (topics.ok()) {
      pending_topics_ = std::move(*topics);
    } else {
      log->warn("msg=\"topic discovery failed; retrying\" flow={} error=\"{}\"", options.flow,
                topics.status().message());
      if (probe_) probe_->RecordError("discovery");
    }
    // Retry sooner while discovery keeps failing so that start-up is not held back.
    auto wait = topics.ok() ? refresh_interval_
                            : std::min(refresh_interval_, std::chrono::milliseconds(2000));
    cv_.wait_for(lock, wait, [this] { return stop_discovery_ || discover_now_; });
  }
}

void FlowRunner::RequestDiscovery() {
  std::lock_guard<std::mutex> lock(mu_);
  discover_now_ = true;
  cv_.notify_all();
}

void FlowRunner::UpdateDiscovery(DiscoveryOptions discovery) {
  std::lock_guard<std::mutex> lock(mu_);
  discovery_options_ = std::move(discovery);
  discover_now_ = true;
  cv_.notify_all();
}

absl::Status FlowRunner::Stop(std::chrono::milliseconds drain_timeout) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return drain_status_;
    stopped_ = true;
    stop_discovery_ = true;
    drain_timeout_ = drain_timeout;
    cv_.notify_all();
  }
  // The drain first: its deadline must not wait for a discovery pass that is blocked on an
  // unreachable cluster (each admin call may take up to its own timeout).
  stop_worker_.store(true);
  if (worker_.joinable()) worker_.join();
  if (discovery_.joinable()) discovery_.join();
  return drain_status_;
}

}  // namespace kmirror::replication
