// kmirrord: the kmirror replication service. Wiring only: configuration, flows, signals.
//
//   kmirrord --config /etc/kmirror/kmirrord.toml    run
//   kmirrord --check-config FILE                    validate, print the effective config, exit
//   kmirrord --check-config FILE --plan             print (JSON) what topic sync would change
//   kmirrord --demo                                 embedded clusters + synthetic traffic + A->B
//
// Exit codes: 0 clean stop, 1 runtime failure, 64 usage, 78 bad configuration (nothing started).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>

#include "absl/time/time.h"
#include "daemon/client_properties.h"
#include "daemon/demo.h"
#include "daemon/service.h"
#include "daemon/systemd_notify.h"
#include "lib/common/logging.h"

namespace {
constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kmirrord: Kafka cross-cluster replication for disaster recovery"};
  std::string config_path, check_path, log_level;
  bool demo = false, plan = false;
  int demo_rate = 2000;
  app.add_option("--config", config_path, "run with this TOML configuration");
  app.add_option("--check-config", check_path,
                 "validate this configuration, print it with secrets masked, and exit (0 or 78)");
  app.add_flag("--plan", plan,
               "with --check-config: connect to the clusters and print as JSON the topic, config "
               "and ACL changes the next sync would make, without making them (0, or 1 on errors)");
  app.add_flag("--demo", demo, "run embedded clusters A and B with synthetic traffic and A->B");
  app.add_option("--demo-rate", demo_rate, "records per second the demo producer writes")
      ->check(CLI::Range(1, 1000000));
  app.add_option("--log-level", log_level, "override daemon.log_level");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (static_cast<int>(!config_path.empty()) + static_cast<int>(!check_path.empty()) +
          static_cast<int>(demo) !=
      1) {
    std::fprintf(stderr, "kmirrord: give exactly one of --config, --check-config, --demo\n");
    return kExitUsage;
  }
  if (plan && check_path.empty()) {
    std::fprintf(stderr, "kmirrord: --plan needs --check-config FILE\n");
    return kExitUsage;
  }
  kmirror::common::InitLogging(log_level.empty() ? "info" : log_level);
  auto log = kmirror::common::Logger("kmirrord");

  // Signals are taken synchronously by the main thread; every other thread has them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  if (demo) {
    kmirror::common::InitLogging(log_level.empty() ? "warn" : log_level);
    return kmirror::daemon::RunDemo(demo_rate);
  }

  const std::string& path = check_path.empty() ? config_path : check_path;
  kmirror::config::ConfigErrors errors;
  auto cfg = kmirror::daemon::LoadConfig(path, &errors);
  if (!cfg.ok()) {
    std::fprintf(stderr, "kmirrord: configuration %s is invalid:\n%s\n", path.c_str(),
                 errors.errors.empty() ? std::string(cfg.status().message()).c_str()
                                       : errors.ToString().c_str());
    return kExitConfig;
  }
  if (plan) return kmirror::daemon::PrintPlan(*cfg, stdout);
  if (!check_path.empty()) {
    std::printf("%s", cfg->Describe().c_str());
    std::fprintf(stderr, "kmirrord: configuration %s is valid\n", path.c_str());
    return 0;
  }
  if (log_level.empty()) kmirror::common::InitLogging(cfg->daemon.log_level);

  auto svc = kmirror::daemon::Service::Create(*cfg);
  if (!svc.ok()) {
    log->error("msg=\"cannot start\" error=\"{}\"", svc.status().message());
    return 1;
  }
  if (absl::Status started = (*svc)->Start(); !started.ok()) {
    log->error("msg=\"cannot start\" error=\"{}\"", started.message());
    (void)(*svc)->Stop(std::chrono::milliseconds(0));
    return 1;
  }
  const auto drain = kmirror::daemon::Millis(cfg->daemon.drain_timeout);
  // systemd (Type=notify): READY=1 once every flow runs, watchdog pings while waiting for signals.
  kmirror::daemon::SystemdNotifier notifier;
  kmirror::daemon::SystemdSession systemd(
      &notifier, [&svc] { return (*svc)->Ready(); },
      "replicating " + std::to_string(cfg->flows.size()) + " configured flow(s)");
  while (true) {
    int sig = systemd.WaitForSignal(signals);
    if (sig == SIGHUP) {
      auto reloading = systemd.Reload();  // READY=1 again when this scope ends
      kmirror::config::ConfigErrors reload_errors;
      auto next = kmirror::daemon::LoadConfig(config_path, &reload_errors);
      if (!next.ok()) {
        log->error("msg=\"reload rejected; running configuration kept\" errors=\"{}\"",
                   reload_errors.errors.empty() ? std::string(next.status().message())
                                                : reload_errors.ToString());
        continue;
      }
      (*svc)->Reload(*next);
      continue;
    }
    log->info("msg=\"draining\" signal={} deadline_ms={}", sig, drain.count());
    systemd.Stopping("draining in-flight records");
    absl::Status drained = (*svc)->Stop(drain);
    svc->reset();
    log->info("msg=\"stopped\" drained={}", drained.ok());
    return 0;
  }
}
