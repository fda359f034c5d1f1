#include "daemon/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <utility>

namespace kmirror::daemon {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// While READY=1 is pending, readiness is polled this often: short, so `systemctl start` returns
// promptly once the flows run, yet negligible work.
constexpr milliseconds kReadyPoll{100};
// With no watchdog, the wait still wakes up now and then; nothing depends on the value.
constexpr milliseconds kIdleSlice{1000};

}  // namespace

SystemdNotifier::SystemdNotifier() {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  enabled_ = socket != nullptr && socket[0] != '\0';
  uint64_t usec = 0;
  // > 0 only when WATCHDOG_USEC is set and WATCHDOG_PID (if set) names this process.
  if (sd_watchdog_enabled(/*unset_environment=*/0, &usec) > 0 && usec > 0) {
    watchdog_ = microseconds(usec);
  }
}

void SystemdNotifier::Send(const std::string& message) {
  if (!enabled_) return;
  // Best effort by design: a lost datagram must never stop replication. A missing READY=1 or
  // watchdog ping shows up on systemd's side (start timeout, watchdog restart).
  (void)sd_notify(/*unset_environment=*/0, message.c_str());
}

void SystemdNotifier::Ready(std::string_view status) {
  Send("READY=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::Reloading() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const uint64_t usec =
      static_cast<uint64_t>(now.tv_sec) * 1000000u + static_cast<uint64_t>(now.tv_nsec) / 1000u;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) +
       "\nSTATUS=reloading the configuration");
}

void SystemdNotifier::Stopping(std::string_view status) {
  Send("STOPPING=1\nSTATUS=" + std::string(status));
}

void SystemdNotifier::Watchdog() { Send("WATCHDOG=1"); }

void SystemdNotifier::Status(std::string_view status) { Send("STATUS=" + std::string(status)); }

SystemdSession::SystemdSession(SystemdNotifier* notifier, std::function<bool()> ready,
                               std::string ready_status)
    : notifier_(notifier), ready_(std::move(ready)), ready_status_(std::move(ready_status)) {
  notifier_->Status("waiting for the first topic discovery of every flow");
}

milliseconds SystemdSession::WaitSlice() const {
  milliseconds slice = announced_ready_ ? kIdleSlice : kReadyPoll;
  if (const auto& wd = notifier_->watchdog_timeout()) {
    const auto period = duration_cast<milliseconds>(*wd / 2);
    const auto since = duration_cast<milliseconds>(std::chrono::steady_clock::now() - last_ping_);
    slice = std::min(slice, std::max(milliseconds(1), period - since));
  }
  return slice;
}

int SystemdSession::WaitForSignal(const sigset_t& signals) {
  if (!notifier_->enabled()) {
    int sig = 0;
    sigwait(&signals, &sig);
    return sig;
  }
  while (true) {
    if (!announced_ready_ && ready_()) {
      notifier_->Ready(ready_status_);
      announced_ready_ = true;
    }
    if (const auto& wd = notifier_->watchdog_timeout()) {
      // Half the timeout, as sd_watchdog_enabled(3) recommends: one late wake-up is not fatal.
      const auto now = std::chrono::steady_clock::now();
      if (now - last_ping_ >= *wd / 2) {
        notifier_->Watchdog();
        last_ping_ = now;
      }
    }
    const milliseconds slice = WaitSlice();
    timespec timeout{};
    timeout.tv_sec = static_cast<time_t>(slice.count() / 1000);
    timeout.tv_nsec = static_cast<long>((slice.count() % 1000) * 1000000);
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig > 0) return sig;
    // EAGAIN (the slice ended) or EINTR: ping, poll readiness, wait again.
  }
}

SystemdSession::ReloadGuard SystemdSession::Reload() {
  // Before READY=1 systemd is still starting the unit and has no reload state to enter.
  if (announced_ready_) notifier_->Reloading();
  return ReloadGuard(this);
}

SystemdSession::ReloadGuard::~ReloadGuard() {
  if (session_->announced_ready_) session_->notifier_->Ready(session_->ready_status_);
}

void SystemdSession::Stopping(std::string_view status) { notifier_->Stopping(status); }

}  // namespace kmirror::daemon
