// kmirrord under a stand-in for systemd's notify socket: the test binds the datagram socket that
// NOTIFY_SOCKET names, sets WATCHDOG_USEC, and checks what a Type=notify unit relies on: READY=1
// only once the flows run (never while the source cluster is unreachable), WATCHDOG=1 at least
// every half timeout, RELOADING=1 then READY=1 around SIGHUP, STOPPING=1 on SIGTERM.
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/kmirrord_process.h"
#include "tests/support/sandbox_process.h"

namespace kmirror::testing {
namespace {

using Clock = std::chrono::steady_clock;

struct Message {
  Clock::time_point at;
  std::string text;
  bool Has(const std::string& assignment) const {
    // sd_notify messages are newline-separated VAR=VALUE assignments.
    size_t at = 0;
    while (at <= text.size()) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos) end = text.size();
      if (text.compare(at, end - at, assignment) == 0) return true;
      at = end + 1;
    }
    return false;
  }
};

// The receiving end of NOTIFY_SOCKET.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = fd_ >= 0 && bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  bool bound() const { return bound_; }

  // Receives messages until `until` matches one (returned) or the timeout passes (nullopt).
  // Every message received is kept in log().
  template <typename P>
  std::optional<Message> Await(P until, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      Message m{Clock::now(), std::string(buf, static_cast<size_t>(n))};
      log_.push_back(m);
      if (until(m)) return m;
    }
  }
  const std::vector<Message>& log() const { return log_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
  std::vector<Message> log_;
};

class SystemdNotifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sp = SandboxProcess::Start({"A:1", "B:1"});
    ASSERT_TRUE(sp.ok()) << sp.status();
    sb_ = std::move(sp).value();
    ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2).ok());
  }

  // Starts kmirrord with the systemd environment; the sandbox was started without it.
  void StartKmirrord(Kmirrord& k, const std::string& watchdog_usec) {
    setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
    setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
    k.Start();
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
  }

  static auto Is(const std::string& assignment) {
    return [assignment](const Message& m) { return m.Has(assignment); };
  }

  TempDir dir_;
  std::string notify_path_ = dir_.File("notify.sock");
  std::unique_ptr<SandboxProcess> sb_;
};

TEST_F(SystemdNotifyTest, ReadyOnlyOnceFlowsRunWatchdogPingsReloadAndStopping) {
  NotifySocket notify(notify_path_);
  ASSERT_TRUE(notify.bound()) << notify_path_;
  // The source cluster is unreachable at start: the flow cannot discover its topics yet.
  ASSERT_TRUE(sb_->BrokerDown("A", 1).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  StartKmirrord(k, "1000000");  // WatchdogSec=1s: a ping at least every 500 ms

  // Not ready while the source is down, but alive: watchdog pings keep coming.
  auto early_ready = notify.Await(Is("READY=1"), std::chrono::seconds(5));
  EXPECT_FALSE(early_ready) << "READY=1 while the source cluster was down\n" << k.Log();
  size_t pings = 0;
  for (const Message& m : notify.log()) pings += m.Has("WATCHDOG=1") ? 1 : 0;
  EXPECT_GE(pings, 6u) << "expected a watchdog ping every ~500 ms for 5 s\n" << k.Log();
  ASSERT_TRUE(k.proc().Running()) << k.Log();

  // The source comes back: the first discovery completes and READY=1 follows.
  ASSERT_TRUE(sb_->BrokerUp("A", 1).ok());
  auto ready = notify.Await(Is("READY=1"), std::chrono::seconds(60));
  ASSERT_TRUE(ready) << k.Log();

  // Pings continue after READY=1, never further apart than the watchdog timeout allows.
  const size_t from = notify.log().size();
  (void)notify.Await([](const Message&) { return false; }, std::chrono::seconds(3));
  std::vector<Clock::time_point> times{ready->at};
  for (size_t i = from; i < notify.log().size(); ++i) {
    if (notify.log()[i].Has("WATCHDOG=1")) times.push_back(notify.log()[i].at);
  }
  EXPECT_GE(times.size(), 5u) << "too few watchdog pings after READY=1";
  for (size_t i = 1; i < times.size(); ++i) {
    EXPECT_LT(times[i] - times[i - 1], std::chrono::milliseconds(1000))
        << "watchdog gap " << i << " exceeds WATCHDOG_USEC";
  }

  // SIGHUP: RELOADING=1 (with the monotonic timestamp systemd >= 253 wants), then READY=1.
  k.proc().Signal(SIGHUP);
  auto reloading = notify.Await(Is("RELOADING=1"), std::chrono::seconds(10));
  ASSERT_TRUE(reloading) << k.Log();
  EXPECT_NE(reloading->text.find("MONOTONIC_USEC="), std::string::npos) << reloading->text;
  EXPECT_TRUE(notify.Await(Is("READY=1"), std::chrono::seconds(10))) << k.Log();

  // SIGTERM: STOPPING=1 before the drain, then a clean exit.
  k.proc().Signal(SIGTERM);
  EXPECT_TRUE(notify.Await(Is("STOPPING=1"), std::chrono::seconds(10))) << k.Log();
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();
}

TEST_F(SystemdNotifyTest, AReloadWithABadFileStillEndsWithReady) {
  NotifySocket notify(notify_path_);
  ASSERT_TRUE(notify.bound()) << notify_path_;
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  StartKmirrord(k, "2000000");
  ASSERT_TRUE(notify.Await(Is("READY=1"), std::chrono::seconds(60))) << k.Log();

  // An invalid file is rejected; systemd must still see the reload end, or the unit would stay
  // in "reloading" until its timeout.
  { std::ofstream(k.config_path()) << "[daemon]\ndrain_timeout = \"forever\"\n"; }
  k.proc().Signal(SIGHUP);
  ASSERT_TRUE(notify.Await(Is("RELOADING=1"), std::chrono::seconds(10))) << k.Log();
  EXPECT_TRUE(notify.Await(Is("READY=1"), std::chrono::seconds(10))) << k.Log();
  EXPECT_TRUE(k.proc().Running()) << k.Log();
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();
}

TEST_F(SystemdNotifyTest, WithoutANotifySocketNothingIsSentAndTheDaemonRuns) {
  // No NOTIFY_SOCKET (running by hand, or under another supervisor): behaviour is unchanged.
  NotifySocket notify(notify_path_);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return k.MetricsPort() > 0; })) << k.Log();
  EXPECT_FALSE(notify.Await([](const Message&) { return true; }, std::chrono::seconds(2)));
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();
}

}  // namespace
}  // namespace kmirror::testing
