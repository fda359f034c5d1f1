// When offset syncs are emitted, how they are queued, and how the latest one is read back.
#include "lib/offsets/offset_syncs.h"

#include <prometheus/registry.h>

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/offsets/fakes.h"

namespace kmirror::offsets {
namespace {

using testing::FakeClock;
using testing::FakeCluster;

constexpr char kTopic[] = "mm2-offset-syncs.A.internal";
const SourcePartition kP0{"orders", 0};
const SourcePartition kP1{"orders", 1};

class OffsetSyncWriterTest : public ::testing::Test {
 protected:
  OffsetSyncWriter::Options Opts() {
    OffsetSyncWriter::Options o;
    o.topic = kTopic;
    o.max_offset_lag = 100;
    o.max_interval = std::chrono::milliseconds(1000);
    return o;
  }
  std::vector<OffsetSync> Written() {
    std::vector<OffsetSync> out;
    for (const KeyValue& kv : cluster_.topics[kTopic]) {
      auto s = DecodeOffsetSync(kv.key, kv.value);
      EXPECT_TRUE(s.ok());
      if (s.ok()) out.push_back(*s);
    }
    return out;
  }
  void Ack(const SourcePartition& p, int64_t up, int64_t down) {
    writer_.OnReplicated(p, SourceOffset(up), TargetOffset(down));
  }
  FakeClock clock_;
  FakeCluster cluster_;
  prometheus::Registry registry_;
  OffsetsProbe probe_{registry_, "A->B"};
  OffsetSyncWriter writer_{cluster_, cluster_, &probe_, clock_.AsClock(), Opts()};
};

TEST_F(OffsetSyncWriterTest, FirstAckIsSyncedToACompactedTopic) {
  Ack(kP0, 10, 0);
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_TRUE(cluster_.compacted[kTopic]);
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{{"orders", 0, 10, 0}}));
}

TEST_F(OffsetSyncWriterTest, ContiguousRecordsSyncEveryMaxOffsetLag) {
  for (int64_t i = 0; i < 250; ++i) Ack(kP0, i, i);
  ASSERT_TRUE(writer_.Flush().ok());
  // Sync at 0, 100 and 200; each overwrote nothing because Flush ran once: 100 replaced 0 and
  // 200 replaced 100 in the per-partition queue.
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{{"orders", 0, 200, 200}}));
  EXPECT_EQ(writer_.dropped(), 2);
}

TEST_F(OffsetSyncWriterTest, EveryDeltaChangeIsSynced) {
  Ack(kP0, 0, 0);
  ASSERT_TRUE(writer_.Flush().ok());
  Ack(kP0, 1, 1);
  ASSERT_TRUE(writer_.Flush().ok());  // nothing due
  Ack(kP0, 5, 2);                     // source gap (compaction): delta changes
  ASSERT_TRUE(writer_.Flush().ok());
  Ack(kP0, 6, 4);  // target gap (a foreign record in between)
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{
                           {"orders", 0, 0, 0}, {"orders", 0, 5, 2}, {"orders", 0, 6, 4}}));
}

TEST_F(OffsetSyncWriterTest, LatestPositionIsSyncedAfterMaxInterval) {
  Ack(kP0, 0, 0);
  ASSERT_TRUE(writer_.Flush().ok());
  Ack(kP0, 1, 1);
  Ack(kP0, 2, 2);
  clock_.now_ms += 999;
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written().size(), 1u);
  clock_.now_ms += 1;
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written().back(), (OffsetSync{"orders", 0, 2, 2}));
  clock_.now_ms += 5000;  // no new records: nothing more
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written().size(), 2u);
}

TEST_F(OffsetSyncWriterTest, OutOfOrderOlderAckNeverRegressesTheSync) {
  Ack(kP0, 10, 10);
  ASSERT_TRUE(writer_.Flush().ok());
  Ack(kP0, 9, 9);
  clock_.now_ms += 10000;
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{{"orders", 0, 10, 10}}));
}

TEST_F(OffsetSyncWriterTest, PartitionsAreIndependent) {
  Ack(kP0, 0, 0);
  Ack(kP1, 7, 3);
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written().size(), 2u);
}

TEST_F(OffsetSyncWriterTest, FailedWritesStayPending) {
  Ack(kP0, 0, 0);
  cluster_.write_error = absl::UnavailableError("target down");
  EXPECT_FALSE(writer_.Flush().ok());
  cluster_.write_error = absl::OkStatus();
  ASSERT_TRUE(writer_.Flush().ok());
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{{"orders", 0, 0, 0}}));
}

TEST_F(OffsetSyncWriterTest, PendingQueueIsBounded) {
  auto o = Opts();
  o.max_pending_partitions = 1;
  OffsetSyncWriter bounded(cluster_, cluster_, nullptr, clock_.AsClock(), o);
  bounded.OnReplicated(kP0, SourceOffset(0), TargetOffset(0));
  bounded.OnReplicated(kP1, SourceOffset(0), TargetOffset(0));  // no room: dropped, retried later
  EXPECT_EQ(bounded.dropped(), 1);
  ASSERT_TRUE(bounded.Flush().ok());
  EXPECT_EQ(Written().size(), 1u);
  clock_.now_ms += 1000;
  ASSERT_TRUE(bounded.Flush().ok());
  EXPECT_EQ(Written().size(), 2u);
}

TEST_F(OffsetSyncWriterTest, ReaderReturnsTheLatestSyncPerPartition) {
  Ack(kP0, 0, 0);
  Ack(kP1, 3, 3);
  ASSERT_TRUE(writer_.Flush().ok());
  Ack(kP0, 5, 1);
  ASSERT_TRUE(writer_.Flush().ok());
  cluster_.topics[kTopic].push_back({"garbage", "x"});  // ignored
  auto latest = ReadLatestOffsetSyncs(cluster_, kTopic);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ(latest->at(kP0), (OffsetSync{"orders", 0, 5, 1}));
  EXPECT_EQ(latest->at(kP1), (OffsetSync{"orders", 1, 3, 3}));
}

TEST_F(OffsetSyncWriterTest, StartAndStopFlushOnTheirOwnThread) {
  writer_.Start();
  Ack(kP0, 0, 0);
  writer_.Stop();
  writer_.Stop();  // idempotent
  EXPECT_EQ(Written(), (std::vector<OffsetSync>{{"orders", 0, 0, 0}}));
}

TEST_F(OffsetSyncWriterTest, ConcurrentAcksWhileTheWriterThreadFlushes) {
  writer_.Start();
  std::vector<std::thread> workers;
  for (int32_t p = 0; p < 4; ++p) {
    workers.emplace_back([this, p] {
      for (int64_t i = 0; i < 5000; ++i) Ack({"orders", p}, i, i + p);
    });
  }
  for (auto& w : workers) w.join();
  writer_.Stop();  // writes every partition's latest position
  auto latest = ReadLatestOffsetSyncs(cluster_, kTopic);
  ASSERT_TRUE(latest.ok());
  ASSERT_EQ(latest->size(), 4u);
  for (int32_t p = 0; p < 4; ++p) {
    EXPECT_EQ(latest->at({"orders", p}), (OffsetSync{"orders", p, 4999, 4999 + p}));
  }
}

}  // namespace
}  // namespace kmirror::offsets
