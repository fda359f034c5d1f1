// kmirror-sandbox as a separate process, driven by kcat (a real Kafka CLI built on librdkafka) and
// by its HTTP control endpoint.
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "tests/support/sandbox_process.h"

namespace kmirror::testing {
namespace {

using json = nlohmann::json;

class KcatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sp = SandboxProcess::Start({"A:3"});
    ASSERT_TRUE(sp.ok()) << sp.status();
    sandbox_ = std::move(sp).value();
    bootstrap_ = sandbox_->Bootstrap("A");
  }

  CommandResult Kcat(std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> argv = {"kcat", "-b", bootstrap_};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, input, std::chrono::seconds(30));
  }

  json Metadata() {
    auto r = Kcat({"-L", "-J"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return json::parse(r.out, nullptr, false);
  }

  std::unique_ptr<SandboxProcess> sandbox_;
  std::string bootstrap_;
};

TEST_F(KcatTest, MetadataShowsBrokersControllerAndTopicPartitions) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "orders", 12, 3).ok());
  json md = Metadata();
  ASSERT_FALSE(md.is_discarded());
  EXPECT_EQ(md["brokers"].size(), 3u);
  EXPECT_GT(md["controllerid"].get<int>(), 0);
  ASSERT_EQ(md["topics"].size(), 1u);
  EXPECT_EQ(md["topics"][0]["topic"], "orders");
  EXPECT_EQ(md["topics"][0]["partitions"].size(), 12u);
  for (const auto& p : md["topics"][0]["partitions"]) EXPECT_EQ(p["replicas"].size(), 3u);
}

TEST_F(KcatTest, ProduceConsumeKeysNullValuesAndHeadersAcrossCompressions) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "fidelity", 2, 3).ok());
  const std::vector<std::string> codecs = {"none", "gzip", "lz4", "zstd", "snappy"};
  for (const auto& codec : codecs) {
    auto r = Kcat({"-P", "-t", "fidelity", "-p", "1", "-z", codec, "-K", "|", "-Z", "-H",
                   "codec=" + codec, "-H", "bin=\x01\x02"},
                  "key-" + codec + "|value-" + codec + "\nnull-" + codec + "|\n");
    ASSERT_EQ(r.exit_code, 0) << codec << ": " << r.err;
  }
  auto r = Kcat({"-C", "-t", "fidelity", "-p", "1", "-e", "-J", "-Z"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<json> records;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) records.push_back(json::parse(line));
  }
  ASSERT_EQ(records.size(), 2 * codecs.size());
  for (size_t i = 0; i < codecs.size(); ++i) {
    const json& with_value = records[2 * i];
    const json& with_null = records[2 * i + 1];
    EXPECT_EQ(with_value["offset"], 2 * i);
    EXPECT_EQ(with_value["key"], "key-" + codecs[i]);
    EXPECT_EQ(with_value["payload"], "value-" + codecs[i]);
    EXPECT_TRUE(with_null["payload"].is_null()) << with_null.dump();
    EXPECT_EQ(with_null["key"], "null-" + codecs[i]);
    ASSERT_EQ(with_value["headers"].size(), 4u) << with_value.dump();
    EXPECT_EQ(with_value["headers"][0], "codec");
    EXPECT_EQ(with_value["headers"][1], codecs[i]);
    EXPECT_EQ(with_value["headers"][3], "\x01\x02");
  }
  // Nothing landed in the other partition.
  auto other = Kcat({"-C", "-t", "fidelity", "-p", "0", "-e", "-J"});
  EXPECT_EQ(other.out.find("payload"), std::string::npos);
}

TEST_F(KcatTest, BrokerDownLeavesMetadataAndLeadersOnLiveBrokersAndComesBack) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "t", 6, 3).ok());
  ASSERT_TRUE(sandbox_->BrokerDown("A", 2).ok());
  json md = Metadata();
  EXPECT_EQ(md["brokers"].size(), 2u);
  for (const auto& p : md["topics"][0]["partitions"]) {
    EXPECT_NE(p["leader"], 2);
    EXPECT_EQ(p["isrs"].size(), 2u);
  }
  // Producing while it is down works through the moved leaders.
  auto produced = Kcat({"-P", "-t", "t", "-X", "acks=all"}, "a\nb\nc\n");
  EXPECT_EQ(produced.exit_code, 0) << produced.err;
  ASSERT_TRUE(sandbox_->BrokerUp("A", 2).ok());
  md = Metadata();
  EXPECT_EQ(md["brokers"].size(), 3u);
  auto consumed = Kcat({"-C", "-t", "t", "-e", "-f", "%s\n"});
  EXPECT_EQ(consumed.exit_code, 0);
  for (const char* v : {"a\n", "b\n", "c\n"}) EXPECT_NE(consumed.out.find(v), std::string::npos);
}

TEST_F(KcatTest, AllBrokersDownRefusesConnections) {
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(sandbox_->BrokerDown("A", b).ok());
  auto r = Kcat({"-L", "-m", "2"});
  EXPECT_NE(r.exit_code, 0);
  for (int b = 1; b <= 3; ++b) ASSERT_TRUE(sandbox_->BrokerUp("A", b).ok());
  EXPECT_EQ(Kcat({"-L"}).exit_code, 0);
}

TEST_F(KcatTest, ControlEndpointRejectsBadInputAndKeepsRunning) {
  EXPECT_FALSE(sandbox_->Control("/v1/clusters/Z/brokers/1/down").ok());
  EXPECT_FALSE(sandbox_->Control("/v1/clusters/A/brokers/9/down").ok());
  EXPECT_FALSE(sandbox_->Control("/v1/clusters/A/brokers/1/rtt", "{not json").ok());
  EXPECT_FALSE(sandbox_->Control("/v1/clusters/A/topics", R"({"name":"x y","partitions":1})").ok());
  EXPECT_FALSE(sandbox_->Control("/v1/nothing").ok());
  EXPECT_TRUE(sandbox_->process().Running());
  EXPECT_EQ(Kcat({"-L"}).exit_code, 0);
}

TEST_F(KcatTest, InjectedProduceErrorsAreRetriedByTheClient) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "flaky", 1, 3).ok());
  // NOT_LEADER_FOR_PARTITION twice: retriable, so the producer retries and succeeds.
  ASSERT_TRUE(sandbox_->Control("/v1/clusters/A/errors", R"({"api_key":0,"errors":[6,6]})").ok());
  auto r = Kcat({"-P", "-t", "flaky", "-X", "acks=all"}, "x\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto c = Kcat({"-C", "-t", "flaky", "-e", "-f", "%s"});
  EXPECT_EQ(c.out, "x");
}

TEST(SandboxProcessTest, SigtermExitsCleanlyAndRemovesReadyFile) {
  TempDir dir;
  std::string ready = dir.File("ready.json");
  auto p = Subprocess::Start({BinPath("kmirror-sandbox"), "--cluster", "A:1", "--ready-file", ready,
                              "--log-level", "warn"});
  ASSERT_TRUE(p);
  for (int i = 0; i < 1000 && !std::filesystem::exists(ready); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(std::filesystem::exists(ready));
  p->Signal(SIGTERM);
  EXPECT_EQ(p->Wait(std::chrono::seconds(20)), 0);
  EXPECT_FALSE(std::filesystem::exists(ready));
}

TEST(SandboxProcessTest, BadClusterSpecExits78) {
  auto r = RunCommand({BinPath("kmirror-sandbox"), "--cluster", "A:0"});
  EXPECT_EQ(r.exit_code, 78);
  EXPECT_NE(r.err.find("A:0"), std::string::npos);
  auto dup = RunCommand({BinPath("kmirror-sandbox"), "--cluster", "A:1", "--cluster", "A:1"});
  EXPECT_EQ(dup.exit_code, 78);
}

}  // namespace
}  // namespace kmirror::testing
