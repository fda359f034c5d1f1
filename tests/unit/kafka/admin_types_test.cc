// Admin enums: Kafka's numbering and names, ToString/FromString round trips (used in logs and
// JSON).
#include "lib/kafka/admin_types.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kmirror::kafka {
namespace {

using ::testing::HasSubstr;

template <typename E, typename Parse>
void ExpectRoundTrip(const std::vector<E>& values, Parse parse) {
  for (E v : values) {
    const std::string name(ToString(v));
    absl::StatusOr<E> parsed = parse(name);
    ASSERT_TRUE(parsed.ok()) << name << ": " << parsed.status();
    EXPECT_EQ(*parsed, v) << name;
  }
}

TEST(AdminTypesTest, ResourceTypeRoundTripAndKafkaNumbering) {
  ExpectRoundTrip<ResourceType>(
      {ResourceType::kUnknown, ResourceType::kAny, ResourceType::kTopic, ResourceType::kGroup,
       ResourceType::kCluster, ResourceType::kTransactionalId, ResourceType::kDelegationToken,
       ResourceType::kUser},
      ResourceTypeFromString);
  EXPECT_EQ(ToString(ResourceType::kCluster), "CLUSTER");
  EXPECT_EQ(static_cast<int>(ResourceType::kCluster), 4);
  EXPECT_EQ(static_cast<int>(ResourceType::kTransactionalId), 5);
}

TEST(AdminTypesTest, ConfigResourceTypeRoundTrip) {
  ExpectRoundTrip<ConfigResourceType>(
      {ConfigResourceType::kUnknown, ConfigResourceType::kTopic, ConfigResourceType::kBroker,
       ConfigResourceType::kBrokerLogger, ConfigResourceType::kGroup},
      ConfigResourceTypeFromString);
  EXPECT_EQ(ToString(ConfigResourceType::kBroker), "BROKER");
  EXPECT_EQ(static_cast<int>(ConfigResourceType::kBrokerLogger), 8);
}

TEST(AdminTypesTest, PatternTypeRoundTrip) {
  ExpectRoundTrip<PatternType>({PatternType::kUnknown, PatternType::kAny, PatternType::kMatch,
                                PatternType::kLiteral, PatternType::kPrefixed},
                               PatternTypeFromString);
  EXPECT_EQ(ToString(PatternType::kPrefixed), "PREFIXED");
}

TEST(AdminTypesTest, AclOperationRoundTrip) {
  std::vector<AclOperation> all;
  for (int i = 0; i <= 12; ++i) all.push_back(static_cast<AclOperation>(i));
  ExpectRoundTrip<AclOperation>(all, AclOperationFromString);
  EXPECT_EQ(ToString(AclOperation::kDescribeConfigs), "DESCRIBE_CONFIGS");
  EXPECT_EQ(ToString(AclOperation::kIdempotentWrite), "IDEMPOTENT_WRITE");
}

TEST(AdminTypesTest, AclPermissionRoundTrip) {
  ExpectRoundTrip<AclPermission>(
      {AclPermission::kUnknown, AclPermission::kAny, AclPermission::kDeny, AclPermission::kAllow},
      AclPermissionFromString);
}

TEST(AdminTypesTest, ConfigSourceRoundTrip) {
  std::vector<ConfigSource> all;
  for (int i = 0; i <= 6; ++i) all.push_back(static_cast<ConfigSource>(i));
  ExpectRoundTrip<ConfigSource>(all, ConfigSourceFromString);
  EXPECT_EQ(ToString(ConfigSource::kDynamicTopic), "DYNAMIC_TOPIC_CONFIG");
  EXPECT_EQ(ToString(ConfigSource::kDynamicBrokerLogger), "DYNAMIC_BROKER_LOGGER_CONFIG");
}

TEST(AdminTypesTest, GroupStateRoundTripUsesKafkaSpelling) {
  std::vector<GroupState> all;
  for (int i = 0; i <= 5; ++i) all.push_back(static_cast<GroupState>(i));
  ExpectRoundTrip<GroupState>(all, GroupStateFromString);
  EXPECT_EQ(ToString(GroupState::kPreparingRebalance), "PreparingRebalance");
  EXPECT_EQ(ToString(GroupState::kStable), "Stable");
}

TEST(AdminTypesTest, FromStringIsCaseInsensitiveAndRejectsUnknownNames) {
  EXPECT_EQ(AclOperationFromString("read").value(), AclOperation::kRead);
  EXPECT_EQ(GroupStateFromString("STABLE").value(), GroupState::kStable);
  absl::StatusOr<AclOperation> bad = AclOperationFromString("READ_WRITE");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("READ_WRITE"));
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("DESCRIBE_CONFIGS"));
}

TEST(AdminTypesTest, AclBindingPrintsAllFields) {
  AclBinding b{ResourceType::kTopic, "orders",   PatternType::kPrefixed,
               "User:alice",         "10.0.0.1", AclOperation::kWrite,
               AclPermission::kDeny};
  EXPECT_EQ(ToString(b), "(TOPIC:PREFIXED:orders, User:alice, 10.0.0.1, WRITE, DENY)");
  AclBinding same = b;
  EXPECT_EQ(b, same);
  same.host = "*";
  EXPECT_FALSE(b == same);
}

}  // namespace
}  // namespace kmirror::kafka
