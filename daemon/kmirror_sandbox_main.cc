// kmirror-sandbox: runs embedded Kafka clusters (librdkafka mock + protocol front-end) until
// SIGINT/SIGTERM, for tests, benchmarks and first contact with kmirror. Wiring only.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "lib/common/logging.h"
#include "lib/sandbox/control_server.h"
#include "lib/sandbox/sandbox.h"

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 78;

bool WriteAtomically(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << content << "\n";
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "kmirror-sandbox: embedded Kafka clusters on loopback (librdkafka mock + admin front-end).\n"
      "Example: kmirror-sandbox --cluster A:3 --cluster B:3 --ready-file /tmp/sandbox.json"};
  std::vector<std::string> cluster_specs;
  std::string ready_file;
  std::string host = "127.0.0.1";
  uint16_t control_port = 0;
  bool auto_create = false;
  int max_partitions = 16;
  std::string log_level = "info";
  app.add_option("--cluster", cluster_specs, "NAME:BROKERS, repeatable (e.g. A:3)")->required();
  app.add_option("--ready-file", ready_file, "write the ready JSON document here once serving");
  app.add_option("--host", host, "loopback address to listen on")->capture_default_str();
  app.add_option("--control-port", control_port, "fault-injection HTTP port (0 = any)")
      ->capture_default_str();
  app.add_flag("--auto-create-topics", auto_create,
               "auto.create.topics.enable=true (metadata requests create unknown topics)");
  app.add_option("--max-partitions-per-topic", max_partitions,
                 "partitions a topic can grow to with CreatePartitions")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  kmirror::common::InitLogging(log_level);
  auto log = kmirror::common::Logger("sandbox");

  std::vector<kmirror::sandbox::ClusterOptions> clusters;
  for (const auto& spec : cluster_specs) {
    auto opts = kmirror::sandbox::ParseClusterSpec(spec);
    if (!opts.ok()) {
      log->error("msg=\"bad --cluster\" error=\"{}\"", opts.status().message());
      return kExitConfig;
    }
    for (const auto& existing : clusters) {
      if (existing.name == opts->name) {
        log->error("msg=\"bad --cluster\" error=\"cluster {} given twice\"", opts->name);
        return kExitConfig;
      }
    }
    opts->auto_create_topics = auto_create;
    opts->max_partitions_per_topic = max_partitions;
    clusters.push_back(*opts);
  }

  // Block termination signals in every thread; the main thread waits for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto sandbox = kmirror::sandbox::Sandbox::Start(clusters, host);
  if (!sandbox.ok()) {
    log->error("msg=\"sandbox failed to start\" error=\"{}\"", sandbox.status().message());
    return 1;
  }
  auto control = kmirror::sandbox::ControlServer::Start(sandbox->get(), host, control_port);
  if (!control.ok()) {
    log->error("msg=\"control server failed to start\" error=\"{}\"", control.status().message());
    return 1;
  }
  auto doc = nlohmann::json::parse((*sandbox)->DescribeJson());
  doc["control"] = host + ":" + std::to_string((*control)->port());
  std::string ready = doc.dump();
  std::cout << ready << std::endl;
  if (!ready_file.empty() && !WriteAtomically(ready_file, ready)) {
    log->error("msg=\"cannot write ready file\" path={}", ready_file);
    return 1;
  }
  log->info("msg=\"sandbox ready\" control={}", doc["control"].get<std::string>());

  int sig = 0;
  sigwait(&signals, &sig);
  log->info("msg=\"shutting down\" signal={}", sig);
  control->reset();
  sandbox->reset();
  if (!ready_file.empty()) std::remove(ready_file.c_str());
  return 0;
}
