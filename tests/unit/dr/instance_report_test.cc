#include "lib/dr/instance_report.h"

#include "gtest/gtest.h"

namespace kmirror::dr {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

InstanceReport Sample() {
  InstanceReport r;
  r.instance = "one";
  r.sequence = 42;
  r.at_ms = 1000;
  UnitReport u;
  u.flow = "A->B";
  u.partitions = 3;
  u.lag_records = 7;
  u.lag_seconds = 1.5;
  u.drained = false;
  u.positions.push_back({{"orders", 2}, {"A.orders", 2}, 10, 17, 1.5});
  r.replication = u;
  return r;
}

TEST(InstanceReportTest, RoundTripsThroughJsonWithNamedFields) {
  const InstanceReport r = Sample();
  json j = ToJson(r);
  EXPECT_EQ(j["version"], InstanceReport::kVersion);
  // Positions keep the array layout earlier releases read.
  EXPECT_EQ(j["replication"]["positions"][0][2], "A.orders");
  auto back = InstanceReportFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, r);
  EXPECT_FALSE(ToJson(r, /*with_positions=*/false)["replication"].contains("positions"));
}

TEST(InstanceReportTest, ReadsTheVersionOneFormatOfEarlierInstances) {
  json v1 = {
      {"instance", "old"},
      {"at_ms", 5000},
      {"replication",
       {{"flow", "A->B"},
        {"partitions", 1},
        {"lag_records", 0},
        {"lag_seconds", 0.0},
        {"drained", true},
        {"positions", json::array({json::array({"orders", 0, "A.orders", 0, 20, 20, 0.0})})}}}};
  auto r = InstanceReportFromJson(v1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->sequence, 5000);
  ASSERT_EQ(r->replication->positions.size(), 1u);
  EXPECT_EQ(r->replication->positions[0].position, 20);
}

TEST(InstanceReportTest, ABadReportNamesTheField) {
  json j = ToJson(Sample());
  j["replication"]["positions"][0] = {{"topic", "orders"}, {"partition", 0}};
  EXPECT_EQ(InstanceReportFromJson(j).status().message(),
            "report.replication.positions[0].remote_topic is missing");
  j = ToJson(Sample());
  j["sequence"] = "x";
  EXPECT_EQ(InstanceReportFromJson(j).status().message(), "report.sequence has the wrong type");
  j["version"] = 0;
  EXPECT_NE(InstanceReportFromJson(j).status().message().find("version 0"), std::string::npos);
  // A newer version is read for the fields this one knows.
  j = ToJson(Sample());
  j["version"] = 99;
  j["something_new"] = true;
  ASSERT_TRUE(InstanceReportFromJson(j).ok());
  EXPECT_EQ(InstanceReportFromJson(j)->replication->positions.size(), 1u);
}

TEST(InstanceReportTest, LivenessIsTheLocalTimeSinceTheSequenceLastMoved) {
  PeerTracker tracker(15s);
  const Clock::TimePoint t0{std::chrono::hours(1)};
  InstanceReport r = Sample();
  r.at_ms = 0;  // a wall clock far behind ours changes nothing
  auto seen = tracker.Observe({r}, t0);
  EXPECT_EQ(seen[0].state, PeerState::kActive);  // first seen: active until proven otherwise
  seen = tracker.Observe({r}, t0 + 14s);
  EXPECT_EQ(seen[0].state, PeerState::kActive);
  seen = tracker.Observe({r}, t0 + 16s);
  EXPECT_EQ(seen[0].state, PeerState::kStale);
  EXPECT_DOUBLE_EQ(seen[0].age_seconds, 16);
  ++r.sequence;
  seen = tracker.Observe({r}, t0 + 17s);
  EXPECT_EQ(seen[0].state, PeerState::kActive);
  EXPECT_EQ(tracker.Sequence("one"), r.sequence);
  r.stopped = true;
  ++r.sequence;
  EXPECT_EQ(tracker.Observe({r}, t0 + 18s)[0].state, PeerState::kStopped);
}

}  // namespace
}  // namespace kmirror::dr
