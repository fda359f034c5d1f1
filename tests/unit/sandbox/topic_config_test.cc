#include "lib/sandbox/topic_config.h"

#include "gtest/gtest.h"

namespace kmirror::sandbox {
namespace {

const DescribedConfig* Find(const std::vector<DescribedConfig>& cs, const std::string& name) {
  for (const auto& c : cs) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

TEST(TopicConfigTest, DefaultsAndSourcesAsABrokerReportsThem) {
  auto cs = DescribeTopicConfigs({});
  const auto* cleanup = Find(cs, "cleanup.policy");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->value, "delete");
  EXPECT_EQ(cleanup->source, ConfigSource::kDefault);
  const auto* retention = Find(cs, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "604800000");
  EXPECT_EQ(retention->source, ConfigSource::kStaticBroker);
  ASSERT_FALSE(retention->synonyms.empty());
  EXPECT_EQ(retention->synonyms[0].name, "log.retention.hours");
  EXPECT_EQ(Find(cs, "min.insync.replicas")->value, "1");
}

TEST(TopicConfigTest, OverridesAreDynamicTopicConfigs) {
  auto cs = DescribeTopicConfigs({{"retention.ms", "1000"}, {"cleanup.policy", "compact"}});
  EXPECT_EQ(Find(cs, "retention.ms")->value, "1000");
  EXPECT_EQ(Find(cs, "retention.ms")->source, ConfigSource::kDynamicTopic);
  EXPECT_EQ(Find(cs, "cleanup.policy")->source, ConfigSource::kDynamicTopic);
  EXPECT_EQ(Find(cs, "segment.ms")->source, ConfigSource::kDefault);
}

TEST(TopicConfigTest, ValidationNamesTheProblem) {
  EXPECT_FALSE(ValidateTopicConfig("retention.ms", "-1"));
  EXPECT_FALSE(ValidateTopicConfig("cleanup.policy", "compact,delete"));
  EXPECT_TRUE(ValidateTopicConfig("cleanup.policy", "shred"));
  EXPECT_TRUE(ValidateTopicConfig("retention.ms", "soon"));
  EXPECT_TRUE(ValidateTopicConfig("min.insync.replicas", "0"));
  EXPECT_TRUE(ValidateTopicConfig("no.such.config", "1"));
  EXPECT_TRUE(ValidateTopicConfig("retention.ms", std::nullopt));
  auto msg = ValidateTopicConfig("no.such.config", "1");
  EXPECT_NE(msg->find("no.such.config"), std::string::npos);
}

TEST(TopicConfigTest, BrokerConfigsHaveReadOnlyAndSensitiveEntries) {
  auto cs = DescribeBrokerConfigs(1, "127.0.0.1:9092", false, 3);
  const auto* id = Find(cs, "broker.id");
  ASSERT_NE(id, nullptr);
  EXPECT_TRUE(id->read_only);
  const auto* pw = Find(cs, "ssl.keystore.password");
  ASSERT_NE(pw, nullptr);
  EXPECT_TRUE(pw->sensitive);
  EXPECT_EQ(pw->value, std::nullopt);
}

}  // namespace
}  // namespace kmirror::sandbox
