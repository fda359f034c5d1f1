// Offsets that hold no record: transaction markers, aborted records (read_committed) and records
// removed by compaction. The source delivers only records and reports where the partition ends;
// the flow copies every record exactly once, in order, and counts the rest as passed, so lag
// reaches 0 and the position (what offset translation trusts) is the source's end.
#include "tests/unit/replication/flow_fixture.h"

namespace kmirror::replication {
namespace {

// Records at `records`, nothing at the other offsets below `end`.
void Fill(FakeSource& source, const SourcePartition& p, int64_t end,
          const std::set<int64_t>& records) {
  for (int64_t i = 0; i < end; ++i) {
    source.Append(p, Rec(static_cast<int>(i)));
    if (!records.contains(i)) source.no_record[p].insert(i);
  }
}

TEST_F(FlowTest, TrailingTransactionMarkersLeaveNoLag) {
  Fill(source_, kP0, 6, {0, 1, 2, 4});  // commit markers at 3 and 5
  std::vector<int64_t> positions;
  FlowOptions o = Options();
  o.on_position = [&](const SourcePartition&, SourceOffset next) {
    positions.push_back(next.value);
  };
  auto flow = NewFlow(std::move(o));
  source_.to_assign = {kP0};
  Run(*flow, 5);
  EXPECT_EQ(Offsets(kT0), (std::vector<int64_t>{0, 1, 2, 4}));
  auto st = Settled(*flow);
  const PartitionStatus* p0 = StatusOf(st, kP0);
  ASSERT_NE(p0, nullptr);
  EXPECT_EQ(p0->position, 6);
  EXPECT_EQ(p0->lag_records, 0);
  ASSERT_FALSE(positions.empty());
  EXPECT_EQ(positions.back(), 6);
}

TEST_F(FlowTest, CompactedGapsAreCrossedAndAResumeFromTheTargetIsExact) {
  Fill(source_, kP0, 10, {0, 3, 4, 8});
  {
    auto flow = NewFlow(Options());
    source_.to_assign = {kP0};
    Run(*flow, 5);
    EXPECT_EQ(Offsets(kT0), (std::vector<int64_t>{0, 3, 4, 8}));
    EXPECT_EQ(StatusOf(Settled(*flow), kP0)->lag_records, 0);
  }
  // A new instance resumes after the newest copy (8): 9 holds nothing, then new records follow.
  for (int i = 10; i < 13; ++i) source_.Append(kP0, Rec(i));
  source_.no_record[kP0].insert(11);
  source_.positions.clear();
  source_.end_reported.clear();
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  EXPECT_EQ(Offsets(kT0), (std::vector<int64_t>{0, 3, 4, 8, 10, 12}));
  auto st = Settled(*flow);
  EXPECT_EQ(StatusOf(st, kP0)->position, 13);
  EXPECT_EQ(StatusOf(st, kP0)->lag_records, 0);
}

// A partition that holds only markers since the start (start_from = latest on an idle
// transactional topic) is caught up at its end.
TEST_F(FlowTest, APartitionOfMarkersOnlyIsCaughtUp) {
  Fill(source_, kP0, 2, {});
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  EXPECT_TRUE(Offsets(kT0).empty());
  auto st = Settled(*flow);
  EXPECT_EQ(StatusOf(st, kP0)->position, 2);
  EXPECT_EQ(StatusOf(st, kP0)->lag_records, 0);
}

// Records dropped by backpressure after the end was reported: the position passes the markers
// only once they are fetched again and copied, never before.
TEST_F(FlowTest, TheEndIsPassedOnlyAfterEveryDeliveredRecordIsCopied) {
  Fill(source_, kP0, 40, {});
  source_.no_record[kP0].clear();
  source_.no_record[kP0].insert(39);  // a trailing marker
  sink_.queue_limit = 5;              // most of each fetch is dropped and fetched again
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 60);
  EXPECT_EQ(Offsets(kT0), Range(0, 39));
  auto st = Settled(*flow);
  EXPECT_EQ(StatusOf(st, kP0)->position, 40);
  EXPECT_EQ(StatusOf(st, kP0)->lag_records, 0);
}

// While its tail is unknown, a partition is fetched from a placeholder (the log end) and what
// comes is dropped. The end reported from there covers nothing below it: once the tail is read,
// every record after it is copied, none is passed as if it held no record.
TEST_F(FlowTest, AnEndReportedBeforeTheStartIsKnownPassesNothing) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  {
    auto flow = NewFlow(Options());
    source_.to_assign = {kP0};
    Run(*flow, 5);
    ASSERT_EQ(Offsets(kT0), Range(0, 5));
  }
  for (int i = 5; i < 20; ++i) source_.Append(kP0, Rec(i));
  source_.positions.clear();
  source_.end_reported.clear();
  tail_.unreadable.insert(kT0);  // the restarted flow cannot read its tail yet
  FlowOptions o = Options();
  o.poll_batch = 3;  // the copy takes several polls after the end was reported
  auto flow = NewFlow(std::move(o));
  source_.to_assign = {kP0};
  Run(*flow, 5);  // the consumer sits at the end (20) and reports it
  EXPECT_EQ(source_.end_reported[kP0], 20);
  tail_.unreadable.clear();
  now_ += 60'000;  // the next tail read
  Run(*flow, 10);
  EXPECT_EQ(Offsets(kT0), Range(0, 20));
  EXPECT_EQ(StatusOf(Settled(*flow), kP0)->position, 20);
}

}  // namespace
}  // namespace kmirror::replication
