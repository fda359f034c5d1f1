// Failback's preservation of divergent records in the quarantine topic, against the sandbox: an
// interrupted copy resumes where it stopped, and a later DR cycle of the same flow preserves all
// of its records even though the quarantine topic already holds the earlier cycle's.
#include "lib/dr/divergence.h"

#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

class DivergenceTest : public TwoClusterTest {
 protected:
  nlohmann::json Preserve(int64_t from, int64_t to) {
    dr::PreserveTarget where;
    where.source_alias = "A";
    where.target_alias = "B";
    auto out = dr::PreserveDivergent(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("A")}},
                                     {dr::DivergentRange{"orders", 0, from, to}}, where,
                                     std::chrono::seconds(60));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? (*out)[0] : nlohmann::json();
  }
  // Source offset -> how many times the quarantine topic holds it, and each copy's value.
  std::map<int64_t, std::vector<std::string>> Quarantined() {
    std::map<int64_t, std::vector<std::string>> out;
    auto all = ReadAll(sb_->Bootstrap("A"), dr::QuarantineTopic("A", "B", "orders"), 1);
    for (const Copy& c : all[0]) {
      std::string origin;
      for (const auto& [name, value] : c.headers) {
        if (name == "kmirror-quarantined-from" && value) origin = *value;
      }
      EXPECT_EQ(origin.rfind("A/orders/0/", 0), 0u) << origin;
      out[std::stoll(origin.substr(11))].push_back(c.value.value_or("(null)"));
    }
    return out;
  }
};

TEST_F(DivergenceTest, ResumesAnInterruptedCopyAndPreservesEveryLaterCycle) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Produce("A", "orders", 0, 10, "c1-");
  // First DR cycle: [2, 10) diverged. A copy interrupted after [2, 5), then re-run.
  EXPECT_EQ(Preserve(2, 5)["records"], 3);
  nlohmann::json rerun = Preserve(2, 10);
  EXPECT_EQ(rerun["already_preserved"], 3);
  EXPECT_EQ(rerun["records"], 5);
  // Weeks later, a second cycle: [12, 15) diverged. Every one of them is preserved, although
  // the quarantine partition already holds 8 records.
  Produce("A", "orders", 0, 5, "c2-");
  nlohmann::json second = Preserve(12, 15);
  EXPECT_EQ(second["already_preserved"], 0);
  EXPECT_EQ(second["records"], 3);
  // Running it again copies nothing twice.
  EXPECT_EQ(Preserve(12, 15)["records"], 0);

  std::map<int64_t, std::vector<std::string>> expected;
  for (int64_t o = 2; o < 10; ++o) expected[o] = {"c1-" + std::to_string(o)};
  for (int64_t o = 12; o < 15; ++o) expected[o] = {"c2-" + std::to_string(o - 10)};
  EXPECT_EQ(Quarantined(), expected);
}

}  // namespace
}  // namespace kmirror::testing
