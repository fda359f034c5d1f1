#include "lib/sandbox/acl.h"

#include "gtest/gtest.h"

namespace kmirror::sandbox {
namespace {

AclBinding Binding(ResourceType t, std::string name, PatternType p, std::string principal,
                   AclOperation op = AclOperation::kRead,
                   AclPermission perm = AclPermission::kAllow) {
  return AclBinding{t, std::move(name), p, std::move(principal), "*", op, perm};
}

TEST(AclTest, MatchFilterFollowsKafkaSemantics) {
  AclBinding literal = Binding(ResourceType::kTopic, "orders", PatternType::kLiteral, "User:a");
  AclBinding wildcard = Binding(ResourceType::kTopic, "*", PatternType::kLiteral, "User:a");
  AclBinding prefixed = Binding(ResourceType::kTopic, "ord", PatternType::kPrefixed, "User:a");
  AclBinding other = Binding(ResourceType::kTopic, "payments", PatternType::kLiteral, "User:a");

  AclFilter match;
  match.resource_type = ResourceType::kTopic;
  match.resource_name = "orders";
  match.pattern_type = PatternType::kMatch;
  EXPECT_TRUE(Matches(match, literal));
  EXPECT_TRUE(Matches(match, wildcard));
  EXPECT_TRUE(Matches(match, prefixed));
  EXPECT_FALSE(Matches(match, other));

  // ANY pattern type with a name means exact name equality, whatever the pattern type.
  AclFilter any = match;
  any.pattern_type = PatternType::kAny;
  EXPECT_TRUE(Matches(any, literal));
  EXPECT_FALSE(Matches(any, wildcard));
  EXPECT_FALSE(Matches(any, prefixed));

  AclFilter only_prefixed;
  only_prefixed.pattern_type = PatternType::kPrefixed;
  EXPECT_TRUE(Matches(only_prefixed, prefixed));
  EXPECT_FALSE(Matches(only_prefixed, literal));
}

TEST(AclTest, FilterFieldsNarrow) {
  AclBinding b = Binding(ResourceType::kGroup, "g1", PatternType::kLiteral, "User:bob",
                         AclOperation::kRead, AclPermission::kDeny);
  AclFilter f;
  EXPECT_TRUE(Matches(f, b));
  f.principal = "User:alice";
  EXPECT_FALSE(Matches(f, b));
  f.principal = "User:bob";
  f.host = "10.0.0.1";
  EXPECT_FALSE(Matches(f, b));
  f.host = "*";
  f.operation = AclOperation::kWrite;
  EXPECT_FALSE(Matches(f, b));
  f.operation = AclOperation::kRead;
  f.permission = AclPermission::kAllow;
  EXPECT_FALSE(Matches(f, b));
  f.permission = AclPermission::kDeny;
  f.resource_type = ResourceType::kTopic;
  EXPECT_FALSE(Matches(f, b));
  f.resource_type = ResourceType::kGroup;
  EXPECT_TRUE(Matches(f, b));
}

TEST(AclTest, ValidationRejectsWhatABrokerRejects) {
  EXPECT_FALSE(
      ValidateBinding(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a")));
  EXPECT_TRUE(ValidateBinding(Binding(ResourceType::kAny, "t", PatternType::kLiteral, "User:a")));
  EXPECT_TRUE(ValidateBinding(Binding(ResourceType::kTopic, "t", PatternType::kMatch, "User:a")));
  EXPECT_TRUE(ValidateBinding(Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "alice")));
  EXPECT_TRUE(
      ValidateBinding(Binding(ResourceType::kCluster, "x", PatternType::kLiteral, "User:a")));
  EXPECT_TRUE(ValidateBinding(
      Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a", AclOperation::kAny)));
  AclFilter f;
  f.operation = AclOperation::kUnknown;
  EXPECT_TRUE(ValidateFilter(f));
}

TEST(AclTest, StoreIsASetAndRemoveReturnsWhatItRemoved) {
  AclStore store;
  AclBinding b = Binding(ResourceType::kTopic, "t", PatternType::kLiteral, "User:a");
  store.Add(b);
  store.Add(b);
  store.Add(Binding(ResourceType::kTopic, "u", PatternType::kLiteral, "User:a"));
  EXPECT_EQ(store.size(), 2u);
  AclFilter f;
  f.resource_name = "t";
  auto removed = store.Remove(f);
  ASSERT_EQ(removed.size(), 1u);
  EXPECT_EQ(removed[0], b);
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace kmirror::sandbox
