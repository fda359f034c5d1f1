// systemd service-manager integration for kmirrord (Type=notify): READY=1 once every flow runs,
// WATCHDOG=1 pings from the main loop, RELOADING=1/READY=1 around SIGHUP and STOPPING=1 on SIGTERM.
// Outside systemd (no NOTIFY_SOCKET) every call is a no-op, so the same binary runs anywhere.
// Thread-safety: not thread-safe; owned and called by the main thread only.
#pragma once

#include <signal.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kmirror::daemon {

// Thin wrapper over sd_notify(3). The environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID) is
// read once, at construction.
class SystemdNotifier {
 public:
  SystemdNotifier();

  // True when a service manager listens (NOTIFY_SOCKET is set).
  bool enabled() const { return enabled_; }
  // The watchdog timeout systemd enforces (WatchdogSec=), when it applies to this process.
  std::optional<std::chrono::microseconds> watchdog_timeout() const { return watchdog_; }

  void Ready(std::string_view status);
  // RELOADING=1 with MONOTONIC_USEC, as systemd >= 253 requires for notify-reload services.
  void Reloading();
  void Stopping(std::string_view status);
  void Watchdog();
  void Status(std::string_view status);

 private:
  void Send(const std::string& message);

  bool enabled_ = false;
  std::optional<std::chrono::microseconds> watchdog_;
};

// The main loop's side of the protocol. WaitForSignal() blocks until one of the given (blocked)
// signals arrives; meanwhile it pings the watchdog at half its timeout and sends READY=1 the
// first time `ready()` returns true, so systemd's "started" means "flows are replicating".
class SystemdSession {
 public:
  // `ready` is polled from WaitForSignal() until it first returns true.
  SystemdSession(SystemdNotifier* notifier, std::function<bool()> ready, std::string ready_status);

  int WaitForSignal(const sigset_t& signals);
  bool announced_ready() const { return announced_ready_; }

  // RELOADING=1 now, READY=1 when the returned guard goes out of scope (whether or not the new
  // configuration was accepted: the daemon keeps running either way).
  class ReloadGuard {
   public:
    explicit ReloadGuard(SystemdSession* session) : session_(session) {}
    ReloadGuard(const ReloadGuard&) = delete;
    ReloadGuard& operator=(const ReloadGuard&) = delete;
    ~ReloadGuard();

   private:
    SystemdSession* session_;
  };
  [[nodiscard]] ReloadGuard Reload();

  // STOPPING=1: systemd now waits up to TimeoutStopSec for the drain, without watchdog checks.
  void Stopping(std::string_view status);

 private:
  // How long one wait may block: half the watchdog timeout, shorter while readiness is pending.
  std::chrono::milliseconds WaitSlice() const;

  SystemdNotifier* notifier_;
  std::function<bool()> ready_;
  std::string ready_status_;
  bool announced_ready_ = false;
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace kmirror::daemon
