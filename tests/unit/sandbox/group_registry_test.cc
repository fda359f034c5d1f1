#include "lib/sandbox/group_registry.h"

#include "gtest/gtest.h"

namespace kmirror::sandbox {
namespace {

TEST(GroupRegistryTest, JoinSyncLeaveLifecycle) {
  GroupRegistry reg;
  SteadyTime t0{};
  JoinRequestInfo join{"g",          "consumer", {{"range", "meta"}}, std::nullopt, "client-1",
                       "/127.0.0.1", 10000};
  reg.OnJoinRequest(join, t0);
  EXPECT_EQ(reg.Find("g")->state, "PreparingRebalance");
  reg.OnJoinResponse(join, 2, 0, 1, "range", "m-1", t0);
  EXPECT_EQ(reg.Find("g")->state, "CompletingRebalance");
  reg.OnSyncResponse("g", "m-1", 2, 0, "assignment", t0);
  const Group* g = reg.Find("g");
  EXPECT_EQ(g->state, "Stable");
  EXPECT_EQ(g->protocol_name, "range");
  ASSERT_EQ(g->members.size(), 1u);
  EXPECT_EQ(g->members.at("m-1").metadata, "meta");
  EXPECT_EQ(g->members.at("m-1").assignment, "assignment");
  EXPECT_EQ(reg.GroupsCoordinatedBy(2).size(), 1u);
  EXPECT_TRUE(reg.GroupsCoordinatedBy(1).empty());
  reg.OnLeave("g", "m-1");
  EXPECT_EQ(reg.Find("g")->state, "Empty");
  EXPECT_TRUE(reg.Find("g")->members.empty());
}

TEST(GroupRegistryTest, SessionExpiryEmptiesGroup) {
  GroupRegistry reg;
  SteadyTime t0{};
  JoinRequestInfo join{"g", "consumer", {{"range", ""}}, std::nullopt, "c", "/h", 6000};
  reg.OnJoinResponse(join, 1, 0, 1, "range", "m", t0);
  reg.OnSyncResponse("g", "m", 1, 0, "", t0);
  reg.Expire(t0 + std::chrono::milliseconds(5000));
  EXPECT_EQ(reg.Find("g")->state, "Stable");
  reg.Expire(t0 + std::chrono::milliseconds(7000));
  EXPECT_EQ(reg.Find("g")->state, "Empty");
}

TEST(GroupRegistryTest, OffsetOnlyGroupIsEmptyWithNoProtocol) {
  GroupRegistry reg;
  reg.OnOffsetCommit("simple", "", 3, SteadyTime{});
  const Group* g = reg.Find("simple");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state, "Empty");
  EXPECT_EQ(g->protocol_type, "");
  EXPECT_EQ(g->coordinator, 3);
}

TEST(GroupRegistryTest, FailedJoinRecordsNoMember) {
  GroupRegistry reg;
  JoinRequestInfo join{"g", "consumer", {}, std::nullopt, "c", "/h", 6000};
  reg.OnJoinResponse(join, 1, 25, 0, "", "", SteadyTime{});
  EXPECT_EQ(reg.Find("g"), nullptr);
}

TEST(GroupRegistryTest, CommittedOffsetsAreKeptPerGroupAndPartition) {
  GroupRegistry reg;
  reg.CommitOffset("g", "t", 1, CommittedOffset{5, 2, "meta"});
  reg.CommitOffset("g", "t", 1, CommittedOffset{6, -1, ""});
  reg.CommitOffset("g", "u", 0, CommittedOffset{1, -1, ""});
  const Group* g = reg.Find("g");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->offsets.size(), 2u);
  EXPECT_EQ(g->offsets.at({"t", 1}), (CommittedOffset{6, -1, ""}));
  // Offsets alone do not give the group a coordinator: OnOffsetCommit does.
  EXPECT_EQ(g->coordinator, -1);
  EXPECT_TRUE(reg.GroupsCoordinatedBy(1).empty());
}

}  // namespace
}  // namespace kmirror::sandbox
