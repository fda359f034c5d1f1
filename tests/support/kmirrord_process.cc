#include "tests/support/kmirrord_process.h"

#include <fstream>
#include <regex>
#include <set>

#include "gtest/gtest.h"
#include "lib/kafka/consumer.h"

namespace kmirror::testing {

// Reads every record of the given partitions from the beginning until their end offsets.
std::map<int32_t, std::vector<Copy>> ReadAll(const std::string& bootstrap, const std::string& topic,
                                             int partitions) {
  std::map<int32_t, std::vector<Copy>> out;
  auto consumer = kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", bootstrap},
                                                            {"group.id", "verifier"},
                                                            {"enable.partition.eof", "true"},
                                                            {"enable.auto.commit", "false"}});
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  if (!consumer.ok()) return out;
  std::vector<kafka::TopicPartitionOffset> assign;
  for (int p = 0; p < partitions; ++p) assign.emplace_back(topic, p, kafka::kOffsetBeginning);
  EXPECT_TRUE((*consumer)->Assign(assign).ok());
  std::set<int32_t> open;
  for (int p = 0; p < partitions; ++p) open.insert(p);
  // Generous: tens of thousands of records under ASan on a loaded 2-core machine take minutes.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  while (!open.empty() && std::chrono::steady_clock::now() < deadline) {
    auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(200), 10000);
    if (!batch.ok()) continue;
    for (auto& m : *batch) {
      if (m.is_partition_eof()) {
        open.erase(m.partition());
        continue;
      }
      if (!m.ok()) continue;
      Copy c;
      c.offset = m.offset();
      if (m.key()) c.key = std::string(*m.key());
      if (m.value()) c.value = std::string(*m.value());
      for (const auto& h : m.headers()) {
        c.headers.emplace_back(
            std::string(h.name),
            h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt);
      }
      c.timestamp_ms = m.timestamp_ms();
      out[m.partition()].push_back(std::move(c));
    }
  }
  EXPECT_TRUE(open.empty()) << "partitions did not reach their end";
  (void)(*consumer)->Close();
  return out;
}

std::optional<replication::Provenance> ProvenanceOf(const Copy& c) {
  for (const auto& [n, v] : c.headers) {
    if (n == replication::kProvenanceHeader && v) return replication::DecodeProvenance(*v);
  }
  return std::nullopt;
}

size_t CountAll(const std::map<int32_t, std::vector<Copy>>& m) {
  size_t n = 0;
  for (const auto& [p, v] : m) n += v.size();
  return n;
}

Kmirrord::Kmirrord(const std::string& dir, const std::string& config, const std::string& name)
    : dir_(dir), name_(name) {
  config_path_ = dir + "/" + name + ".toml";
  // Every daemon serves its control API in its own directory (the default path is shared).
  socket_path_ = dir + "/" + name + ".sock";
  std::ofstream(config_path_) << config
                              << (config.find("[control]") == std::string::npos
                                      ? "\n[control]\nsocket = \"" + socket_path_ + "\"\n"
                                      : std::string());
}

void Kmirrord::Start() {
  auto p = Subprocess::Start({BinPath("kmirrord"), "--config", config_path_}, "",
                             dir_ + "/" + name_ + ".log");
  ASSERT_TRUE(p);
  proc_ = std::make_unique<Subprocess>(std::move(*p));
}

std::string Kmirrord::Log() const { return ReadFile(dir_ + "/" + name_ + ".log"); }

int Kmirrord::MetricsPort() {
  std::regex re("metrics_port=([0-9]+)");
  for (int i = 0; i < 200; ++i) {
    std::smatch m;
    std::string log = Log();
    std::string::const_iterator from = log.cbegin();
    int port = 0;
    // The newest "started" line wins (the log is appended across restarts).
    while (std::regex_search(from, log.cend(), m, re)) {
      port = std::stoi(m[1]);
      from = m.suffix().first;
    }
    if (port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

std::string Kmirrord::Scrape() {
  int port = MetricsPort();
  if (port == 0) return "";
  auto r = RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  return r.exit_code == 0 ? r.out : "";
}

std::optional<double> Kmirrord::Sample(const std::string& series) {
  std::string text = Scrape();
  size_t at = 0;
  while ((at = text.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      return std::stod(text.substr(at + series.size() + 1));
    }
    at += series.size();
  }
  return std::nullopt;
}

std::string FlowConfig(SandboxProcess& sb, const std::string& flow_extra) {
  return "[daemon]\ninstance_id = \"test\"\ndrain_timeout = \"10s\"\n"
         "[clusters.A]\nbootstrap_servers = \"" +
         sb.Bootstrap("A") +
         "\"\n"
         "[clusters.B]\nbootstrap_servers = \"" +
         sb.Bootstrap("B") +
         "\"\n"
         "[[flows]]\nsource = \"A\"\ntarget = \"B\"\ntopic_refresh_interval = \"1s\"\n" +
         flow_extra + "[metrics]\nlisten = \"127.0.0.1:0\"\n";
}

}  // namespace kmirror::testing
