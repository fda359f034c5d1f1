#include "tests/support/sandbox_process.h"

#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/sandbox/control_server.h"

namespace kmirror::testing {

absl::StatusOr<std::unique_ptr<SandboxProcess>> SandboxProcess::Start(
    const std::vector<std::string>& clusters, const std::vector<std::string>& extra_args) {
  std::unique_ptr<SandboxProcess> sp(new SandboxProcess());
  std::string ready = sp->dir_.File("ready.json");
  std::vector<std::string> argv = {BinPath("kmirror-sandbox"), "--ready-file", ready, "--log-level",
                                   "warn"};
  for (const auto& c : clusters) {
    argv.push_back("--cluster");
    argv.push_back(c);
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto proc = Subprocess::Start(argv, sp->dir_.File("stdout"), "");
  if (!proc) return absl::InternalError("cannot start kmirror-sandbox");
  sp->proc_ = std::make_unique<Subprocess>(std::move(*proc));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!std::filesystem::exists(ready)) {
    if (!sp->proc_->Running()) return absl::InternalError("kmirror-sandbox exited during start");
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("kmirror-sandbox not ready after 30 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sp->ready_json_ = ReadFile(ready);
  auto doc = nlohmann::json::parse(sp->ready_json_, nullptr, false);
  if (doc.is_discarded() || !doc.contains("control")) {
    return absl::InternalError("unparsable ready file: " + sp->ready_json_);
  }
  std::string control = doc["control"].get<std::string>();
  auto colon = control.rfind(':');
  sp->control_host_ = control.substr(0, colon);
  sp->control_port_ = static_cast<uint16_t>(std::stoi(control.substr(colon + 1)));
  return sp;
}

SandboxProcess::~SandboxProcess() {
  if (proc_) {
    proc_->Signal(SIGTERM);
    if (!proc_->Wait(std::chrono::seconds(10))) proc_->Kill();
  }
}

std::string SandboxProcess::Bootstrap(const std::string& cluster) const {
  auto doc = nlohmann::json::parse(ready_json_);
  return doc["clusters"][cluster]["bootstrap"].get<std::string>();
}

std::string SandboxProcess::ClusterId(const std::string& cluster) const {
  auto doc = nlohmann::json::parse(ready_json_);
  return doc["clusters"][cluster]["cluster_id"].get<std::string>();
}

absl::Status SandboxProcess::Control(const std::string& target, const std::string& body) {
  return sandbox::ControlRequest(control_host_, control_port_, "POST", target, body).status();
}

absl::Status SandboxProcess::BrokerDown(const std::string& cluster, int32_t broker) {
  return Control("/v1/clusters/" + cluster + "/brokers/" + std::to_string(broker) + "/down");
}

absl::Status SandboxProcess::BrokerUp(const std::string& cluster, int32_t broker) {
  return Control("/v1/clusters/" + cluster + "/brokers/" + std::to_string(broker) + "/up");
}

absl::Status SandboxProcess::CreateTopic(const std::string& cluster, const std::string& topic,
                                         int partitions, int replication_factor) {
  nlohmann::json body = {
      {"name", topic}, {"partitions", partitions}, {"replication_factor", replication_factor}};
  return Control("/v1/clusters/" + cluster + "/topics", body.dump());
}

}  // namespace kmirror::testing
