// The unit files in systemd/: `systemd-analyze verify` accepts them without a single warning,
// `systemd-analyze security` rates them well hardened, and the settings kmirrord's behaviour
// depends on are there (notify + watchdog, stop timeout above the drain deadline, no restart loop
// on a configuration error, reload by SIGHUP, a dedicated user).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "daemon/service.h"
#include "gtest/gtest.h"
#include "tests/integration/ops/source_dir.h"
#include "tests/support/process.h"

namespace kmirror::testing {
namespace {

const std::vector<std::string> kUnits = {"kmirrord.service", "kmirrord@.service"};

// Settings of a unit file: key -> every value it is given, in order.
std::multimap<std::string, std::string> Settings(const std::string& text) {
  std::multimap<std::string, std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#' || line[0] == ';' || line[0] == '[') continue;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    out.emplace(line.substr(0, eq), line.substr(eq + 1));
  }
  return out;
}

std::string One(const std::multimap<std::string, std::string>& s, const std::string& key) {
  auto [from, to] = s.equal_range(key);
  return from == to ? "<unset>" : std::prev(to)->second;
}

// Durations as unit files write them here: "60s", "5min", "20s".
absl::Duration UnitDuration(const std::string& v) {
  absl::Duration d;
  std::string s = v;
  if (s.size() > 3 && s.substr(s.size() - 3) == "min") s = s.substr(0, s.size() - 3) + "m";
  if (!absl::ParseDuration(s, &d)) return absl::InfiniteDuration();
  return d;
}

bool HaveSystemdAnalyze() { return RunCommand({"systemd-analyze", "--version"}).exit_code == 0; }

// Copies a unit into `dir` with ExecStart/ExecReload naming the freshly built kmirrord (verify
// checks that every command exists and is executable). Returns the path systemd-analyze should
// load: the template as an instance, so %i is expanded the way systemd will.
std::string Staged(const TempDir& dir, const std::string& unit) {
  std::string text = ReadFile(SourceDir() + "/systemd/" + unit);
  const std::string installed = "/usr/bin/kmirrord";
  for (size_t at = 0; (at = text.find(installed, at)) != std::string::npos;) {
    text.replace(at, installed.size(), BinPath("kmirrord"));
    at += BinPath("kmirrord").size();
  }
  std::ofstream(dir.File(unit)) << text;
  return dir.File(unit == "kmirrord@.service" ? "kmirrord@check.service" : unit);
}

TEST(SystemdUnitsTest, SystemdAnalyzeVerifyReportsNothing) {
  KMIRROR_REQUIRE_TOOL(HaveSystemdAnalyze(),
                       "systemd-analyze is not installed (apt install systemd)");
  TempDir dir;
  for (const std::string& unit : kUnits) {
    auto r = RunCommand({"systemd-analyze", "verify", "--man=no", Staged(dir, unit)});
    EXPECT_EQ(r.exit_code, 0) << unit << ":\n" << r.out << r.err;
    // verify only warns (exit 0) about unknown keys and unparsable values: any line naming the
    // unit is a defect.
    for (const std::string& text : {r.out, r.err}) {
      EXPECT_EQ(text.find("kmirrord"), std::string::npos) << unit << ":\n" << text;
    }
  }
}

TEST(SystemdUnitsTest, SystemdAnalyzeSecurityRatesTheUnitsWellHardened) {
  KMIRROR_REQUIRE_TOOL(HaveSystemdAnalyze(),
                       "systemd-analyze is not installed (apt install systemd)");
  TempDir dir;
  for (const std::string& unit : kUnits) {
    // Exposure on systemd's 0-10 scale (0 = fully locked down); fail above 2.0 ("OK" is < 4.8).
    auto r = RunCommand({"systemd-analyze", "security", "--offline=yes", "--threshold=20",
                         "--no-pager", Staged(dir, unit)});
    EXPECT_EQ(r.exit_code, 0) << unit << ":\n" << r.out << r.err;
  }
}

TEST(SystemdUnitsTest, UnitsCarryTheSettingsKmirrordReliesOn) {
  // The stop timeout must leave room for the default drain deadline plus closing the clients.
  config::ConfigErrors errors;
  auto cfg = daemon::ParseConfigText(
      "[clusters.A]\nbootstrap_servers = \"a:9092\"\n[clusters.B]\nbootstrap_servers = "
      "\"b:9092\"\n[[flows]]\nsource = \"A\"\ntarget = \"B\"\n",
      &errors);
  ASSERT_TRUE(cfg.ok()) << errors.ToString();
  const absl::Duration drain = cfg->daemon.drain_timeout;

  for (const std::string& unit : kUnits) {
    SCOPED_TRACE(unit);
    auto s = Settings(ReadFile(SourceDir() + "/systemd/" + unit));
    EXPECT_EQ(One(s, "Type"), "notify");
    EXPECT_EQ(One(s, "NotifyAccess"), "main");
    const absl::Duration watchdog = UnitDuration(One(s, "WatchdogSec"));
    EXPECT_GE(watchdog, absl::Seconds(5)) << One(s, "WatchdogSec");
    EXPECT_LE(watchdog, absl::Minutes(2)) << One(s, "WatchdogSec");
    EXPECT_GE(UnitDuration(One(s, "TimeoutStopSec")), drain + absl::Seconds(15))
        << "TimeoutStopSec must exceed daemon.drain_timeout (" << absl::FormatDuration(drain)
        << ") with a margin";
    EXPECT_EQ(One(s, "Restart"), "on-failure");
    EXPECT_EQ(One(s, "RestartPreventExitStatus"), "78");
    EXPECT_EQ(One(s, "KillSignal"), "SIGTERM");
    EXPECT_EQ(One(s, "User"), "kmirror");
    EXPECT_EQ(One(s, "ExecReload"), "/bin/kill -HUP $MAINPID");
    EXPECT_EQ(One(s, "RuntimeDirectory"), "kmirror");
    EXPECT_EQ(One(s, "StateDirectory"), "kmirror");
    EXPECT_EQ(One(s, "CapabilityBoundingSet"), "");
    EXPECT_EQ(One(s, "RestrictAddressFamilies"), "AF_UNIX AF_INET AF_INET6");
    for (const char* yes :
         {"NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
          "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "LockPersonality",
          "MemoryDenyWriteExecute", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID"}) {
      EXPECT_EQ(One(s, yes), "yes") << yes;
    }
    EXPECT_EQ(One(s, "ProtectSystem"), "strict");
    EXPECT_EQ(s.find("SystemCallFilter")->second, "@system-service");
    const std::string config =
        unit == "kmirrord.service" ? "/etc/kmirror/kmirrord.toml" : "/etc/kmirror/%i.toml";
    EXPECT_EQ(One(s, "ExecStart"), "/usr/bin/kmirrord --config " + config);
    EXPECT_EQ(s.find("ExecReload")->second, "/usr/bin/kmirrord --check-config " + config);
    EXPECT_EQ(One(s, "WantedBy"), "multi-user.target");
  }
}

// The installed example configuration's control socket lives in the unit's RuntimeDirectory,
// the only place under /run the service may write.
TEST(SystemdUnitsTest, DefaultControlSocketIsInTheRuntimeDirectory) {
  config::ConfigErrors errors;
  auto cfg = daemon::LoadConfig(SourceDir() + "/configs/kmirrord.toml", &errors);
  ASSERT_TRUE(cfg.ok()) << errors.ToString();
  EXPECT_EQ(std::filesystem::path(cfg->control.socket).parent_path(), "/run/kmirror");
}

}  // namespace
}  // namespace kmirror::testing
