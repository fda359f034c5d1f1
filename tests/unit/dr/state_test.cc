// The persisted flow state: what a restarted kmirrord or another instance reads back must be
// what was written, and a damaged record must be refused with its reason, never guessed.
#include "lib/dr/state.h"

#include "gtest/gtest.h"

namespace kmirror::dr {
namespace {

FlowState Sample() {
  FlowState s;
  s.flow = "A->B";
  s.phase = Phase::kFailingBack;
  s.version = 7;
  s.changed_ms = 1795339328488;
  s.changed_by = "uid=0(root) pid=1 unix on dr-1";
  s.reason = "failback";
  s.failover_kind = "forced";
  s.failover_ms = 1795339000000;
  s.marks.push_back({"orders", 0, "A.orders", 100, 100, 130, 2.5, 1795338999000});
  s.marks.push_back({"orders", 1, "A.orders", -1, 0, -1, 0, 0});
  s.reverse_start = {{"orders:0", 12}};
  s.resume_floor = {{"orders:0", 155}};
  s.divergence = {{"records", 25}};
  s.paused_groups = {"billing"};
  return s;
}

TEST(StateTest, EveryFieldSurvivesTheJsonRoundTrip) {
  const FlowState s = Sample();
  auto back = FlowStateFromJson(nlohmann::json::parse(ToJson(s).dump()));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(StateTest, MissingRecordsAreKnownOnlyWithBothOffsets) {
  const FlowState s = Sample();
  EXPECT_EQ(s.marks[0].MissingRecords(), 30);
  EXPECT_EQ(s.marks[1].MissingRecords(), 0);  // unknown, not negative
  EXPECT_EQ(ToJson(s.marks[0])["missing_records"], 30);
}

TEST(StateTest, PhasesHaveStableNames) {
  for (Phase p : {Phase::kRunning, Phase::kPaused, Phase::kFailedOver, Phase::kFailingBack}) {
    EXPECT_EQ(ParsePhase(PhaseName(p)), p);
  }
  EXPECT_EQ(PhaseName(Phase::kFailedOver), "failed_over");
  EXPECT_FALSE(ParsePhase("failing_over").has_value());
}

TEST(StateTest, DamagedRecordsAreRefusedWithTheReason) {
  auto no_phase = FlowStateFromJson({{"flow", "A->B"}});
  ASSERT_FALSE(no_phase.ok());
  EXPECT_EQ(no_phase.status().code(), absl::StatusCode::kInvalidArgument);
  auto bad_phase = FlowStateFromJson({{"flow", "A->B"}, {"phase", "sideways"}});
  ASSERT_FALSE(bad_phase.ok());
  EXPECT_NE(bad_phase.status().message().find("sideways"), absl::string_view::npos);
  auto bad_mark =
      FlowStateFromJson({{"flow", "A->B"}, {"phase", "failed_over"}, {"marks", {{{"topic", 3}}}}});
  EXPECT_FALSE(bad_mark.ok());
}

TEST(StateTest, AuditKeysSortByTime) {
  AuditEntry early, late;
  early.at_ms = 999;
  early.instance = "b";
  late.at_ms = 1000;
  late.instance = "a";
  EXPECT_LT(AuditKey(early, 5), AuditKey(late, 1));
  EXPECT_EQ(FlowKey("A->B"), "flow/A->B");
  EXPECT_EQ(DrillKey("A->B", 42), "drill/A->B/42");
}

}  // namespace
}  // namespace kmirror::dr
