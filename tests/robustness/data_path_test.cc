// The data path under target refusals, as processes: the sandbox clusters and kmirrord each in
// their own process, faults from the sandbox (a batch over the target topic's max.message.bytes),
// SIGKILL, and an independent reader checking the target record by record.
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/kafka/producer.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

using nlohmann::json;

// CPU seconds (user + system) the process has used.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoll(field);
    if (i == 15) stime = std::stoll(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class DataPathTest : public TwoClusterTest {
 protected:
  json Ctl(Kmirrord& k, std::vector<std::string> args, int* exit_code = nullptr) {
    std::vector<std::string> argv = {BinPath("kmirrorctl"), "--socket", k.socket_path(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv, "", std::chrono::seconds(60));
    if (exit_code != nullptr) *exit_code = r.exit_code;
    return json::parse(r.out, nullptr, false);
  }
  // The source offsets B's copy of topic[partition] holds, in order.
  std::vector<int64_t> CopiedOffsets(const std::string& topic, int32_t partition, int partitions) {
    std::vector<int64_t> out;
    auto copies = ReadAll(sb_->Bootstrap("B"), "A." + topic, partitions);
    for (const Copy& c : copies[partition]) {
      auto p = ProvenanceOf(c);
      out.push_back(p ? p->offset.value : -1);
    }
    return out;
  }
  static std::vector<int64_t> Range(int64_t from, int64_t to, int64_t except = -1) {
    std::vector<int64_t> out;
    for (int64_t i = from; i < to; ++i) {
      if (i != except) out.push_back(i);
    }
    return out;
  }
  void WriteSmall(const std::string& topic, int32_t partition, int n) {
    std::vector<kafka::ProduceRecord> records;
    for (int i = 0; i < n; ++i) {
      kafka::ProduceRecord r;
      r.topic = topic;
      r.partition = partition;
      r.key = "k" + std::to_string(i);
      r.value = std::string(100, static_cast<char>('a' + i % 26));
      records.push_back(std::move(r));
    }
    Write("A", records);
  }
  // One record whose batch fits A's max.message.bytes (1048588, Kafka's default) but not once
  // the provenance header is added: B refuses the copy with MESSAGE_TOO_LARGE.
  void WriteBorderline(const std::string& topic, int32_t partition) {
    auto p = kafka::Producer::Create(
        kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("A")},
                          {"message.max.bytes", "2000000"}},
        [](const kafka::DeliveryReport& dr) { ASSERT_TRUE(dr.status.ok()) << dr.status; });
    ASSERT_TRUE(p.ok()) << p.status();
    kafka::ProduceRecord r;
    r.topic = topic;
    r.partition = partition;
    r.value = std::string(1048500, 'B');  // batch: 61 B header + 11 B record framing + value
    ASSERT_TRUE((*p)->Produce(r).ok());
    ASSERT_TRUE((*p)->Flush(std::chrono::seconds(20)).ok());
  }
};

// A transactional application on A: commits, an abort, markers after the last record. Only
// committed records are copied, each once and in order; lag reaches 0 with markers at the end; a
// group caught up past the last marker (where a Java consumer commits) is translated to the end
// of the copy and synced to B; a planned failover completes with RPO 0. Fails on 202a196: the
// aborted records are copied, lag stays at 1, the group never translates, the failover times out.
// Each step of the scenarios below waits for its signal up to this long (slow under ASan).
constexpr std::chrono::seconds kSlow{180};

TEST_F(DataPathTest, TransactionalSourceCopiesCommittedRecordsAndCatchesUpToItsMarkers) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  auto producer = kafka::Producer::Create(
      kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("A")}, {"transactional.id", "app"}},
      [](const kafka::DeliveryReport& dr) { ASSERT_TRUE(dr.status.ok()) << dr.status; });
  ASSERT_TRUE(producer.ok()) << producer.status();
  kafka::Producer& p = **producer;
  ASSERT_TRUE(p.InitTransactions(std::chrono::seconds(20)).ok());
  auto transaction = [&](int from, int n, bool commit) {
    ASSERT_TRUE(p.BeginTransaction().ok());
    for (int i = from; i < from + n; ++i) {
      kafka::ProduceRecord r;
      r.topic = "orders";
      r.partition = 0;
      r.value = "tx-" + std::to_string(i);
      ASSERT_TRUE(p.Produce(r).ok());
    }
    ASSERT_TRUE(p.Flush(std::chrono::seconds(20)).ok());
    auto s = commit ? p.CommitTransaction(std::chrono::seconds(20))
                    : p.AbortTransaction(std::chrono::seconds(20));
    ASSERT_TRUE(s.ok()) << s;
  };
  transaction(0, 5, true);   // offsets 0-4, marker 5
  transaction(6, 3, false);  // offsets 6-8 aborted, marker 9
  transaction(10, 2, true);  // offsets 10-11, marker 12
  ASSERT_EQ(End("A", "orders", 0), 13);
  ASSERT_TRUE(Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 13}}).ok());

  Kmirrord k(dir_.path(), FlowConfig(*sb_,
                                     "checkpoint_interval = \"500ms\"\n"
                                     "sync_group_offsets = true\n"));
  k.Start();
  const std::vector<int64_t> committed = {0, 1, 2, 3, 4, 10, 11};
  ASSERT_TRUE(
      WaitFor([&] { return CopiedOffsets("orders", 0, 1).size() >= committed.size(); }, kSlow))
      << k.Log();
  const char* lag =
      "kmirror_replication_lag_records{flow=\"A->B\",partition=\"0\",topic=\"orders\"}";
  ASSERT_TRUE(WaitFor([&] { return k.Sample(lag) == 0.0; }, kSlow))
      << k.Sample(lag).value_or(-1) << k.Log();
  ASSERT_TRUE(WaitFor([&] { return Committed("B", "app", "A.orders", 0) == 7; }, kSlow))
      << Committed("B", "app", "A.orders", 0) << k.Log();
  json out =
      Ctl(k, {"failover", "--source", "A", "--target", "B", "--planned", "--timeout", "60s"});
  EXPECT_EQ(out["phase"], "failed_over") << out.dump(2) << k.Log();
  EXPECT_EQ(out["rpo_records"], 0);
  // Record by record: the committed records, each once, in order, byte for byte.
  EXPECT_EQ(CopiedOffsets("orders", 0, 1), committed);
  auto copies = ReadAll(sb_->Bootstrap("B"), "A.orders", 1);
  ASSERT_EQ(copies[0].size(), committed.size());
  for (size_t i = 0; i < committed.size(); ++i) {
    EXPECT_EQ(copies[0][i].value, "tx-" + std::to_string(committed[i]));
  }
}

// Offsets without a record in the middle and at the end of a partition (removed as compaction
// does, through the sandbox). Every kept record is copied once, in order, across a SIGKILL; lag
// reaches 0 past the trailing gap; a group committed inside a gap or at the end is translated to
// exactly the next copied record. Fails on 202a196: lag stays at 2 and the group at the end is
// never translated.
TEST_F(DataPathTest, OffsetGapsAreCrossedExactlyAcrossSigkill) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Produce("A", "orders", 0, 100, "r-");
  std::set<int64_t> gone = {50, 98, 99};
  for (int64_t o = 10; o < 20; ++o) gone.insert(o);
  json offsets = json::array();
  for (int64_t o : gone) offsets.push_back(o);
  ASSERT_TRUE(sb_->Control("/v1/clusters/A/topics/orders/partitions/0/delete-records",
                           json{{"offsets", offsets}}.dump())
                  .ok());
  auto kept = [&](int64_t end) {
    std::vector<int64_t> out;
    for (int64_t o = 0; o < end; ++o) {
      if (!gone.contains(o)) out.push_back(o);
    }
    return out;
  };
  ASSERT_TRUE(Admin("A")->AlterConsumerGroupOffsets("inside", {{"orders", 0, 15}}).ok());
  ASSERT_TRUE(Admin("A")->AlterConsumerGroupOffsets("end", {{"orders", 0, 100}}).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_,
                                     "checkpoint_interval = \"500ms\"\n"
                                     "sync_group_offsets = true\n"));
  k.Start();
  const char* lag =
      "kmirror_replication_lag_records{flow=\"A->B\",partition=\"0\",topic=\"orders\"}";
  ASSERT_TRUE(
      WaitFor([&] { return CopiedOffsets("orders", 0, 1).size() == kept(100).size(); }, kSlow))
      << k.Log();
  ASSERT_TRUE(WaitFor([&] { return k.Sample(lag) == 0.0; }, kSlow))
      << k.Sample(lag).value_or(-1) << k.Log();
  // Source 15 is in the gap 10-19: the group's next record is source 20, on B at 10. Source 100
  // is the end: B's end, 87.
  ASSERT_TRUE(WaitFor(
      [&] {
        return Committed("B", "inside", "A.orders", 0) == 10 &&
               Committed("B", "end", "A.orders", 0) == 87;
      },
      kSlow))
      << Committed("B", "inside", "A.orders", 0) << " " << Committed("B", "end", "A.orders", 0)
      << k.Log();
  k.proc().Kill();
  Produce("A", "orders", 0, 10, "s-");  // offsets 100-109
  k.Start();
  ASSERT_TRUE(
      WaitFor([&] { return CopiedOffsets("orders", 0, 1).size() >= kept(110).size(); }, kSlow))
      << k.Log();
  ASSERT_TRUE(WaitFor([&] { return k.Sample(lag) == 0.0; }, kSlow)) << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 1), kept(110));
}

constexpr char kStopped[] =
    "kmirror_partition_stopped{flow=\"A->B\",partition=\"0\",topic=\"orders\"}";
constexpr char kLost[] =
    "kmirror_records_lost_total{flow=\"A->B\",partition=\"0\",topic=\"orders\"}";

TEST_F(DataPathTest, ARefusedRecordStopsItsPartitionThereAcrossSigkillUntilTheOperatorSkipsIt) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  WriteSmall("orders", 0, 50);   // offsets 0..49
  WriteBorderline("orders", 0);  // offset 50
  WriteSmall("orders", 0, 50);   // offsets 51..100
  WriteSmall("orders", 1, 100);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return k.Sample(kStopped) == 1.0; }, std::chrono::seconds(90)))
      << k.Log();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 1, 2).size() == 100; })) << k.Log();
  // No silent gap: partition 0 holds exactly what came before the refused record.
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 50));
  EXPECT_EQ(CopiedOffsets("orders", 1, 2), Range(0, 100));
  // The stop says where and why, in the status an operator reads.
  json status = Ctl(k, {"status"});
  bool shown = false;
  for (const auto& p : status["flows"][0]["replication"]["partitions"]) {
    if (p["topic"] == "orders" && p["partition"] == 0) {
      shown = true;
      EXPECT_TRUE(p["stopped"].get<bool>());
      EXPECT_EQ(p["stop_offset"], 50);
      EXPECT_NE(p["stop_reason"].get<std::string>().find("MSG_SIZE_TOO_LARGE"), std::string::npos)
          << p.dump();
    }
  }
  EXPECT_TRUE(shown) << status.dump();

  // While stopped, the daemon is quiet: little CPU and few log lines.
  const double cpu_before = CpuSeconds(k.proc().pid());
  const size_t log_before = k.Log().size();
  std::this_thread::sleep_for(std::chrono::seconds(10));  // a measurement window, not a wait
  const double cpu = CpuSeconds(k.proc().pid()) - cpu_before;
  const size_t log_growth = k.Log().size() - log_before;
  std::printf("while stopped: %.2f CPU s and %zu log bytes in 10 s\n", cpu, log_growth);
  EXPECT_LT(cpu, 2.0);
  EXPECT_LT(log_growth, 16u * 1024);

  // SIGKILL and restart: the new process reads the same tail and stops at the same record.
  k.proc().Signal(SIGKILL);
  k.proc().Wait(std::chrono::seconds(10));
  WriteSmall("orders", 0, 10);  // offsets 101..110, written while kmirrord is down
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return k.Sample(kStopped) == 1.0; }, std::chrono::seconds(90)))
      << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 50)) << "resumed past the refused record";

  // A skip of another offset is refused; the right one is audited, counted and applied.
  int code = 0;
  Ctl(k, {"skip", "--flow", "A->B", "--partition", "orders:0", "--offset", "49"}, &code);
  EXPECT_EQ(code, 2);
  json skipped =
      Ctl(k, {"skip", "--flow", "A->B", "--partition", "orders:0", "--offset", "50"}, &code);
  ASSERT_EQ(code, 0) << skipped.dump();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() == 110; })) << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 111, 50));
  EXPECT_EQ(k.Sample(kLost), 1.0);
  EXPECT_EQ(k.Sample(kStopped), 0.0);
  json audit = Ctl(k, {"audit", "--flow", "A->B"});
  bool audited = false;
  for (const auto& e : audit["entries"]) {
    audited = audited || (e["action"] == "skip" && e["result"] == "ok");
  }
  EXPECT_TRUE(audited) << audit.dump();

  // The skip is persisted: after another SIGKILL nothing is copied twice or skipped again.
  k.proc().Signal(SIGKILL);
  k.proc().Wait(std::chrono::seconds(10));
  WriteSmall("orders", 0, 5);  // 111..115
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() == 115; })) << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 116, 50));
}

TEST_F(DataPathTest, ABatchTheTargetRefusesUnderLoadLeavesNoGapBehindIt) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  WriteSmall("orders", 0, 200);
  WriteSmall("orders", 1, 200);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() == 200; })) << k.Log();
  // B refuses the next batch of A.orders[0] (INVALID_TIMESTAMP, e.g. a
  // message.timestamp.difference.max.ms policy); records keep arriving on both partitions.
  ASSERT_TRUE(sb_->Control("/v1/clusters/B/topics/A.orders/partitions/0/produce-errors",
                           R"({"errors": [32]})")
                  .ok());
  for (int round = 0; round < 10; ++round) {
    WriteSmall("orders", 0, 30);
    WriteSmall("orders", 1, 30);
  }
  ASSERT_TRUE(WaitFor([&] { return k.Sample(kStopped) == 1.0; })) << k.Log();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 1, 2).size() == 500; })) << k.Log();
  int64_t at = -1;
  json status;
  ASSERT_TRUE(WaitFor([&] {
    status = Ctl(k, {"status"});
    for (const auto& p : status["flows"][0]["replication"]["partitions"]) {
      if (p["topic"] == "orders" && p["partition"] == 0 && p["stopped"] == true) {
        at = p["stop_offset"].get<int64_t>();
      }
    }
    return at >= 0;
  })) << status.dump()
      << k.Log();
  ASSERT_GE(at, 200) << status.dump();
  // Exactly the records before the refused one, nothing behind it.
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, at));
  EXPECT_EQ(CopiedOffsets("orders", 1, 2), Range(0, 500));
  int code = 0;
  Ctl(k, {"skip", "--flow", "A->B", "--partition", "orders:0", "--offset", std::to_string(at)},
      &code);
  ASSERT_EQ(code, 0);
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() == 499; })) << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 500, at));
  EXPECT_EQ(k.Sample(kLost), 1.0);
}

TEST_F(DataPathTest, APartitionTheTargetKeepsRejectingDelaysOnlyItself) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 4, 3).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "max_in_flight_bytes = \"1MiB\"\n"));
  k.Start();
  WriteSmall("orders", 0, 10);
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 4).size() == 10; })) << k.Log();
  // A.orders[0] answers NOT_ENOUGH_REPLICAS (retriable) to its next 1200 batches: its records
  // stay in flight, retried with backoff, while 3 MB arrive for every partition.
  ASSERT_TRUE(sb_->Control(
                     "/v1/clusters/B/topics/A.orders/partitions/0/produce-errors",
                     R"({"errors": [)" +
                         [] {
                           std::string e;
                           for (int i = 0; i < 1200; ++i) e += (i ? ",19" : "19");
                           return e;
                         }() +
                         "]}")
                  .ok());
  for (int round = 0; round < 10; ++round) {
    for (int32_t p = 0; p < 4; ++p) {
      std::vector<kafka::ProduceRecord> records;
      for (int i = 0; i < 300; ++i) {
        kafka::ProduceRecord r;
        r.topic = "orders";
        r.partition = p;
        r.value = std::string(1000, static_cast<char>('a' + i % 26));
        records.push_back(std::move(r));
      }
      Write("A", records);
    }
  }
  // The healthy partitions copy everything although one partition holds records in flight and
  // the flow's budget (1 MiB) is a third of what arrived.
  ASSERT_TRUE(WaitFor([&] {
    for (int32_t p = 1; p < 4; ++p) {
      if (CopiedOffsets("orders", p, 4).size() != 3000) return false;
    }
    return true;
  })) << k.Log();
  // Then the stuck partition catches up, exactly.
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 4).size() >= 3010; },
                      std::chrono::seconds(300)))
      << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 4), Range(0, 3010));
  for (int32_t p = 1; p < 4; ++p) EXPECT_EQ(CopiedOffsets("orders", p, 4), Range(0, 3000));
}

TEST_F(DataPathTest, SigtermWithRecordsStillInFlightExitsCleanlyAfterTheDrainDeadline) {
  // The drain deadline passes with records in flight: the producer that borrows their payloads
  // is destroyed before they are freed (AddressSanitizer builds check it), and the restart
  // copies exactly what had not landed.
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  std::string config = FlowConfig(*sb_);
  const std::string drain = "drain_timeout = \"10s\"";
  ASSERT_NE(config.find(drain), std::string::npos);
  config.replace(config.find(drain), drain.size(), "drain_timeout = \"1s\"");
  Kmirrord k(dir_.path(), config);
  k.Start();
  WriteSmall("orders", 0, 50);
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() == 50; })) << k.Log();
  // A.orders[0] answers its next 100 batches NOT_ENOUGH_REPLICAS: its records stay in flight.
  std::string errors;
  for (int i = 0; i < 100; ++i) errors += i == 0 ? "19" : ",19";
  ASSERT_TRUE(sb_->Control("/v1/clusters/B/topics/A.orders/partitions/0/produce-errors",
                           "{\"errors\": [" + errors + "]}")
                  .ok());
  WriteSmall("orders", 0, 200);
  WriteSmall("orders", 1, 200);
  ASSERT_TRUE(WaitFor([&] {
    auto v = k.Sample("kmirror_in_flight_bytes{flow=\"A->B\"}");
    return v && *v > 0;
  })) << k.Log();
  k.proc().Signal(SIGTERM);
  ASSERT_EQ(k.proc().Wait(std::chrono::seconds(60)), 0) << k.Log();
  EXPECT_NE(k.Log().find("drained=false"), std::string::npos) << "the deadline was not missed";
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 0, 2).size() >= 250; },
                      std::chrono::seconds(120)))
      << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 0, 2), Range(0, 250));
  ASSERT_TRUE(WaitFor([&] { return CopiedOffsets("orders", 1, 2).size() >= 200; })) << k.Log();
  EXPECT_EQ(CopiedOffsets("orders", 1, 2), Range(0, 200));
}

}  // namespace
}  // namespace kmirror::testing
