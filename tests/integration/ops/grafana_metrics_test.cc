// Every metric named by the shipped Grafana dashboard and Prometheus alert rules is exported by a
// running kmirrord. Series appear only once something happened (a replicated topic, an error, a
// loss), so the test makes each of them happen against sandbox clusters and scrapes along the
// way; the union of the scrapes is what kmirrord exports.
#include <signal.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/producer.h"
#include "lib/replication/provenance.h"
#include "tests/integration/ops/promql_names.h"
#include "tests/integration/ops/source_dir.h"
#include "tests/support/kmirrord_process.h"
#include "tests/support/sandbox_process.h"

namespace kmirror::testing {
namespace {

// metric name -> where it is used, for the failure message.
std::map<std::string, std::string> ReferencedMetrics() {
  std::map<std::string, std::string> used;
  auto dashboard = nlohmann::json::parse(ReadFile(SourceDir() + "/grafana/kmirror.json"));
  for (const auto& p : dashboard["panels"]) {
    for (const auto& t : p.value("targets", nlohmann::json::array())) {
      for (const auto& n : PromqlMetricNames(t["expr"])) {
        used.emplace(n, "dashboard panel \"" + p.value("title", "") + "\"");
      }
    }
  }
  for (const auto& v : dashboard["templating"]["list"]) {
    if (v.value("type", "") != "query") continue;
    const auto& q = v["query"];
    const std::string text = q.is_object() ? q.value("query", "") : q.get<std::string>();
    for (const auto& n : GrafanaVariableMetricNames(text)) {
      used.emplace(n, "dashboard variable $" + v.value("name", ""));
    }
  }
  for (const auto& e : RuleFileExpressions(ReadFile(SourceDir() + "/grafana/kmirror-alerts.yml"))) {
    for (const auto& n : PromqlMetricNames(e)) used.emplace(n, "alert rule: " + e);
  }
  return used;
}

class GrafanaMetricsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sp = SandboxProcess::Start({"A:1", "B:1"});
    ASSERT_TRUE(sp.ok()) << sp.status();
    sb_ = std::move(sp).value();
    ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2).ok());
  }

  // Produces `n` records of `bytes` to partition `p` of orders; `origin` adds a provenance
  // header claiming the record came from that cluster.
  void Produce(int n, int32_t p, size_t bytes, const std::string& origin = "") {
    auto producer = kafka::Producer::Create(
        kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("A")}, {"linger.ms", "5"}},
        [](const kafka::DeliveryReport&) {});
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (int i = 0; i < n; ++i) {
      kafka::ProduceRecord r;
      r.topic = "orders";
      r.partition = p;
      r.value = std::string(bytes, 'v');
      if (!origin.empty()) {
        r.headers.push_back({std::string(replication::kProvenanceHeader),
                             replication::EncodeProvenance({origin, origin, SourceOffset{0}})});
      }
      while (!(*producer)->Produce(r).ok()) (*producer)->Poll(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(30)).ok());
  }

  void Collect(Kmirrord& k) {
    for (const auto& n : ExposedSampleNames(k.Scrape())) exported_.insert(n);
  }
  bool Has(Kmirrord& k, const std::string& name) {
    Collect(k);
    return exported_.count(name) != 0;
  }

  TempDir dir_;
  std::unique_ptr<SandboxProcess> sb_;
  std::set<std::string> exported_;
};

TEST_F(GrafanaMetricsTest, EveryDashboardAndAlertMetricIsExported) {
  const auto used = ReferencedMetrics();
  ASSERT_GE(used.size(), 10u);
  // Client statistics every second instead of every 5 s, to see them sooner.
  Kmirrord k(dir_.path(), FlowConfig(*sb_,
                                     "[flows.source_kafka]\n\"statistics.interval.ms\" = 1000\n"
                                     "\"session.timeout.ms\" = \"6000\"\n"
                                     "[flows.target_kafka]\n\"statistics.interval.ms\" = 1000\n"));

  // 1. The source is down at start: discovery fails (kmirror_errors_total{kind="discovery"}).
  ASSERT_TRUE(sb_->BrokerDown("A", 1).ok());
  k.Start();
  EXPECT_TRUE(WaitFor([&] { return Has(k, "kmirror_errors_total"); }, std::chrono::seconds(30)))
      << k.Log();
  ASSERT_TRUE(sb_->BrokerUp("A", 1).ok());

  // 2. Records flow (throughput, lag, latency, clients); one claims to come from the target and
  //    is skipped by loop prevention (kmirror_records_skipped_total).
  Produce(50, 0, 100);
  Produce(50, 1, 100);
  Produce(1, 1, 100, /*origin=*/"B");
  EXPECT_TRUE(WaitFor([&] {
    return Has(k, "kmirror_replicated_records_total") && Has(k, "kmirror_records_skipped_total") &&
           Has(k, "kmirror_client_broker_up") && Has(k, "kmirror_client_rebalances_total");
  })) << k.Log();
  k.proc().Signal(SIGTERM);
  ASSERT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();

  // 3. While it is stopped, ~8 MB arrive on partition 0; the sandbox keeps ~5 MB, so retention
  //    deletes records never copied: the restarted daemon counts them (kmirror_records_lost_total).
  Produce(8000, 0, 1000);
  k.Start();
  // The loss counter exists at 0 from the assignment: wait for the loss itself.
  EXPECT_TRUE(WaitFor([&] {
    return k.Sample("kmirror_records_lost_total{flow=\"A->B\",partition=\"0\",topic=\"orders\"}")
               .value_or(0) > 0;
  })) << k.Log();
  EXPECT_TRUE(WaitFor([&] { return Has(k, "kmirror_client_broker_rtt_seconds"); })) << k.Log();
  Collect(k);

  std::string missing;
  for (const auto& [name, where] : used) {
    if (exported_.count(name) != 0 || IsScrapeSyntheticMetric(name)) continue;
    missing += "  " + name + "  (" + where + ")\n";
  }
  EXPECT_TRUE(missing.empty()) << "metrics referenced but not exported by kmirrord:\n"
                               << missing << "exported:\n"
                               << [&] {
                                    std::string s;
                                    for (const auto& n : exported_) s += "  " + n + "\n";
                                    return s;
                                  }();
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0) << k.Log();
}

}  // namespace
}  // namespace kmirror::testing
