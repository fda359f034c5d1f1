// Runs one Flow: a worker thread that turns the flow's loop, and a discovery thread that refreshes
// the topic selection every interval and hands it to the worker.
//
// Stop() drains: stop fetching, deliver in-flight records within the deadline, leave the source
// group, join both threads. Start()/Stop()/RequestDiscovery()/Status() are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "lib/replication/discovery.h"
#include "lib/replication/flow.h"

namespace kmirror::replication {

class FlowRunner {
 public:
  // Owns the I/O objects so their lifetime spans both threads. The sink is destroyed before the
  // flow: records it still holds after a missed drain deadline borrow the flow's payloads.
  FlowRunner(std::unique_ptr<SourceClient> source, std::unique_ptr<SinkClient> sink,
             std::unique_ptr<TargetTail> tail, std::unique_ptr<TopicAdmin> admin,
             std::unique_ptr<FlowProbe> probe, FlowOptions options, DiscoveryOptions discovery,
             std::chrono::milliseconds refresh_interval);
  ~FlowRunner();

  void Start();
  // Drains and stops; returns the drain outcome. Idempotent.
  absl::Status Stop(std::chrono::milliseconds drain_timeout);
  // Runs discovery now (e.g. after SIGHUP changed the filters).
  void RequestDiscovery();
  // Replaces the discovery rules (SIGHUP); takes effect on the next discovery run.
  void UpdateDiscovery(DiscoveryOptions discovery);
  // Stops (true) or restarts (false) fetching on every partition; the group membership and the
  // lag metrics stay. Takes effect within one worker turn.
  void SetPaused(bool paused) { paused_.store(paused); }
  // Source offsets an operator gave up (Flow::SetSkips); takes effect within one worker turn.
  void SetSkips(std::map<SourcePartition, int64_t> skips);
  FlowStatus Status() const { return flow_.Status(); }
  // True once the first discovery completed and its subscription was handed to the worker.
  bool Ready() const { return ready_.load(); }

 private:
  void WorkerLoop();
  void DiscoveryLoop();

  std::unique_ptr<SourceClient> source_;
  std::unique_ptr<SinkClient> sink_;
  std::unique_ptr<TargetTail> tail_;
  std::unique_ptr<TopicAdmin> admin_;
  std::unique_ptr<FlowProbe> probe_;
  Flow flow_;
  std::chrono::milliseconds refresh_interval_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_discovery_ = false;
  bool discover_now_ = false;
  DiscoveryOptions discovery_options_;
  std::optional<std::vector<std::string>> pending_topics_;  // handed from discovery to worker
  std::optional<std::map<SourcePartition, int64_t>> pending_skips_;  // handed to the worker
  std::atomic<bool> stop_worker_{false};
  std::atomic<bool> ready_{false};
  std::atomic<bool> paused_{false};
  std::chrono::milliseconds drain_timeout_{0};
  absl::Status drain_status_;
  bool stopped_ = false;
  std::thread worker_;
  std::thread discovery_;
};

}  // namespace kmirror::replication
