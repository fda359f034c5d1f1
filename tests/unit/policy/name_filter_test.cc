#include "lib/policy/name_filter.h"

#include "gtest/gtest.h"

namespace kmirror::policy {
namespace {

NameFilter Make(std::vector<std::string> include, std::vector<std::string> exclude = {}) {
  absl::StatusOr<NameFilter> filter = NameFilter::Create(std::move(include), std::move(exclude));
  EXPECT_TRUE(filter.ok()) << filter.status();
  return std::move(filter).value();
}

TEST(NameFilterTest, PatternsMatchTheWholeName) {
  NameFilter filter = Make({"orders", "pay.*"});
  EXPECT_TRUE(filter.Matches("orders"));
  EXPECT_FALSE(filter.Matches("orders2"));
  EXPECT_FALSE(filter.Matches("my-orders"));
  EXPECT_TRUE(filter.Matches("payments"));
  EXPECT_FALSE(filter.Matches("prepay"));
}

TEST(NameFilterTest, ExcludeWinsOverInclude) {
  NameFilter filter = Make({"orders.*"}, {"orders\\.tmp.*"});
  EXPECT_TRUE(filter.Matches("orders.eu"));
  EXPECT_FALSE(filter.Matches("orders.tmp"));
  EXPECT_FALSE(filter.Matches("orders.tmp-1"));
  EXPECT_FALSE(filter.Matches("payments"));
}

TEST(NameFilterTest, EmptyIncludeMatchesNothing) {
  NameFilter filter = Make({});
  EXPECT_FALSE(filter.Matches("orders"));
  EXPECT_FALSE(filter.Matches(""));
}

TEST(NameFilterTest, DefaultTopicFilterIsMirrorMaker2s) {
  NameFilter filter = NameFilter::DefaultTopics();
  EXPECT_TRUE(filter.Matches("orders"));
  EXPECT_TRUE(filter.Matches("A.orders"));
  EXPECT_TRUE(filter.Matches("heartbeats"));
  EXPECT_FALSE(filter.Matches("connect-internal"));
  EXPECT_FALSE(filter.Matches("A.checkpoints.internal"));
  EXPECT_FALSE(filter.Matches("orders.replica"));
  EXPECT_FALSE(filter.Matches("__consumer_offsets"));
  EXPECT_TRUE(filter.Matches("orders_internal"));
  EXPECT_EQ(filter.exclude(),
            (std::vector<std::string>{".*[\\-\\.]internal", ".*\\.replica", "__.*"}));
}

TEST(NameFilterTest, DefaultGroupFilterIsMirrorMaker2s) {
  NameFilter filter = NameFilter::DefaultGroups();
  EXPECT_TRUE(filter.Matches("billing"));
  EXPECT_FALSE(filter.Matches("console-consumer-4711"));
  EXPECT_FALSE(filter.Matches("connect-mm2"));
  EXPECT_FALSE(filter.Matches("__internal"));
  EXPECT_TRUE(filter.Matches("my-connect-group"));
}

TEST(NameFilterTest, BadPatternIsInvalidArgumentNamingThePattern) {
  absl::StatusOr<NameFilter> filter = NameFilter::Create({"orders", "orders["}, {});
  ASSERT_FALSE(filter.ok());
  EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(filter.status().message().find("\"orders[\""), absl::string_view::npos)
      << filter.status();
  EXPECT_NE(filter.status().message().find("missing ]"), absl::string_view::npos)
      << filter.status();

  filter = NameFilter::Create({".*"}, {"(a"});
  ASSERT_FALSE(filter.ok());
  EXPECT_NE(filter.status().message().find("\"(a\""), absl::string_view::npos);
}

TEST(NameFilterTest, ValidatePattern) {
  EXPECT_EQ(ValidatePattern("orders.*"), std::nullopt);
  EXPECT_EQ(ValidatePattern(""), std::nullopt);
  ASSERT_TRUE(ValidatePattern("orders[").has_value());
  EXPECT_NE(ValidatePattern("orders[")->find("missing ]"), std::string::npos);
  // Backreferences are not RE2 (no exponential-time features).
  EXPECT_TRUE(ValidatePattern("(a)\\1").has_value());
}

}  // namespace
}  // namespace kmirror::policy
