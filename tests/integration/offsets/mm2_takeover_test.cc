// Taking over from MirrorMaker 2: MM2 copied part of `orders` to `A.orders` on B (same key, value
// and timestamp, no provenance) and wrote its offset syncs on A, every so many records as MM2
// does. kmirrord with mm2_takeover = true continues right after the last record MM2 wrote: every
// source record ends up on B once, nothing is copied again, also when the last sync is stale or
// the estimate from it is off (records MM2 did not write, records MM2 wrote twice).
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/kafka/producer.h"
#include "lib/offsets/mm2_format.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

std::vector<int> Range(int from, int to) {  // [from, to)
  std::vector<int> v;
  for (int i = from; i < to; ++i) v.push_back(i);
  return v;
}
std::vector<int> Concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What MM2 did to one partition before it was stopped.
struct Mm2Run {
  int32_t partition = 0;
  int source_records = 0;   // on A's orders[partition]
  std::vector<int> copied;  // the source records MM2 wrote to B, in order (a repeat: a duplicate)
  std::vector<int> synced;  // MM2 wrote a sync after these positions of `copied`
  int local = 3;            // records B's A.orders held before MM2's (target offsets shifted)
};

std::string ValueOf(int32_t partition, int i) {
  return "p" + std::to_string(partition) + "-" + std::to_string(i);
}

class Mm2TakeoverTest : public TwoClusterTest {
 protected:
  void SetUp() override {
    TwoClusterTest::SetUp();
    ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
    ASSERT_TRUE(sb_->CreateTopic("B", "A.orders", 2, 3).ok());
    // MM2's default offset-syncs.topic.location=source: named after the target.
    ASSERT_TRUE(sb_->CreateTopic("A", "mm2-offset-syncs.B.internal", 1, 3).ok());
  }
  void Simulate(const Mm2Run& run) {
    std::vector<kafka::ProduceRecord> source, local, copies, syncs;
    for (int i = 0; i < run.source_records; ++i) {
      kafka::ProduceRecord r;
      r.topic = "orders";
      r.partition = run.partition;
      r.key = "k" + std::to_string(i % 7);  // repeated keys: only the whole content identifies
      r.value = ValueOf(run.partition, i);
      r.timestamp_ms = 1700000000000 + i;
      source.push_back(r);
    }
    for (int i = 0; i < run.local; ++i) {
      kafka::ProduceRecord r;
      r.topic = "A.orders";
      r.partition = run.partition;
      r.value = "local-" + std::to_string(i);
      local.push_back(r);
    }
    for (int i : run.copied) {
      kafka::ProduceRecord r = source[i];
      r.topic = "A.orders";
      copies.push_back(r);
    }
    for (int k : run.synced) {
      offsets::OffsetSync s{"orders", run.partition, run.copied[k], run.local + k};
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
  // B's A.orders[partition] without the local records: value, and whether kmirror wrote it.
  std::vector<std::pair<std::string, bool>> OnB(int32_t partition) {
    auto all = ReadAll(sb_->Bootstrap("B"), "A.orders", 2);
    std::vector<std::pair<std::string, bool>> out;
    for (const Copy& c : all[partition]) {
      if (c.value && c.value->rfind("local-", 0) != 0) {
        out.emplace_back(*c.value, ProvenanceOf(c).has_value());
      }
    }
    return out;
  }
  // Waits until B holds the partition's last source record (records are copied in order, so any
  // record copied again came before it), then checks B's sequence: MM2's records as MM2 wrote
  // them, then kmirror's copies of source records `from`..n-1.
  void ExpectOnB(const Mm2Run& run, int from, Kmirrord& k) {
    const std::string last = ValueOf(run.partition, run.source_records - 1);
    ASSERT_TRUE(WaitFor([&] {
      auto b = OnB(run.partition);
      return !b.empty() && b.back().first == last && b.back().second;
    })) << "partition "
        << run.partition << "\n"
        << k.Log();
    std::vector<std::pair<std::string, bool>> expected;
    for (int i : run.copied) expected.emplace_back(ValueOf(run.partition, i), false);
    for (int i = from; i < run.source_records; ++i) {
      expected.emplace_back(ValueOf(run.partition, i), true);
    }
    EXPECT_EQ(OnB(run.partition), expected) << "partition " << run.partition;
  }
};

TEST_F(Mm2TakeoverTest, ContinuesAfterTheLastRecordMm2WroteWithoutCopyingAgain) {
  // 100 of 150 and 70 of 120 copied; the last syncs are 9 and 39 records behind MM2's last copy.
  Mm2Run p0{0, 150, Range(0, 100), {0, 10, 20, 30, 40, 50, 60, 70, 80, 90}};
  Mm2Run p1{1, 120, Range(0, 70), {0, 10, 20, 30}};
  Simulate(p0);
  Simulate(p1);
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "mm2_takeover = true\n"));
  k.Start();
  ExpectOnB(p0, 100, k);
  ExpectOnB(p1, 70, k);
}

TEST_F(Mm2TakeoverTest, TheRecordsContentSettlesWhereTheSyncEstimateIsOff) {
  // Source records 60..69 never reached B (as with offset gaps or records MM2 filtered): the
  // estimate from the sync at 50 says MM2 stopped at 89, it stopped at 99.
  Mm2Run p0{0, 150, Concat(Range(0, 60), Range(70, 100)), {0, 10, 20, 30, 40, 50}};
  // MM2's producer retried record 40 and wrote it twice: the estimate says 70, it stopped at 69.
  Mm2Run p1{1, 120, Concat(Range(0, 41), Range(40, 70)), {0, 10, 20, 30}};
  Simulate(p0);
  Simulate(p1);
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "mm2_takeover = true\n"));
  k.Start();
  ExpectOnB(p0, 100, k);  // the estimate would copy 90..99 again
  ExpectOnB(p1, 70, k);   // the estimate would skip 70
}

TEST_F(Mm2TakeoverTest, ARemotePartitionMm2NeverWroteStartsAtTheEarliestWhateverStartFrom) {
  Mm2Run p0{0, 50, {}, {}, 0};  // MM2 had copied nothing of it
  Mm2Run p1{1, 60, Range(0, 30), {0, 10, 20}};
  Simulate(p0);
  Simulate(p1);
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "mm2_takeover = true\nstart_from = \"latest\"\n"));
  k.Start();
  ExpectOnB(p0, 0, k);
  ExpectOnB(p1, 30, k);
}

TEST_F(Mm2TakeoverTest, APartitionWithoutAnOffsetSyncFollowsStartFrom) {
  Mm2Run p0{0, 50, Range(0, 30), {0, 10, 20}};
  Mm2Run p1{1, 50, Range(0, 30), {}};  // no sync: start_from = earliest copies it all again
  Simulate(p0);
  Simulate(p1);
  Kmirrord k(dir_.path(), FlowConfig(*sb_, "mm2_takeover = true\n"));
  k.Start();
  ExpectOnB(p0, 30, k);
  ExpectOnB(p1, 0, k);
}

TEST_F(Mm2TakeoverTest, WithoutTakeoverTheFlowStartsPerStartFrom) {
  Mm2Run p0{0, 50, Range(0, 30), {0, 10, 20}};
  Mm2Run p1{1, 20, Range(0, 20), {0, 10}};
  Simulate(p0);
  Simulate(p1);
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  // start_from = earliest: everything is copied again after MM2's records.
  ExpectOnB(p0, 0, k);
  ExpectOnB(p1, 0, k);
}

}  // namespace
}  // namespace kmirror::testing
