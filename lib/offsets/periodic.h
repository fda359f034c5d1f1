// PeriodicThread: one dedicated thread running a callback every `interval` until stopped. The
// emitters of lib/offsets each own one, so each runs on exactly one thread of its own.
// Thread-safe: Start/Stop/Wake may be called from any thread; Stop() is idempotent and joins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace kmirror::offsets {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread() { Stop(); }
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Runs `tick` now (at least once, even if stopped at once) and then every `interval` (measured
  // from the end of the previous run). A second Start() while running is ignored.
  void Start(std::chrono::milliseconds interval, std::function<void()> tick);
  // Start() for a pass that can fail: a failed pass is logged (logger "offsets", with
  // `component`) and handed to `on_error` (e.g. a probe's error counter), then retried next tick.
  void StartPasses(std::chrono::milliseconds interval, std::string component,
                   std::function<absl::Status()> pass,
                   std::function<void(const std::string& component)> on_error);
  // Runs the next tick now instead of at the end of the interval.
  void Wake();
  // Lets the running tick finish, then joins. Idempotent.
  void Stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::thread thread_;
};

}  // namespace kmirror::offsets
