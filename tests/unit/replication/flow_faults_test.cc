// The flow under target faults: refused records, send errors, a broken producer, partitions that
// do not answer, and the operator's skip. Each test checks the target record by record.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "gtest/gtest.h"
#include "tests/unit/replication/flow_fixture.h"

namespace kmirror::replication {
namespace {

TEST_F(FlowTest, ARefusedRecordStopsItsPartitionThereAndNothingBehindItLands) {
  for (int i = 0; i < 3; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 5; ++i) source_.Append(kP1, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow, 3);
  ASSERT_EQ(Offsets(kT0), Range(0, 3));
  // In one turn: orders:0 offsets 3..9 then orders:1 offsets 5..9 are sent, and the target
  // refuses orders:0 offset 3. Everything queued behind it fails (the producer turns fatal).
  for (int i = 3; i < 10; ++i) source_.Append(kP0, Rec(i));
  for (int i = 5; i < 10; ++i) source_.Append(kP1, Rec(i));
  sink_.fail_next = absl::InvalidArgumentError("MSG_SIZE_TOO_LARGE");
  Run(*flow, 20);
  EXPECT_EQ(Offsets(kT0), Range(0, 3));
  EXPECT_EQ(Offsets(kT1), Range(0, 10)) << "the other partition resumes exactly from its tail";
  EXPECT_EQ(sink_.resets, 1);
  auto st = Settled(*flow);
  const PartitionStatus* p0 = StatusOf(st, kP0);
  ASSERT_NE(p0, nullptr);
  EXPECT_TRUE(p0->stopped);
  EXPECT_EQ(p0->stop_offset, 3);
  EXPECT_EQ(p0->position, 3);
  EXPECT_EQ(p0->lag_records, 7);
  EXPECT_NE(p0->stop_reason.find("MSG_SIZE_TOO_LARGE"), std::string::npos);
}

TEST_F(FlowTest, RefusalMidStreamKeepsTheTargetAPrefixAndARestartStopsAtTheSameRecord) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 10; ++i) source_.Append(kP1, Rec(i));
  {
    auto flow = NewFlow(Options());
    source_.to_assign = {kP0, kP1};
    Run(*flow, 3);
    ASSERT_EQ(Offsets(kT0), Range(0, 10));
    sink_.refuse.insert(kT0);  // every record of A.orders:0 from now on
    for (int i = 10; i < 20; ++i) source_.Append(kP0, Rec(i));
    for (int i = 10; i < 20; ++i) source_.Append(kP1, Rec(i));
    Run(*flow, 20);
    EXPECT_EQ(Offsets(kT0), Range(0, 10));
    EXPECT_EQ(Offsets(kT1), Range(0, 20));
    EXPECT_EQ(StatusOf(Settled(*flow), kP0)->stop_offset, 10);
    EXPECT_GE(sink_.resets, 1);
  }
  // Another instance (or a restart) reads the same tail and stops at the same record: it never
  // resumes past it.
  (void)sink_.Reset();  // the next process has its own producer and consumer
  source_.positions.clear();
  source_.paused.clear();
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow, 20);
  EXPECT_EQ(Offsets(kT0), Range(0, 10));
  EXPECT_EQ(StatusOf(Settled(*flow), kP0)->stop_offset, 10);
  EXPECT_EQ(Offsets(kT1), Range(0, 20)) << "nothing copied twice after the restart";
}

TEST_F(FlowTest, SkipResumesAStoppedPartitionAfterTheSkippedOffset) {
  for (int i = 0; i < 3; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  ASSERT_EQ(Offsets(kT0), Range(0, 3));
  sink_.refuse.insert(kT0);
  for (int i = 3; i < 10; ++i) source_.Append(kP0, Rec(i));
  Run(*flow, 10);
  ASSERT_EQ(StatusOf(Settled(*flow), kP0)->stop_offset, 3);
  sink_.refuse.clear();
  // A skip of another offset does nothing.
  flow->SetSkips({{kP0, 5}});
  Run(*flow, 10);
  EXPECT_TRUE(StatusOf(Settled(*flow), kP0)->stopped);
  EXPECT_EQ(Offsets(kT0), Range(0, 3));
  flow->SetSkips({{kP0, 3}});
  now_ += 3000;
  Run(*flow, 10);
  std::vector<int64_t> want = Range(0, 3);
  for (int64_t i = 4; i < 10; ++i) want.push_back(i);
  EXPECT_EQ(Offsets(kT0), want);
  auto p0 = *StatusOf(Settled(*flow), kP0);
  EXPECT_FALSE(p0.stopped);
  EXPECT_EQ(p0.lost, 1);
  EXPECT_EQ(p0.position, 10);
}

TEST_F(FlowTest, ARecordTheProducerCannotSendStopsThePartitionAtIt) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 5; ++i) source_.Append(kP1, Rec(i));
  sink_.send_errors[kT0] = absl::InvalidArgumentError("record larger than message.max.bytes");
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow, 10);
  const size_t sends = sink_.sends;
  Run(*flow, 200);
  EXPECT_EQ(sink_.sends, sends) << "a stopped partition sends nothing more";
  EXPECT_TRUE(Offsets(kT0).empty());
  EXPECT_EQ(Offsets(kT1), Range(0, 5));
  EXPECT_EQ(StatusOf(Settled(*flow), kP0)->stop_offset, 0);
}

TEST_F(FlowTest, AnUnknownTargetPartitionIsRetriedWithBackoffAndDelaysOnlyItself) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  sink_.send_errors[kT1] = absl::NotFoundError("unknown partition");
  for (int i = 0; i < 5; ++i) source_.Append(kP1, Rec(i));
  // 60 s of turns, 10 ms each: attempts back off to one per 10 s.
  for (int i = 0; i < 6000; ++i) {
    now_ += 10;
    flow->RunOnce(std::chrono::milliseconds(0));
  }
  EXPECT_LT(sink_.sends, 5u + 20u) << "retries are bounded";
  EXPECT_EQ(Offsets(kT0), Range(0, 5));
  EXPECT_FALSE(StatusOf(Settled(*flow), kP1)->stopped);
  sink_.send_errors.clear();  // the metadata refresh found the partition
  now_ += 10000;
  Run(*flow, 10);
  EXPECT_EQ(Offsets(kT1), Range(0, 5));
}

TEST_F(FlowTest, ABrokenProducerIsRebuiltAndEveryPartitionResumesExactly) {
  for (int i = 0; i < 20; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 20; ++i) source_.Append(kP1, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow, 3);
  ASSERT_EQ(Offsets(kT0).size(), 20u);
  for (int i = 20; i < 40; ++i) source_.Append(kP0, Rec(i));
  for (int i = 20; i < 40; ++i) source_.Append(kP1, Rec(i));
  sink_.hold_acks = true;
  flow->RunOnce(std::chrono::milliseconds(0));  // sent, not acknowledged
  sink_.BreakNow();                             // fenced: nothing queued will be written
  sink_.hold_acks = false;
  Run(*flow, 20);
  EXPECT_EQ(sink_.resets, 1);
  EXPECT_EQ(Offsets(kT0), Range(0, 40));
  EXPECT_EQ(Offsets(kT1), Range(0, 40));
  for (const auto& p : Settled(*flow).partitions) EXPECT_FALSE(p.stopped);
}

TEST_F(FlowTest, APartitionWhoseTargetDoesNotAnswerHoldsOnlyItsShareOfTheBudget) {
  auto o = Options();
  o.max_in_flight_bytes = 400;  // records are ~14 bytes: about 28 in flight in all
  for (int i = 0; i < 300; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 300; ++i) source_.Append(kP1, Rec(i));
  sink_.stalled.insert(kT1);
  auto flow = NewFlow(o);
  source_.to_assign = {kP0, kP1};
  Run(*flow, 200);
  EXPECT_EQ(Offsets(kT0), Range(0, 300)) << "the healthy partition copies everything";
  EXPECT_TRUE(Offsets(kT1).empty());
  EXPECT_LE(sink_.QueuedFor(kT1) * 14, 400u / 2 + 14);
  sink_.stalled.clear();
  Run(*flow, 200);
  EXPECT_EQ(Offsets(kT1), Range(0, 300));
}

TEST_F(FlowTest, AnUnreadableTargetPartitionDelaysOnlyItsOwnStart) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  for (int i = 0; i < 5; ++i) source_.Append(kP1, Rec(i));
  tail_.unreadable.insert(kT1);
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow, 10);
  EXPECT_EQ(Offsets(kT0), Range(0, 5));
  EXPECT_TRUE(Offsets(kT1).empty());
  EXPECT_FALSE(StatusOf(Settled(*flow), kP1)->resolved);
  tail_.unreadable.clear();
  now_ += 3000;
  Run(*flow, 10);
  EXPECT_EQ(Offsets(kT1), Range(0, 5));
}

TEST_F(FlowTest, BackgroundResolutionNeverBlocksTheWorker) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> reads{0};
  tail_.on_read = [&] {
    reads++;
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return release; });
  };
  auto o = Options();
  o.resolve_in_background = true;
  auto flow = NewFlow(o);
  source_.to_assign = {kP0};
  Run(*flow, 50);  // returns although the tail read hangs
  EXPECT_TRUE(Offsets(kT0).empty());
  EXPECT_FALSE(StatusOf(Settled(*flow), kP0)->resolved);
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
  }
  cv.notify_all();
  for (int i = 0; i < 2000 && Offsets(kT0).size() < 5; ++i) {
    Run(*flow, 1);
    std::this_thread::yield();
  }
  EXPECT_EQ(Offsets(kT0), Range(0, 5));
  EXPECT_GE(reads.load(), 1);
}

TEST_F(FlowTest, StartFromLatestNeverReseeksPastRecordsAfterItsStart) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto o = Options();
  o.start_from = StartFrom::kLatest;
  auto flow = NewFlow(o);
  source_.to_assign = {kP0};
  Run(*flow, 3);
  // New records arrive while the producer queue is full: they are dropped and fetched again,
  // from where the partition started, not from a newer end.
  sink_.queue_limit = 0;
  for (int i = 5; i < 15; ++i) source_.Append(kP0, Rec(i));
  Run(*flow, 3);
  for (int i = 15; i < 20; ++i) source_.Append(kP0, Rec(i));
  sink_.queue_limit = 1000000;
  Run(*flow, 10);
  EXPECT_EQ(Offsets(kT0), Range(5, 20));
}

TEST_F(FlowTest, ARecreatedSourceCountsWhatCanNoLongerBeCopiedAsLost) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  ASSERT_EQ(Offsets(kT0), Range(0, 10));
  // The topic is recreated with 4 records at offsets 0..3, below the 10 already replicated:
  // they can never be copied in order behind what the target holds.
  source_.logs[kP0].clear();
  for (int i = 0; i < 4; ++i) source_.Append(kP0, Rec(100 + i));
  Run(*flow, 5);
  source_.Append(kP0, Rec(104));
  source_.Append(kP0, Rec(105));
  Run(*flow, 5);
  std::vector<int64_t> want = Range(0, 10);
  want.push_back(4);
  want.push_back(5);
  EXPECT_EQ(Offsets(kT0), want);
  EXPECT_EQ(StatusOf(Settled(*flow), kP0)->lost, 4);
}

}  // namespace
}  // namespace kmirror::replication
