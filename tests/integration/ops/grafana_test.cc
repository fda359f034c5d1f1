// The shipped dashboard and alert rules, without a daemon: the PromQL name extraction the
// scrape test relies on, what Grafana's import needs, rule-file structure, and (where promtool is
// installed) PromQL syntax of every expression.
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/ops/promql_names.h"
#include "tests/integration/ops/source_dir.h"
#include "tests/support/process.h"

namespace kmirror::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Names = std::set<std::string>;

TEST(PromqlNamesTest, SkipsFunctionsAggregationsLabelsRangesAndVariables) {
  EXPECT_EQ(PromqlMetricNames("histogram_quantile(0.99, sum by (flow, le) "
                              "(rate(kmirror_replication_latency_seconds_bucket{flow=~\"$flow\"}"
                              "[$__rate_interval])))"),
            Names{"kmirror_replication_latency_seconds_bucket"});
  EXPECT_EQ(PromqlMetricNames("sum(rate(a_total[5m])) by (flow) / ignoring(kind) group_left "
                              "sum without (x) (b_total offset 1h) > bool 0.5e-3"),
            (Names{"a_total", "b_total"}));
  EXPECT_EQ(PromqlMetricNames("topk(10, x{a=\"}\", b='{'}) and on (a) y unless z"),
            (Names{"x", "y", "z"}));
  EXPECT_EQ(PromqlMetricNames("absent(up{job=\"kmirror\"}) or vector(0)"), Names{"up"});
  EXPECT_EQ(PromqlMetricNames("label_replace(m, \"dst\", \"$1\", \"src\", \"(.*)\") # note y"),
            Names{"m"});
  EXPECT_EQ(PromqlMetricNames("max_over_time(g[${range}:1m]) * 1e3 + [[legacy]]"), Names{"g"});
  EXPECT_EQ(PromqlMetricNames("ns:rule_name:rate5m > 0"), Names{"ns:rule_name:rate5m"});
}

TEST(PromqlNamesTest, GrafanaVariableQueries) {
  EXPECT_EQ(GrafanaVariableMetricNames("label_values(kmirror_x{job=~\"$job\"}, flow)"),
            Names{"kmirror_x"});
  EXPECT_THAT(GrafanaVariableMetricNames("label_values(flow)"), IsEmpty());
  EXPECT_THAT(GrafanaVariableMetricNames("metrics(kmirror_.*)"), IsEmpty());
  EXPECT_EQ(GrafanaVariableMetricNames("query_result(topk(3, y))"), Names{"y"});
}

TEST(PromqlNamesTest, ExposedSampleNamesAndRuleFileExpressions) {
  EXPECT_EQ(ExposedSampleNames("# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_sum 0\n"
                               "h_count 0\ng{a=\"b\"} 1\nc 2\n"),
            (Names{"h_bucket", "h_sum", "h_count", "g", "c"}));
  EXPECT_THAT(RuleFileExpressions("groups:\n  - name: g\n    rules:\n      - alert: A\n"
                                  "        expr: up == 0\n        for: 1m\n"
                                  "      - alert: B\n        expr: |\n          a\n"
                                  "          or b\n        labels: {}\n"
                                  "      - record: c\n        expr: 'x{l=''v''}'\n"),
              ElementsAre("up == 0", "a\nor b\n", "x{l='v'}"));
}

class ShippedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dashboard_ = nlohmann::json::parse(ReadFile(SourceDir() + "/grafana/kmirror.json"), nullptr,
                                       /*allow_exceptions=*/false);
    ASSERT_FALSE(dashboard_.is_discarded()) << "grafana/kmirror.json is not valid JSON";
    alerts_ = ReadFile(SourceDir() + "/grafana/kmirror-alerts.yml");
  }
  nlohmann::json dashboard_;
  std::string alerts_;
};

TEST_F(ShippedFilesTest, DashboardHasWhatGrafanaImportNeeds) {
  for (const char* key : {"title", "uid", "panels", "templating", "schemaVersion"}) {
    EXPECT_TRUE(dashboard_.contains(key)) << key;
  }
  ASSERT_TRUE(dashboard_["uid"].is_string());
  EXPECT_LE(dashboard_["uid"].get<std::string>().size(), 40u) << "Grafana limits uids to 40";
  EXPECT_TRUE(dashboard_["id"].is_null()) << "an id would overwrite another dashboard on import";

  std::set<std::string> variables;
  for (const auto& v : dashboard_["templating"]["list"]) variables.insert(v["name"]);
  for (const char* v : {"datasource", "instance", "flow"}) EXPECT_EQ(variables.count(v), 1u) << v;

  std::set<int> ids;
  int with_targets = 0;
  for (const auto& p : dashboard_["panels"]) {
    SCOPED_TRACE(p.value("title", "?"));
    ASSERT_TRUE(p.contains("id") && p.contains("type") && p.contains("gridPos"));
    EXPECT_TRUE(ids.insert(p["id"].get<int>()).second) << "duplicate panel id";
    const auto& g = p["gridPos"];
    EXPECT_LE(g["x"].get<int>() + g["w"].get<int>(), 24) << "panel wider than the grid";
    if (p["type"] == "row") continue;
    ASSERT_TRUE(p.contains("targets") && !p["targets"].empty());
    ++with_targets;
    EXPECT_EQ(p["datasource"]["uid"], "${datasource}") << "panels must follow the variable";
    for (const auto& t : p["targets"]) {
      ASSERT_TRUE(t.contains("expr") && t.contains("refId"));
      EXPECT_EQ(t["datasource"]["uid"], "${datasource}");
      // Every $variable used is defined (Grafana's own $__ variables aside).
      std::string expr = t["expr"];
      std::regex var(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*))");
      for (std::sregex_iterator it(expr.begin(), expr.end(), var), end; it != end; ++it) {
        const std::string name = (*it)[1];
        if (name.rfind("__", 0) == 0) continue;
        EXPECT_EQ(variables.count(name), 1u) << "undefined variable $" << name << " in " << expr;
      }
    }
  }
  EXPECT_GE(with_targets, 15);
}

TEST_F(ShippedFilesTest, AlertRulesAreWellFormed) {
  const auto exprs = RuleFileExpressions(alerts_);
  EXPECT_GE(exprs.size(), 6u);
  for (const std::string alert :
       {"KmirrorDown", "KmirrorAbsent", "KmirrorLagHigh", "KmirrorLagGrowing", "KmirrorDataLoss",
        "KmirrorPartitionStopped", "KmirrorTargetUnreachable", "KmirrorErrors"}) {
    EXPECT_NE(alerts_.find("- alert: " + alert + "\n"), std::string::npos) << alert;
  }
  // Each rule: an expression, a severity label and a summary.
  const auto count = [&](const std::string& s) {
    size_t n = 0;
    for (size_t at = 0; (at = alerts_.find(s, at)) != std::string::npos; at += s.size()) ++n;
    return n;
  };
  EXPECT_EQ(count("- alert: "), exprs.size());
  EXPECT_EQ(count("severity: "), exprs.size());
  EXPECT_EQ(count("summary: "), exprs.size());
  for (const std::string& e : exprs) EXPECT_FALSE(PromqlMetricNames(e).empty()) << e;
}

// PromQL syntax, checked by Prometheus' own parser.
TEST_F(ShippedFilesTest, PromtoolAcceptsEveryExpression) {
  KMIRROR_REQUIRE_TOOL(RunCommand({"promtool", "--version"}).exit_code == 0,
                       "promtool is not installed (Debian package prometheus)");
  auto r = RunCommand({"promtool", "check", "rules", SourceDir() + "/grafana/kmirror-alerts.yml"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;

  // Dashboard expressions become recording rules, with Grafana's variables given values.
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& p : dashboard_["panels"]) {
    for (const auto& t : p.value("targets", nlohmann::json::array())) {
      std::string e = t["expr"];
      e = std::regex_replace(e, std::regex(R"(\$__rate_interval|\$__interval)"), "5m");
      e = std::regex_replace(e, std::regex(R"(\$__range)"), "1h");
      e = std::regex_replace(e, std::regex(R"(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)"), ".*");
      rules.push_back({{"record", "dashboard:expr_" + std::to_string(rules.size())}, {"expr", e}});
    }
  }
  TempDir dir;
  nlohmann::json file = {{"groups", {{{"name", "dashboard"}, {"rules", rules}}}}};
  std::ofstream(dir.File("dashboard.yml")) << file.dump(2);  // JSON is YAML
  r = RunCommand({"promtool", "check", "rules", dir.File("dashboard.yml")});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace kmirror::testing
