// lib/config and lib/policy do not depend on each other, yet both know MM2's default filters and
// which patterns RE2 accepts. This test keeps them in agreement.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/config/config.h"
#include "lib/policy/name_filter.h"

namespace kmirror::policy {
namespace {

template <size_t N>
std::vector<std::string> ToVector(const std::array<std::string_view, N>& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

std::string Config(const std::string& flow_body) {
  return R"(
[clusters.A]
bootstrap_servers = "a:9092"
[clusters.B]
bootstrap_servers = "b:9092"
[[flows]]
source = "A"
target = "B"
)" + flow_body;
}

TEST(ConfigDefaultsTest, ConfigDefaultFiltersAreThePolicyDefaults) {
  absl::StatusOr<config::Config> parsed = config::ParseConfig(Config(""));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const config::FlowConfig& flow = parsed->flows[0];
  EXPECT_EQ(flow.topics, ToVector(kDefaultTopicsInclude));
  EXPECT_EQ(flow.topics_exclude, ToVector(kDefaultTopicsExclude));
  EXPECT_EQ(flow.groups, ToVector(kDefaultGroupsInclude));
  EXPECT_EQ(flow.groups_exclude, ToVector(kDefaultGroupsExclude));
}

TEST(ConfigDefaultsTest, ConfigAndPolicyAgreeOnValidPatterns) {
  for (const char* pattern : {"orders.*", "a|b", "(?i)orders", "[a-z]+", "orders[", "(a", "a**",
                              "(a)\\1", "\\pN", "x{2,1}"}) {
    const bool policy_ok = !ValidatePattern(pattern).has_value();
    std::string escaped;
    for (const char* p = pattern; *p != '\0'; ++p) {
      if (*p == '\\' || *p == '"') escaped += '\\';
      escaped += *p;
    }
    const bool config_ok = config::ParseConfig(Config("topics = [\"" + escaped + "\"]\n")).ok();
    EXPECT_EQ(policy_ok, config_ok) << pattern;
    // A filter can be built from whatever the configuration accepted.
    if (config_ok) {
      EXPECT_TRUE(NameFilter::Create({pattern}, {}).ok()) << pattern;
    }
  }
}

}  // namespace
}  // namespace kmirror::policy
