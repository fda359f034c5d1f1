#include "lib/policy/topic_selector.h"

#include "gtest/gtest.h"

namespace kmirror::policy {
namespace {

TopicSelector Prefix(std::string source, std::string target,
                     NameFilter filter = NameFilter::DefaultTopics()) {
  return TopicSelector(std::make_shared<PrefixPolicy>(), std::move(filter), std::move(source),
                       std::move(target));
}

TEST(TopicSelectorTest, ReplicatesOrdinaryTopicsUnderPrefixedNames) {
  TopicSelector selector = Prefix("A", "B");
  EXPECT_TRUE(selector.ShouldReplicate("orders"));
  EXPECT_EQ(selector.RemoteTopic("orders"), "A.orders");
}

TEST(TopicSelectorTest, NeverReplicatesInternalTopicsEvenIfTheFilterSaysSo) {
  TopicSelector selector = Prefix("A", "B", *NameFilter::Create({".*"}, {}));
  EXPECT_FALSE(selector.ShouldReplicate("__consumer_offsets"));
  EXPECT_FALSE(selector.ShouldReplicate("C.checkpoints.internal"));
  EXPECT_FALSE(selector.ShouldReplicate("mm2-offset-syncs.B.internal"));
  EXPECT_FALSE(selector.ShouldReplicate("connect-status-internal"));
}

TEST(TopicSelectorTest, HeartbeatsAreReplicatedWhateverTheFilter) {
  TopicSelector selector = Prefix("A", "B", *NameFilter::Create({"orders"}, {}));
  EXPECT_TRUE(selector.ShouldReplicate("heartbeats"));
  EXPECT_EQ(selector.RemoteTopic("heartbeats"), "A.heartbeats");
  EXPECT_TRUE(selector.ShouldReplicate("C.heartbeats"));
  EXPECT_FALSE(selector.ShouldReplicate("payments"));
}

TEST(TopicSelectorTest, CycleBackToTargetIsNotReplicated) {
  // Active-active: B->A copied "orders" to A as "B.orders"; A->B must not copy it back.
  TopicSelector a_to_b = Prefix("A", "B");
  EXPECT_TRUE(a_to_b.IsCycle("B.orders"));
  EXPECT_FALSE(a_to_b.ShouldReplicate("B.orders"));
  EXPECT_FALSE(a_to_b.ShouldReplicate("B.heartbeats"));
  EXPECT_TRUE(a_to_b.ShouldReplicate("orders"));
  // And the other way round.
  TopicSelector b_to_a = Prefix("B", "A");
  EXPECT_TRUE(b_to_a.IsCycle("A.orders"));
  EXPECT_FALSE(b_to_a.ShouldReplicate("A.orders"));
  EXPECT_TRUE(b_to_a.ShouldReplicate("orders"));
}

TEST(TopicSelectorTest, MultiHopCycles) {
  // On cluster C, "A.B.orders" went B -> A -> C; a C->B flow must not copy it back to B.
  TopicSelector c_to_b = Prefix("C", "B");
  EXPECT_TRUE(c_to_b.IsCycle("A.B.orders"));
  EXPECT_FALSE(c_to_b.ShouldReplicate("A.B.orders"));
  EXPECT_FALSE(c_to_b.ShouldReplicate("D.A.B.orders"));
  // ... but a topic that never visited B is fine.
  EXPECT_FALSE(c_to_b.IsCycle("A.D.orders"));
  EXPECT_TRUE(c_to_b.ShouldReplicate("A.D.orders"));
  EXPECT_EQ(c_to_b.RemoteTopic("A.D.orders"), "C.A.D.orders");
}

TEST(TopicSelectorTest, IdentityNamingCannotSeeCyclesInNamesExceptHeartbeats) {
  TopicSelector a_to_b(std::make_shared<IdentityPolicy>("A"), NameFilter::DefaultTopics(), "A",
                       "B");
  EXPECT_TRUE(a_to_b.ShouldReplicate("orders"));
  EXPECT_EQ(a_to_b.RemoteTopic("orders"), "orders");
  // Data loops under identity naming are stopped by record provenance, not by names.
  EXPECT_FALSE(a_to_b.IsCycle("orders"));
  // Heartbeats keep prefixed names, so their loops are still caught.
  EXPECT_TRUE(a_to_b.ShouldReplicate("heartbeats"));
  EXPECT_EQ(a_to_b.RemoteTopic("heartbeats"), "A.heartbeats");
  EXPECT_FALSE(a_to_b.ShouldReplicate("B.heartbeats"));
  EXPECT_TRUE(a_to_b.ShouldReplicate("C.heartbeats"));
}

TEST(TopicSelectorTest, FilterAppliesToSourceNames) {
  TopicSelector selector = Prefix("A", "B", *NameFilter::Create({"orders.*", "payments"}, {}));
  EXPECT_TRUE(selector.ShouldReplicate("orders.eu"));
  EXPECT_TRUE(selector.ShouldReplicate("payments"));
  EXPECT_FALSE(selector.ShouldReplicate("payments2"));
  EXPECT_FALSE(selector.ShouldReplicate("audit"));
}

}  // namespace
}  // namespace kmirror::policy
