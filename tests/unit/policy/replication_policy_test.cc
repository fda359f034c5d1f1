#include "lib/policy/replication_policy.h"

#include "gtest/gtest.h"

namespace kmirror::policy {
namespace {

TEST(PrefixPolicyTest, FormatsRemoteTopicWithSourceAliasAndSeparator) {
  PrefixPolicy policy;
  EXPECT_EQ(policy.FormatRemoteTopic("A", "orders"), "A.orders");
  EXPECT_EQ(policy.FormatRemoteTopic("B", "A.orders"), "B.A.orders");
  EXPECT_EQ(PrefixPolicy("__").FormatRemoteTopic("A", "orders"), "A__orders");
}

TEST(PrefixPolicyTest, TopicSourceIsTextBeforeFirstSeparator) {
  PrefixPolicy policy;
  EXPECT_EQ(policy.TopicSource("A.orders"), "A");
  EXPECT_EQ(policy.TopicSource("B.A.orders"), "B");
  EXPECT_EQ(policy.TopicSource("orders"), std::nullopt);
  // Java's String.split drops trailing empty parts: "A." is not a remote topic in MM2.
  EXPECT_EQ(policy.TopicSource("A."), std::nullopt);
  EXPECT_EQ(policy.TopicSource("A.."), std::nullopt);
  EXPECT_EQ(policy.TopicSource("A..b"), "A");
  EXPECT_EQ(policy.TopicSource(".orders"), std::nullopt);
  EXPECT_EQ(PrefixPolicy("--").TopicSource("A--orders-x"), "A");
  EXPECT_EQ(PrefixPolicy("--").TopicSource("A-orders"), std::nullopt);
}

TEST(PrefixPolicyTest, UpstreamAndOriginalTopicThroughHops) {
  PrefixPolicy policy;
  EXPECT_EQ(policy.UpstreamTopic("A.orders"), "orders");
  EXPECT_EQ(policy.UpstreamTopic("B.A.orders"), "A.orders");
  EXPECT_EQ(policy.UpstreamTopic("orders"), std::nullopt);
  EXPECT_EQ(policy.OriginalTopic("B.A.orders"), "orders");
  EXPECT_EQ(policy.OriginalTopic("C.B.A.orders"), "orders");
  EXPECT_EQ(policy.OriginalTopic("orders"), "orders");
  PrefixPolicy dash("-");
  EXPECT_EQ(dash.OriginalTopic("B-A-orders"), "orders");
  EXPECT_EQ(dash.UpstreamTopic("B-A-orders"), "A-orders");
}

TEST(PrefixPolicyTest, InternalTopicNamesMatchMirrorMaker2) {
  PrefixPolicy policy;
  EXPECT_EQ(policy.HeartbeatsTopic(), "heartbeats");
  EXPECT_EQ(policy.CheckpointsTopic("A"), "A.checkpoints.internal");
  EXPECT_EQ(policy.OffsetSyncsTopic("A"), "mm2-offset-syncs.A.internal");
  EXPECT_TRUE(policy.IsCheckpointsTopic("A.checkpoints.internal"));
  EXPECT_FALSE(policy.IsCheckpointsTopic("A.checkpoints"));
  // MM2's internal.topic.separator.enabled=true: the separator is used for internal names too.
  PrefixPolicy underscore("_");
  EXPECT_EQ(underscore.CheckpointsTopic("A"), "A_checkpoints_internal");
  EXPECT_EQ(underscore.OffsetSyncsTopic("A"), "mm2-offset-syncs_A_internal");
  EXPECT_TRUE(underscore.IsCheckpointsTopic("A_checkpoints_internal"));
  EXPECT_TRUE(underscore.IsInternalTopic("mm2-offset-syncs_A_internal"));
}

TEST(PrefixPolicyTest, HeartbeatsTopicsAtAnyHop) {
  PrefixPolicy policy;
  EXPECT_TRUE(policy.IsHeartbeatsTopic("heartbeats"));
  EXPECT_TRUE(policy.IsHeartbeatsTopic("A.heartbeats"));
  EXPECT_TRUE(policy.IsHeartbeatsTopic("B.A.heartbeats"));
  EXPECT_FALSE(policy.IsHeartbeatsTopic("app-heartbeats"));
  EXPECT_FALSE(policy.IsHeartbeatsTopic("heartbeats2"));
}

TEST(PrefixPolicyTest, InternalTopics) {
  PrefixPolicy policy;
  for (const char* topic :
       {"__consumer_offsets", "__transaction_state", ".hidden", "A.checkpoints.internal",
        "mm2-offset-syncs.B.internal", "connect-offsets-internal", "mm2-configs.A.internal"}) {
    EXPECT_TRUE(policy.IsInternalTopic(topic)) << topic;
  }
  for (const char* topic : {"orders", "A.orders", "heartbeats", "A.heartbeats", "internal",
                            "orders_internal", "_schemas"}) {
    EXPECT_FALSE(policy.IsInternalTopic(topic)) << topic;
  }
}

TEST(IdentityPolicyTest, KeepsNamesButPrefixesHeartbeats) {
  IdentityPolicy policy("A");
  EXPECT_EQ(policy.FormatRemoteTopic("A", "orders"), "orders");
  EXPECT_EQ(policy.FormatRemoteTopic("A", "A.orders"), "A.orders");
  EXPECT_EQ(policy.FormatRemoteTopic("A", "heartbeats"), "A.heartbeats");
  EXPECT_EQ(policy.FormatRemoteTopic("B", "A.heartbeats"), "B.A.heartbeats");
  // Only real heartbeat topics are renamed (MM2 would also rename this one).
  EXPECT_EQ(policy.FormatRemoteTopic("A", "app-heartbeats"), "app-heartbeats");
}

TEST(IdentityPolicyTest, SourceAndUpstreamCannotBeReadFromNames) {
  IdentityPolicy policy("A");
  EXPECT_EQ(policy.TopicSource("orders"), "A");
  EXPECT_EQ(policy.UpstreamTopic("orders"), "orders");
  EXPECT_EQ(policy.OriginalTopic("orders"), "orders");
  EXPECT_EQ(policy.OriginalTopic("B.A.orders"), "B.A.orders");
  EXPECT_EQ(IdentityPolicy().TopicSource("orders"), std::nullopt);
  // Heartbeats keep their history.
  EXPECT_EQ(policy.TopicSource("B.heartbeats"), "B");
  EXPECT_EQ(policy.UpstreamTopic("B.A.heartbeats"), "A.heartbeats");
  EXPECT_EQ(policy.OriginalTopic("B.A.heartbeats"), "heartbeats");
  EXPECT_TRUE(policy.IsHeartbeatsTopic("B.A.heartbeats"));
  EXPECT_EQ(policy.TopicSource("heartbeats"), std::nullopt);
}

TEST(IdentityPolicyTest, InternalTopicNamesMatchMirrorMaker2) {
  IdentityPolicy policy("A");
  EXPECT_EQ(policy.HeartbeatsTopic(), "heartbeats");
  EXPECT_EQ(policy.CheckpointsTopic("A"), "A.checkpoints.internal");
  EXPECT_EQ(policy.OffsetSyncsTopic("B"), "mm2-offset-syncs.B.internal");
  EXPECT_TRUE(policy.IsCheckpointsTopic("A.checkpoints.internal"));
  EXPECT_TRUE(policy.IsInternalTopic("A.checkpoints.internal"));
  EXPECT_TRUE(policy.IsInternalTopic("__consumer_offsets"));
  EXPECT_FALSE(policy.IsInternalTopic("orders"));
}

}  // namespace
}  // namespace kmirror::policy
