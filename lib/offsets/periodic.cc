#include "lib/offsets/periodic.h"

#include <utility>

#include "lib/common/logging.h"

namespace kmirror::offsets {

void PeriodicThread::Start(std::chrono::milliseconds interval, std::function<void()> tick) {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this, interval, tick = std::move(tick)] {
    std::unique_lock<std::mutex> lock(mu_);
    // The first tick always runs, even if Stop() came first: Start() promises it.
    for (;;) {
      wake_ = false;
      lock.unlock();
      tick();
      lock.lock();
      if (stop_) break;
      cv_.wait_for(lock, interval, [this] { return stop_ || wake_; });
      if (stop_) break;
    }
  });
}

void PeriodicThread::StartPasses(std::chrono::milliseconds interval, std::string component,
                                 std::function<absl::Status()> pass,
                                 std::function<void(const std::string&)> on_error) {
  Start(interval, [component = std::move(component), pass = std::move(pass),
                   on_error = std::move(on_error)] {
    const absl::Status s = pass();
    if (s.ok()) return;
    if (on_error) on_error(component);
    common::Logger("offsets")->warn("msg=\"pass failed\" component={} error=\"{}\"", component, s);
  });
}

void PeriodicThread::Wake() {
  std::lock_guard<std::mutex> lock(mu_);
  wake_ = true;
  cv_.notify_all();
}

void PeriodicThread::Stop() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    cv_.notify_all();
    t = std::move(thread_);
  }
  if (t.joinable()) t.join();
}

}  // namespace kmirror::offsets
