// kmirrord as a real process against kmirror-sandbox clusters in another process: fidelity of
// every record field, topics found after start, SIGKILL/restart loops with exactly-once
// verification, configuration errors, metrics over HTTP.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <thread>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "lib/replication/provenance.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

class ReplicationTest : public TwoClusterTest {
 protected:
  std::unique_ptr<kafka::Producer> Producer(const std::string& compression = "none") {
    auto p = kafka::Producer::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("A")},
                                                       {"compression.type", compression},
                                                       {"enable.idempotence", "true"},
                                                       {"linger.ms", "2"}},
                                     [this](const kafka::DeliveryReport& dr) {
                                       if (!dr.status.ok()) delivery_errors_++;
                                     });
    EXPECT_TRUE(p.ok()) << p.status();
    return std::move(p).value();
  }

  // Writes ~500 records/s round robin to the 3 partitions of `topic` (values "value-<i>") while
  // killing `k` with SIGKILL `kills` times, each at a random moment while it is copying.
  void KillUnderLoad(Kmirrord& k, const std::string& topic, int kills) {
    std::atomic<bool> stop{false};
    std::thread writer([&] {
      auto producer = Producer();
      int64_t i = 0;
      while (!stop.load()) {
        for (int b = 0; b < 5; ++b, ++i) {
          kafka::ProduceRecord r;
          r.topic = topic;
          r.partition = static_cast<int32_t>(i % 3);
          r.key = "key-" + std::to_string(i);
          r.value = "value-" + std::to_string(i);
          ASSERT_TRUE(producer->Produce(r).ok());
        }
        producer->Poll(std::chrono::milliseconds(0));
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      (void)producer->Flush(std::chrono::seconds(10));
    });
    // Joins the writer however this function returns (a failed ASSERT returns early).
    struct Join {
      std::atomic<bool>& stop;
      std::thread& t;
      ~Join() {
        stop.store(true);
        if (t.joinable()) t.join();
      }
    } join{stop, writer};
    std::mt19937 rng(7);
    size_t copied = 0;
    for (int kill = 0; kill < kills; ++kill) {
      k.Start();
      ASSERT_TRUE(WaitFor([&] {
        size_t now = CountAll(ReadAll(sb_->Bootstrap("B"), "A." + topic, 3));
        bool grew = now > copied;
        copied = now;
        return grew;
      })) << k.Log();
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 700));
      k.proc().Kill();  // SIGKILL
    }
    stop.store(true);
    writer.join();
    ASSERT_EQ(delivery_errors_, 0);
  }
  // Starts `k` once more and waits until the target holds as many records as the source and ends
  // with the source's last record in every partition.
  std::pair<std::map<int32_t, std::vector<Copy>>, std::map<int32_t, std::vector<Copy>>>
  CopiedAfterRestart(Kmirrord& k, const std::string& topic) {
    k.Start();
    auto source = ReadAll(sb_->Bootstrap("A"), topic, 3);
    const size_t total = CountAll(source);
    std::map<int32_t, std::vector<Copy>> target;
    EXPECT_TRUE(WaitFor(
        [&] {
          target = ReadAll(sb_->Bootstrap("B"), "A." + topic, 3);
          if (CountAll(target) < total) return false;
          for (auto& [p, records] : source) {
            if (!records.empty() &&
                (target[p].empty() || target[p].back().value != records.back().value)) {
              return false;
            }
          }
          return true;
        },
        std::chrono::seconds(120)))
        << "target has " << CountAll(target) << " of " << total;
    return {std::move(source), std::move(target)};
  }

  std::atomic<int> delivery_errors_{0};
};

TEST_F(ReplicationTest, EveryFieldArrivesInTheSamePartitionUnderEveryCompression) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 4, 3).ok());
  std::map<int32_t, std::vector<kafka::ProduceRecord>> sent;
  int n = 0;
  for (const std::string codec : {"none", "gzip", "lz4", "zstd"}) {
    auto producer = Producer(codec);
    for (int i = 0; i < 50; ++i, ++n) {
      kafka::ProduceRecord r;
      r.topic = "orders";
      r.partition = n % 4;
      if (n % 7 != 0) r.key = std::string("k\0\xff", 3) + std::to_string(n);
      if (n % 5 != 0) r.value = codec + "-value-" + std::to_string(n);  // every 5th: null value
      if (n % 11 == 0) r.value = "";
      r.headers = {{"codec", codec}, {"null-header", std::nullopt}, {"dup", "1"}, {"dup", "2"}};
      r.timestamp_ms = 1600000000000 + n;
      ASSERT_TRUE(producer->Produce(r).ok());
      sent[r.partition].push_back(r);
    }
    ASSERT_TRUE(producer->Flush(std::chrono::seconds(10)).ok());
  }
  ASSERT_EQ(delivery_errors_, 0);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  std::map<int32_t, std::vector<Copy>> got;
  ASSERT_TRUE(WaitFor([&] {
    got = ReadAll(sb_->Bootstrap("B"), "A.orders", 4);
    return CountAll(got) >= static_cast<size_t>(n);
  })) << k.Log();
  for (int32_t p = 0; p < 4; ++p) {
    ASSERT_EQ(got[p].size(), sent[p].size()) << "partition " << p;
    for (size_t i = 0; i < sent[p].size(); ++i) {
      const kafka::ProduceRecord& s = sent[p][i];
      const Copy& c = got[p][i];
      EXPECT_EQ(c.key, s.key);
      EXPECT_EQ(c.value, s.value);
      EXPECT_EQ(c.timestamp_ms, s.timestamp_ms);
      ASSERT_EQ(c.headers.size(), s.headers.size() + 1);
      for (size_t h = 0; h < s.headers.size(); ++h) {
        EXPECT_EQ(c.headers[h].first, s.headers[h].name);
        EXPECT_EQ(c.headers[h].second, s.headers[h].value);
      }
      auto prov = ProvenanceOf(c);
      ASSERT_TRUE(prov);
      EXPECT_EQ(prov->source, "A");
      EXPECT_EQ(prov->offset.value, static_cast<int64_t>(i));
    }
  }
  // A topic created while kmirrord runs is found and copied with its partition count.
  ASSERT_TRUE(sb_->CreateTopic("A", "late", 2, 3).ok());
  auto producer = Producer();
  for (int i = 0; i < 10; ++i) {
    kafka::ProduceRecord r;
    r.topic = "late";
    r.partition = i % 2;
    r.value = "late-" + std::to_string(i);
    ASSERT_TRUE(producer->Produce(r).ok());
  }
  ASSERT_TRUE(producer->Flush(std::chrono::seconds(10)).ok());
  ASSERT_TRUE(WaitFor([&] { return CountAll(ReadAll(sb_->Bootstrap("B"), "A.late", 2)) == 10; }))
      << k.Log();
  auto admin =
      kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("B")}});
  ASSERT_TRUE(admin.ok());
  auto md = (*admin)->Metadata(std::vector<std::string>{"A.orders", "A.late"});
  ASSERT_TRUE(md.ok());
  ASSERT_EQ(md->topics.size(), 2u);
  std::map<std::string, size_t> partitions;
  for (const auto& t : md->topics) partitions[t.name] = t.partitions.size();
  EXPECT_EQ(partitions["A.orders"], 4u);
  EXPECT_EQ(partitions["A.late"], 2u);

  // Metrics are served in Prometheus text format and count what was copied.
  int port = k.MetricsPort();
  ASSERT_GT(port, 0);
  auto scrape =
      RunCommand({"curl", "-sf", "http://127.0.0.1:" + std::to_string(port) + "/metrics"});
  ASSERT_EQ(scrape.exit_code, 0) << scrape.err;
  EXPECT_NE(scrape.out.find("kmirror_replicated_records_total{flow=\"A->B\",topic=\"orders\"} 200"),
            std::string::npos)
      << scrape.out.substr(0, 3000);
  EXPECT_NE(scrape.out.find("kmirror_replication_lag_records{"), std::string::npos);
  EXPECT_NE(scrape.out.find("kmirror_replication_latency_seconds_bucket{"), std::string::npos);
  // librdkafka's statistics of both clients arrive every statistics.interval.ms (5 s).
  for (const char* role : {"source", "target"}) {
    const std::string up =
        std::string("kmirror_client_broker_up{broker=\"1\",flow=\"A->B\",role=\"") + role + "\"}";
    EXPECT_TRUE(WaitFor([&] { return k.Sample(up) == 1; }, std::chrono::seconds(20))) << up;
  }
  EXPECT_TRUE(k.Sample("kmirror_client_queue_messages{flow=\"A->B\",role=\"target\"}"));

  // SIGTERM drains and exits 0.
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();
}

TEST_F(ReplicationTest, ExactlyOncePerPartitionAcrossTenSigkills) {
  ASSERT_TRUE(sb_->CreateTopic("A", "events", 3, 3).ok());
  // A short session so that a killed instance's partitions move on quickly.
  Kmirrord k(dir_.path(),
             FlowConfig(*sb_, "[flows.source_kafka]\n\"session.timeout.ms\" = \"6000\"\n"));
  KillUnderLoad(k, "events", 10);
  auto [source, target] = CopiedAfterRestart(k, "events");
  for (int32_t p = 0; p < 3; ++p) {
    ASSERT_EQ(target[p].size(), source[p].size()) << "partition " << p << " has duplicates or gaps";
    for (size_t i = 0; i < source[p].size(); ++i) {
      auto prov = ProvenanceOf(target[p][i]);
      ASSERT_TRUE(prov);
      ASSERT_EQ(prov->offset.value, source[p][i].offset) << "partition " << p << " index " << i;
      ASSERT_EQ(target[p][i].value, source[p][i].value);
      ASSERT_EQ(target[p][i].key, source[p][i].key);
    }
  }
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0);
}

TEST_F(ReplicationTest, ProvenanceOffIsAtLeastOnceFromTheOffsetSyncs) {
  ASSERT_TRUE(sb_->CreateTopic("A", "plain", 3, 3).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_,
                                     "provenance = false\n[flows.source_kafka]\n"
                                     "\"session.timeout.ms\" = \"6000\"\n"));
  KillUnderLoad(k, "plain", 4);
  auto [source, target] = CopiedAfterRestart(k, "plain");
  // Every source record is on the target in source order; what follows a restart may repeat a
  // run of records already copied (those after the last offset sync), never skip one.
  int duplicates = 0;
  for (int32_t p = 0; p < 3; ++p) {
    size_t next = 0;  // index of the next source record not yet seen on the target
    for (const Copy& c : target[p]) {
      EXPECT_FALSE(ProvenanceOf(c)) << "provenance header written with provenance = false";
      if (next < source[p].size() && c.value == source[p][next].value) {
        ++next;
        continue;
      }
      // Not the next record: it must be a repeat of one already copied.
      bool seen = false;
      for (size_t i = 0; i < next && !seen; ++i) seen = source[p][i].value == c.value;
      ASSERT_TRUE(seen) << "partition " << p << ": unexpected record " << c.value.value_or("null")
                        << " where " << source[p][next].value.value_or("null") << " was next";
      ++duplicates;
    }
    ASSERT_EQ(next, source[p].size()) << "partition " << p << " is missing records";
  }
  std::printf("duplicates after 4 kills without provenance: %d\n", duplicates);
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0);
}

TEST(KmirrordConfigTest, BadConfigurationExits78NamingEveryKey) {
  TempDir dir;
  std::string path = dir.File("bad.toml");
  std::ofstream(path) << "[clusters.A]\nbootstrap_servers = \"127.0.0.1:1\"\n"
                         "[clusters.A.kafka]\n\"no.such.property\" = \"1\"\n"
                         "[[flows]]\nsource = \"A\"\ntarget = \"C\"\ntopics = [\"orders[\"]\n"
                         "provenance = \"yes\"\n";
  auto r = RunCommand({BinPath("kmirrord"), "--config", path}, "", std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 78);
  for (const char* key : {"flows[0].target", "flows[0].topics[0]", "flows[0].provenance",
                          "clusters.A.kafka.\"no.such.property\""}) {
    EXPECT_NE(r.err.find(key), std::string::npos) << key << " missing from:\n" << r.err;
  }
  auto check = RunCommand({BinPath("kmirrord"), "--check-config", path});
  EXPECT_EQ(check.exit_code, 78);
}

TEST(KmirrordConfigTest, CheckConfigMasksSecretsAndEveryExampleIsValid) {
  TempDir dir;
  std::string path = dir.File("ok.toml");
  std::ofstream(path)
      << "[clusters.A]\nbootstrap_servers = \"127.0.0.1:1\"\n"
         "[clusters.A.kafka]\n\"sasl.password\" = \"hunter2\"\n"
         "\"security.protocol\" = \"SASL_PLAINTEXT\"\n\"sasl.mechanism\" = \"PLAIN\"\n"
         "\"sasl.username\" = \"u\"\n"
         "[clusters.B]\nbootstrap_servers = \"127.0.0.1:2\"\n"
         "[[flows]]\nsource = \"A\"\ntarget = \"B\"\n";
  auto r = RunCommand({BinPath("kmirrord"), "--check-config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  EXPECT_EQ(r.err.find("hunter2"), std::string::npos);
  EXPECT_NE(r.out.find("******"), std::string::npos);
}

}  // namespace
}  // namespace kmirror::testing
