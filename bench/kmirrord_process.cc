#include "bench/kmirrord_process.h"

#include <cstdio>
#include <fstream>

#include "fmt/format.h"

namespace kmirror::bench {

absl::StatusOr<std::unique_ptr<KmirrordProcess>> KmirrordProcess::Start(const std::string& binary,
                                                                        const std::string& work_dir,
                                                                        const std::string& name,
                                                                        FlowSetup setup) {
  auto port = FreeLoopbackPort();
  if (!port.ok()) return port.status();
  setup.metrics_listen = fmt::format("127.0.0.1:{}", *port);
  setup.log_level = "info";  // readiness is read from the "partition resolved" lines
  const std::string config_path = fmt::format("{}/{}.toml", work_dir, name);
  {
    std::ofstream out(config_path, std::ios::trunc);
    out << KmirrordConfig(setup);
    if (!out.flush()) return absl::InternalError("cannot write " + config_path);
  }
  std::unique_ptr<KmirrordProcess> p(new KmirrordProcess());
  p->port_ = *port;
  p->log_path_ = fmt::format("{}/{}.log", work_dir, name);
  std::remove(p->log_path_.c_str());
  auto child = ChildProcess::Spawn({binary, "--config", config_path}, p->log_path_);
  if (!child.ok()) return child.status();
  p->child_ = std::move(child).value();
  return p;
}

absl::StatusOr<std::string> KmirrordProcess::Scrape(std::chrono::milliseconds timeout) const {
  return HttpGet(port_, "/metrics", timeout);
}

int64_t KmirrordProcess::Resolved() const {
  return CountInFile(log_path_, "msg=\"partition resolved\"");
}

absl::Status KmirrordProcess::WaitOwned(int64_t partitions, std::chrono::seconds timeout,
                                        int64_t* assigned, int64_t* resolved) {
  *assigned = 0;
  *resolved = 0;
  // Every flow also replicates the source's `heartbeats` and `kmirror-drill` topics (1 each).
  partitions += 2;
  const bool owned = WaitUntil(
      [&] {
        if (!child_->Running()) return true;
        if (auto metrics = Scrape(); metrics.ok()) {
          *assigned =
              static_cast<int64_t>(SumMetric(*metrics, "kmirror_assigned_partitions").value_or(0));
        }
        *resolved = Resolved();
        return *assigned == partitions && *resolved >= partitions;
      },
      timeout, std::chrono::milliseconds(500));
  if (!child_->Running()) {
    return absl::InternalError(fmt::format("kmirrord exited ({}); see {}",
                                           child_->Stop(std::chrono::seconds(0)), log_path_));
  }
  if (!owned) {
    return absl::DeadlineExceededError(
        fmt::format("after {} s kmirrord had {} of {} partitions assigned and {} resolved",
                    timeout.count(), *assigned, partitions, *resolved));
  }
  return absl::OkStatus();
}

}  // namespace kmirror::bench
