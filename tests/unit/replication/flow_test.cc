#include "lib/replication/flow.h"

#include <prometheus/registry.h>

#include <algorithm>

#include "gtest/gtest.h"
#include "lib/replication/probe.h"
#include "tests/unit/replication/flow_fixture.h"

namespace kmirror::replication {
namespace {

TEST_F(FlowTest, CopiesEveryFieldInOrderWithProvenance) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  StoredRecord null_value;
  null_value.key = "nk";
  source_.Append(kP0, null_value);
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow);
  const auto& log = sink_.logs[kT0];
  ASSERT_EQ(log.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(log[i].key, "k" + std::to_string(i));
    EXPECT_EQ(log[i].value, "v" + std::to_string(i));
    EXPECT_EQ(log[i].timestamp_ms, 1000 + i);
    ASSERT_EQ(log[i].headers.size(), 2u);
    EXPECT_EQ(log[i].headers[0], (std::pair<std::string, std::optional<std::string>>{"h", "x"}));
    auto prov = ProvenanceOf(log[i]);
    ASSERT_TRUE(prov);
    EXPECT_EQ(*prov, (Provenance{"A", "A", SourceOffset(i)}));
  }
  EXPECT_EQ(log[5].value, std::nullopt);
  auto status = flow->Status();
  ASSERT_EQ(status.partitions.size(), 1u);
  EXPECT_EQ(status.partitions[0].position, 6);
  EXPECT_EQ(status.partitions[0].lag_records, 0);
}

TEST_F(FlowTest, ProvenanceOffCopiesHeadersUnchanged) {
  source_.Append(kP0, Rec(0));
  auto o = Options();
  o.provenance = false;
  auto flow = NewFlow(o);
  source_.to_assign = {kP0};
  Run(*flow);
  ASSERT_EQ(sink_.logs[kT0].size(), 1u);
  EXPECT_EQ(sink_.logs[kT0][0].headers.size(), 1u);
}

TEST_F(FlowTest, RestartResumesAfterLastReplicatedOffsetWithoutDuplicates) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  {
    auto flow = NewFlow(Options());
    source_.to_assign = {kP0};
    Run(*flow);
  }
  ASSERT_EQ(sink_.logs[kT0].size(), 10u);
  for (int i = 10; i < 15; ++i) source_.Append(kP0, Rec(i));
  source_.positions.clear();
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow);
  const auto& log = sink_.logs[kT0];
  ASSERT_EQ(log.size(), 15u);
  for (int i = 0; i < 15; ++i) EXPECT_EQ(ProvenanceOf(log[i])->offset, SourceOffset(i));
}

TEST_F(FlowTest, UnackedRecordsAreSentAgainAfterACrash) {
  for (int i = 0; i < 4; ++i) source_.Append(kP0, Rec(i));
  {
    auto flow = NewFlow(Options());
    sink_.hold_acks = true;
    source_.to_assign = {kP0};
    Run(*flow);
    EXPECT_TRUE(sink_.logs[kT0].empty());
  }  // "crash": in-flight records never reached the target
  sink_.hold_acks = false;
  (void)sink_.Reset();  // a new producer: the old one's queue is gone
  source_.positions.clear();
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow);
  EXPECT_EQ(sink_.logs[kT0].size(), 4u);
}

TEST_F(FlowTest, InFlightBoundPausesFetchingAndLosesNothing) {
  StoredRecord big;
  big.value = std::string(100 * 1024, 'x');
  for (int i = 0; i < 40; ++i) source_.Append(kP0, big);  // 4 MB against a 1 MB bound
  auto flow = NewFlow(Options());
  sink_.hold_acks = true;
  source_.to_assign = {kP0};
  Run(*flow, 3);
  EXPECT_TRUE(source_.paused.count(kP0));
  EXPECT_LE(flow->Status().in_flight_bytes, (1u << 20) + 200 * 1024);
  sink_.hold_acks = false;
  Run(*flow, 40);
  EXPECT_EQ(sink_.logs[kT0].size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(ProvenanceOf(sink_.logs[kT0][i])->offset, SourceOffset(i));
  EXPECT_FALSE(source_.paused.count(kP0));
}

// An operator pause stops fetching on every partition, keeps reporting the growing lag in
// records and seconds, and a resume copies everything that waited.
TEST_F(FlowTest, PauseStopsFetchingAndTheLagKeepsBeingReported) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  ASSERT_EQ(sink_.logs[kT0].size(), 5u);
  flow->SetPaused(true);
  Run(*flow, 2);
  EXPECT_TRUE(source_.paused.count(kP0));
  for (int i = 5; i < 15; ++i) source_.Append(kP0, Rec(i));
  Run(*flow, 300);  // 3 s of the fake clock: housekeeping runs, nothing is fetched
  auto st = flow->Status();
  EXPECT_TRUE(st.paused);
  EXPECT_EQ(sink_.logs[kT0].size(), 5u);
  ASSERT_EQ(st.partitions.size(), 1u);
  EXPECT_EQ(st.partitions[0].lag_records, 10);
  EXPECT_GT(st.partitions[0].lag_seconds, 1.0);
  flow->SetPaused(false);
  Run(*flow, 20);
  EXPECT_EQ(sink_.logs[kT0].size(), 15u);
  EXPECT_FALSE(flow->Status().paused);
}

TEST_F(FlowTest, FullProducerQueueRewindsWithoutGaps) {
  for (int i = 0; i < 20; ++i) source_.Append(kP0, Rec(i));
  sink_.queue_limit = 3;
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 30);
  ASSERT_EQ(sink_.logs[kT0].size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(ProvenanceOf(sink_.logs[kT0][i])->offset, SourceOffset(i));
}

TEST_F(FlowTest, RetentionLossIsCountedExactlyThenContinues) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  source_.log_start[kP0] = 7;  // offsets 0..6 expired before the flow ever ran
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  // A flow that had replicated up to offset 3 on an earlier run:
  sink_.logs[kT0].push_back(Rec(0));
  sink_.logs[kT0][0].headers.push_back(
      {std::string(kProvenanceHeader), EncodeProvenance({"A", "A", SourceOffset(2)})});
  Run(*flow, 5);
  auto st = flow->Status();
  ASSERT_EQ(st.partitions.size(), 1u);
  EXPECT_EQ(st.partitions[0].lost, 4);  // offsets 3, 4, 5, 6
  ASSERT_EQ(sink_.logs[kT0].size(), 4u);
  EXPECT_EQ(ProvenanceOf(sink_.logs[kT0][1])->offset, SourceOffset(7));
}

TEST_F(FlowTest, ReportsEveryAcknowledgedPairAndAMonotonicPosition) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  source_.log_start[kP0] = 3;  // 0..2 expired: the position jumps over them, never back
  auto o = Options();
  std::vector<std::pair<int64_t, int64_t>> pairs;
  std::vector<int64_t> positions;
  o.on_replicated = [&](const SourcePartition& p, SourceOffset s, TargetOffset t) {
    EXPECT_EQ(p, kP0);
    pairs.emplace_back(s.value, t.value);
  };
  o.on_position = [&](const SourcePartition& p, SourceOffset next) {
    EXPECT_EQ(p, kP0);
    positions.push_back(next.value);
  };
  auto flow = NewFlow(o);
  sink_.logs[kT0].push_back(Rec(99));  // a foreign record already at target offset 0
  source_.to_assign = {kP0};
  Run(*flow, 10);
  ASSERT_EQ(pairs.size(), 7u);
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ(pairs[i], (std::pair<int64_t, int64_t>{3 + i, 1 + i}));
  }
  ASSERT_FALSE(positions.empty());
  EXPECT_TRUE(std::is_sorted(positions.begin(), positions.end()));
  EXPECT_EQ(positions.back(), 10);
}

TEST_F(FlowTest, RetentionLossWithStopPolicyStopsThePartition) {
  for (int i = 0; i < 10; ++i) source_.Append(kP0, Rec(i));
  source_.log_start[kP0] = 5;
  auto o = Options();
  o.on_retention_loss = OnRetentionLoss::kStop;
  o.start_from = StartFrom::kEarliest;
  auto flow = NewFlow(o);
  source_.to_assign = {kP0};
  // Earlier run replicated offsets 0..1.
  StoredRecord r = Rec(1);
  r.headers.push_back(
      {std::string(kProvenanceHeader), EncodeProvenance({"A", "A", SourceOffset(1)})});
  sink_.logs[kT0].push_back(r);
  Run(*flow, 5);
  auto st = flow->Status();
  EXPECT_TRUE(st.partitions[0].stopped);
  EXPECT_EQ(st.partitions[0].lost, 3);
  EXPECT_EQ(sink_.logs[kT0].size(), 1u);
  EXPECT_TRUE(source_.paused.count(kP0));
}

TEST_F(FlowTest, RecordsThatOriginatedOnTheTargetAreNotSentBack) {
  StoredRecord from_b = Rec(0);
  from_b.headers.push_back(
      {std::string(kProvenanceHeader), EncodeProvenance({"B", "B", SourceOffset(9)})});
  source_.Append(kP0, from_b);
  source_.Append(kP0, Rec(1));
  StoredRecord from_c = Rec(2);
  from_c.headers.push_back(
      {std::string(kProvenanceHeader), EncodeProvenance({"C", "C", SourceOffset(4)})});
  source_.Append(kP0, from_c);
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow);
  const auto& log = sink_.logs[kT0];
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(*ProvenanceOf(log[0]), (Provenance{"A", "A", SourceOffset(1)}));
  // A record from C keeps its origin, and exactly one provenance header.
  EXPECT_EQ(*ProvenanceOf(log[1]), (Provenance{"C", "A", SourceOffset(2)}));
  int headers = 0;
  for (const auto& [n, v] : log[1].headers) headers += n == kProvenanceHeader;
  EXPECT_EQ(headers, 1);
  EXPECT_EQ(flow->Status().partitions[0].position, 3);
}

TEST_F(FlowTest, UnreadableTargetDelaysStartUntilTheTailIsKnown) {
  for (int i = 0; i < 3; ++i) source_.Append(kP0, Rec(i));
  StoredRecord r = Rec(0);
  r.headers.push_back(
      {std::string(kProvenanceHeader), EncodeProvenance({"A", "A", SourceOffset(0)})});
  sink_.logs[kT0].push_back(r);
  tail_.fail = true;
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  Run(*flow, 5);
  EXPECT_EQ(sink_.logs[kT0].size(), 1u);
  tail_.fail = false;
  now_ += 5000;
  Run(*flow, 5);
  ASSERT_EQ(sink_.logs[kT0].size(), 3u);
  EXPECT_EQ(ProvenanceOf(sink_.logs[kT0][1])->offset, SourceOffset(1));
}

TEST_F(FlowTest, PermanentDeliveryFailureStopsOnlyThatPartition) {
  source_.Append(kP0, Rec(0));
  source_.Append(kP1, Rec(0));
  sink_.fail_next = absl::InvalidArgumentError("MSG_SIZE_TOO_LARGE");
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0, kP1};
  Run(*flow);
  auto st = flow->Status();
  ASSERT_EQ(st.partitions.size(), 2u);
  EXPECT_TRUE(st.partitions[0].stopped);
  EXPECT_NE(st.partitions[0].stop_reason.find("MSG_SIZE_TOO_LARGE"), std::string::npos);
  EXPECT_FALSE(st.partitions[1].stopped);
  EXPECT_EQ(sink_.logs[kT1].size(), 1u);
}

TEST_F(FlowTest, RevokeDeliversInFlightBeforeHandOver) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  source_.to_assign = {kP0};
  flow->RunOnce(std::chrono::milliseconds(0));  // assigned + fetched
  source_.to_revoke = {kP0};
  flow->RunOnce(std::chrono::milliseconds(0));
  EXPECT_EQ(sink_.logs[kT0].size(), 5u);
  EXPECT_TRUE(flow->Status().partitions.empty());
}

TEST_F(FlowTest, StartFromLatestSkipsHistoryOnlyWithoutProgress) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto o = Options();
  o.start_from = StartFrom::kLatest;
  auto flow = NewFlow(o);
  source_.to_assign = {kP0};
  Run(*flow);
  EXPECT_TRUE(sink_.logs[kT0].empty());
  source_.Append(kP0, Rec(5));
  Run(*flow);
  ASSERT_EQ(sink_.logs[kT0].size(), 1u);
  EXPECT_EQ(ProvenanceOf(sink_.logs[kT0][0])->offset, SourceOffset(5));
}

TEST_F(FlowTest, DrainDeliversEverythingInFlight) {
  for (int i = 0; i < 5; ++i) source_.Append(kP0, Rec(i));
  auto flow = NewFlow(Options());
  sink_.hold_acks = true;
  source_.to_assign = {kP0};
  flow->RunOnce(std::chrono::milliseconds(0));
  sink_.hold_acks = false;
  EXPECT_TRUE(flow->Drain(std::chrono::seconds(1)).ok());
  EXPECT_EQ(sink_.logs[kT0].size(), 5u);
}

TEST(ProvenanceTest, RoundTripAndRejectsGarbage) {
  Provenance p{"origin", "src", SourceOffset(1234567890123)};
  EXPECT_EQ(DecodeProvenance(EncodeProvenance(p)), p);
  EXPECT_EQ(DecodeProvenance(""), std::nullopt);
  EXPECT_EQ(DecodeProvenance("\x02"), std::nullopt);
  std::string truncated = EncodeProvenance(p);
  truncated.pop_back();
  EXPECT_EQ(DecodeProvenance(truncated), std::nullopt);
}

}  // namespace
}  // namespace kmirror::replication

namespace kmirror::replication {
namespace {

// Error, skip and loss counters exist at 0 before anything happened: dashboards show 0 and
// rate() works from the start.
TEST(FlowProbeTest, CountersAreExportedAtZeroFromTheStart) {
  prometheus::Registry registry;
  FlowProbe probe(registry, "A->B");
  probe.PartitionAssigned({"orders", 3});
  std::map<std::string, int> zeros;
  for (const auto& family : registry.Collect()) {
    for (const auto& m : family.metric) {
      if (m.counter.value == 0) ++zeros[family.name];
    }
  }
  EXPECT_EQ(zeros["kmirror_errors_total"], static_cast<int>(std::size(kErrorKinds)));
  EXPECT_EQ(zeros["kmirror_records_skipped_total"], static_cast<int>(std::size(kSkipReasons)));
  EXPECT_EQ(zeros["kmirror_records_lost_total"], 1);
  probe.RecordError("producer_fatal");
  probe.PartitionRevoked({"orders", 3});
  probe.PartitionAssigned({"orders", 3});
  for (const auto& family : registry.Collect()) {
    if (family.name != "kmirror_errors_total") continue;
    for (const auto& m : family.metric) {
      for (const auto& l : m.label) {
        if (l.name == "kind" && l.value == "producer_fatal") {
          EXPECT_EQ(m.counter.value, 1);
        }
      }
    }
  }
}

}  // namespace
}  // namespace kmirror::replication
