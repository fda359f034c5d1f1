// Taking over from MirrorMaker 2: MM2 copied part of `orders` to `A.orders` on B (same key, value
// and timestamp, no provenance) and wrote its offset syncs on A, as MM2 does every so many records.
// kmirrord with mm2_takeover = true continues after the last record MM2 wrote: every source
// record ends up on B exactly once, nothing is copied again, even when the last sync is stale.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/kafka/producer.h"
#include "lib/offsets/mm2_format.h"
#include "tests/support/kmirrord_process.h"

namespace kmirror::testing {
namespace {

class Mm2TakeoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sp = SandboxProcess::Start({"A:3", "B:3"});
    ASSERT_TRUE(sp.ok()) << sp.status();
    sb_ = std::move(sp).value();
    ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
    ASSERT_TRUE(sb_->CreateTopic("B", "A.orders", 2, 3).ok());
  }
  void Write(const std::string& cluster, const std::vector<kafka::ProduceRecord>& records) {
    auto p = kafka::Producer::Create(
        kafka::Properties{{"bootstrap.servers", sb_->Bootstrap(cluster)}},
        [](const kafka::DeliveryReport& dr) { ASSERT_TRUE(dr.status.ok()) << dr.status; });
    ASSERT_TRUE(p.ok()) << p.status();
    for (const auto& r : records) ASSERT_TRUE((*p)->Produce(r).ok());
    ASSERT_TRUE((*p)->Flush(std::chrono::seconds(20)).ok());
  }
  // `n` source records on A's orders[partition]; MM2 "copied" the first `copied` to B and wrote a
  // sync every 10 records up to `last_sync` (source offset), as (upstream, downstream).
  void Simulate(int32_t partition, int n, int copied, int last_sync) {
    std::vector<kafka::ProduceRecord> source, copies, syncs;
    for (int i = 0; i < n; ++i) {
      kafka::ProduceRecord r;
      r.topic = "orders";
      r.partition = partition;
      r.key = "k" + std::to_string(i % 7);  // repeated keys: only the whole content identifies
      r.value = "p" + std::to_string(partition) + "-" + std::to_string(i);
      r.timestamp_ms = 1700000000000 + i;
      source.push_back(r);
      if (i < copied) {
        r.topic = "A.orders";
        copies.push_back(r);
      }
    }
    // B's A.orders starts with 3 records of its own: target offsets = source offsets + 3.
    std::vector<kafka::ProduceRecord> local;
    for (int i = 0; i < 3; ++i) {
      kafka::ProduceRecord r;
      r.topic = "A.orders";
      r.partition = partition;
      r.value = "local-" + std::to_string(i);
      local.push_back(r);
    }
    for (int u = 0; u <= last_sync; u += 10) {
      offsets::OffsetSync s{"orders", partition, u, u + 3};
      kafka::ProduceRecord r;
      r.topic = "mm2-offset-syncs.B.internal";
      r.partition = 0;
      r.key = offsets::EncodeOffsetSyncKey(s);
      r.value = offsets::EncodeOffsetSyncValue(s);
      syncs.push_back(r);
    }
    Write("A", source);
    Write("B", local);
    Write("B", copies);
    Write("A", syncs);
  }
  std::vector<std::string> Values(int32_t partition) {
    auto all = ReadAll(sb_->Bootstrap("B"), "A.orders", 2);
    std::vector<std::string> out;
    for (const Copy& c : all[partition]) {
      if (c.value && c.value->rfind("local-", 0) != 0) out.push_back(*c.value);
    }
    return out;
  }

  TempDir dir_;
  std::unique_ptr<SandboxProcess> sb_;
};

TEST_F(Mm2TakeoverTest, ContinuesAfterTheLastRecordMm2WroteEvenWithAStaleSync) {
  ASSERT_TRUE(sb_->CreateTopic("A", "mm2-offset-syncs.B.internal", 1, 3).ok());
  Simulate(0, 150, 100, 90);  // last sync 10 records behind the end of the copy
  Simulate(1, 120, 70, 30);   // last sync 40 records behind
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "mm2_takeover = true\n"));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Values(0).size() >= 150 && Values(1).size() >= 120; }))
      << k.Log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  for (auto [partition, n] : {std::pair{0, 150}, {1, 120}}) {
    std::vector<std::string> expected;
    for (int i = 0; i < n; ++i) {
      expected.push_back("p" + std::to_string(partition) + "-" + std::to_string(i));
    }
    EXPECT_EQ(Values(partition), expected) << "partition " << partition;
  }
}

TEST_F(Mm2TakeoverTest, WithoutTakeoverTheFlowStartsPerStartFrom) {
  ASSERT_TRUE(sb_->CreateTopic("A", "mm2-offset-syncs.B.internal", 1, 3).ok());
  Simulate(0, 50, 30, 20);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  // start_from = earliest: everything is copied again after MM2's 30.
  ASSERT_TRUE(WaitFor([&] { return Values(0).size() >= 80; })) << k.Log();
  EXPECT_EQ(Values(0).size(), 80u);
}

}  // namespace
}  // namespace kmirror::testing
