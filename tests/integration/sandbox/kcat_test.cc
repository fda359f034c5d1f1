// kmirror-sandbox as a separate process, driven by kcat (a real Kafka CLI built on librdkafka) and
// by its HTTP control endpoint.
#include <signal.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "lib/kafka/producer.h"
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

// A transactional application (librdkafka's transactional producer) on one side, kcat reading
// read_committed and read_uncommitted on the other: markers take offsets and are never shown,
// aborted records are skipped by read_committed readers only, and an open transaction holds back
// everything after its first record (the last stable offset), other producers' records included.
TEST_F(KcatTest, TransactionsCommitAbortAndHoldBackTheLastStableOffset) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "tx", 1, 3).ok());
  auto producer = kafka::Producer::Create(
      kafka::Properties{{"bootstrap.servers", bootstrap_}, {"transactional.id", "app-1"}},
      [](const kafka::DeliveryReport&) {});
  ASSERT_TRUE(producer.ok()) << producer.status();
  kafka::Producer& p = **producer;
  ASSERT_TRUE(p.InitTransactions(std::chrono::seconds(20)).ok());
  auto produce = [&](const std::string& value) {
    kafka::ProduceRecord r;
    r.topic = "tx";
    r.partition = 0;
    r.value = value;
    return p.Produce(r);
  };
  auto transaction = [&](std::vector<std::string> values, bool commit) {
    ASSERT_TRUE(p.BeginTransaction().ok());
    for (const auto& v : values) {
      ASSERT_TRUE(produce(v).ok());
    }
    ASSERT_TRUE(p.Flush(std::chrono::seconds(20)).ok());  // appended, so an abort must hide them
    auto s = commit ? p.CommitTransaction(std::chrono::seconds(20))
                    : p.AbortTransaction(std::chrono::seconds(20));
    ASSERT_TRUE(s.ok()) << s;
  };
  transaction({"c1", "c2", "c3"}, true);  // 0-2, commit marker 3
  transaction({"a1", "a2"}, false);       // 4-5, abort marker 6
  transaction({"c4"}, true);              // 7, commit marker 8
  auto read = [&](const std::string& isolation) {
    auto r = Kcat({"-C", "-t", "tx", "-o", "beginning", "-e", "-X", "isolation.level=" + isolation,
                   "-f", "%o=%s "});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(read("read_committed"), "0=c1 1=c2 2=c3 7=c4 ");
  EXPECT_EQ(read("read_uncommitted"), "0=c1 1=c2 2=c3 4=a1 5=a2 7=c4 ");

  // An open transaction (its record appended) and a plain record after it.
  ASSERT_TRUE(p.BeginTransaction().ok());
  ASSERT_TRUE(produce("open").ok());
  ASSERT_TRUE(p.Flush(std::chrono::seconds(20)).ok());
  auto plain = Kcat({"-P", "-t", "tx", "-p", "0"}, "plain\n");
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(read("read_committed"), "0=c1 1=c2 2=c3 7=c4 ");
  EXPECT_EQ(read("read_uncommitted"), "0=c1 1=c2 2=c3 4=a1 5=a2 7=c4 9=open 10=plain ");
  ASSERT_TRUE(p.CommitTransaction(std::chrono::seconds(20)).ok());
  EXPECT_EQ(read("read_committed"), "0=c1 1=c2 2=c3 7=c4 9=open 10=plain ");
  // Markers are not records: they cannot be deleted.
  auto marker = sandbox_->Control("/v1/clusters/A/topics/tx/partitions/0/delete-records",
                                  R"({"offsets":[3]})");
  EXPECT_NE(marker.message().find("transaction marker"), std::string::npos) << marker;
}

// Records removed from the middle of a partition the way compaction does: their offsets stay
// taken, readers skip them; what cannot be removed is refused with the reason.
TEST_F(KcatTest, DeletedRecordsLeaveOffsetGaps) {
  ASSERT_TRUE(sandbox_->CreateTopic("A", "compacted", 1, 3).ok());
  auto w = Kcat({"-P", "-t", "compacted", "-p", "0"}, "r0\nr1\nr2\nr3\n");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  EXPECT_TRUE(sandbox_
                  ->Control("/v1/clusters/A/topics/compacted/partitions/0/delete-records",
                            R"({"offsets":[1,2]})")
                  .ok());
  auto past = sandbox_->Control("/v1/clusters/A/topics/compacted/partitions/0/delete-records",
                                R"({"offsets":[4]})");
  EXPECT_FALSE(past.ok());
  EXPECT_NE(past.message().find("offset 4"), std::string::npos) << past;
  auto r = Kcat({"-C", "-t", "compacted", "-o", "beginning", "-e", "-f", "%o=%s "});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0=r0 3=r3 ");
  // A compressed batch cannot be rewritten: refused, and nothing of the request is applied.
  const std::string zs(500, 'z');  // compressible, so librdkafka keeps the gzip batch
  auto z = Kcat({"-P", "-t", "compacted", "-p", "0", "-z", "gzip"}, zs + "\n" + zs + "\n");
  ASSERT_EQ(z.exit_code, 0) << z.err;
  auto compressed = sandbox_->Control("/v1/clusters/A/topics/compacted/partitions/0/delete-records",
                                      R"({"offsets":[0,5]})");
  EXPECT_NE(compressed.message().find("compressed batch (4-5)"), std::string::npos) << compressed;
  r = Kcat({"-C", "-t", "compacted", "-o", "beginning", "-e", "-f", "%o "});
  EXPECT_EQ(r.out, "0 3 4 5 ");
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
