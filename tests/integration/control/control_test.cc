// Operator control end to end: kmirrord, kmirrorctl and the sandbox each run as their own process.
// Pause/resume persist across a SIGKILL; a planned failover loses nothing and consumers resume on
// the target exactly; a forced failover with the source brokers down reports exactly what is
// missing; failback preserves the divergent records and switches back without duplicates; a
// drill passes on a healthy flow and fails with its reason when the target is down; conflicting
// verbs are refused; garbage on the socket and other users are refused.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

using nlohmann::json;

struct Ctl {
  int exit_code = -1;
  json body;
  std::string err;
};

class ControlTest : public TwoClusterTest {
 protected:
  // kmirrorctl --json against `k`'s socket.
  Ctl Run(Kmirrord& k, std::vector<std::string> args,
          std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::vector<std::string> argv = {BinPath("kmirrorctl"), "--socket", k.socket_path(), "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunCommand(argv, "", timeout);
    Ctl c;
    c.exit_code = r.exit_code;
    c.err = r.err;
    c.body = json::parse(r.out, nullptr, false);
    return c;
  }
  json FlowStatus(Kmirrord& k) {
    Ctl c = Run(k, {"status"});
    if (c.exit_code != 0 || !c.body.is_object() || c.body["flows"].empty()) return json();
    return c.body["flows"][0];
  }
  std::string Phase(Kmirrord& k) {
    json f = FlowStatus(k);
    return f.is_object() ? f.value("phase", "") : "";
  }

  // What a consumer of `group` on `cluster` reads first from topic[partition].
  std::optional<std::string> FirstValueFor(const std::string& cluster, const std::string& group,
                                           const std::string& topic, int32_t partition) {
    auto c =
        kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap(cluster)},
                                                  {"group.id", group},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "earliest"}});
    if (!c.ok()) return std::nullopt;
    // Offsets are the committed ones (kOffsetInvalid = stored).
    if (!(*c)->Assign({{topic, partition, kafka::kOffsetInvalid}}).ok()) return std::nullopt;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = (*c)->Poll(std::chrono::milliseconds(500));
      if (m.ok() && *m && (*m)->ok() && (*m)->value()) return std::string(*(*m)->value());
    }
    return std::nullopt;
  }
  // Source offsets (from provenance) of every record of the remote partition on B.
  std::vector<int64_t> ProvenanceOffsets(const std::string& topic, int32_t partition, int parts) {
    std::vector<int64_t> out;
    auto all = ReadAll(sb_->Bootstrap("B"), topic, parts);
    for (const Copy& c : all[partition]) {
      if (auto p = ProvenanceOf(c); p) out.push_back(p->offset.value);
    }
    return out;
  }
  // Broker 1 of B leads A.orders and answers every produce request with a retriable error;
  // broker 2 leads the state topic, so control actions are still recorded.
  void RefuseProduceOfAOrders(int partitions) {
    for (int p = 0; p < partitions; ++p) {
      ASSERT_TRUE(
          sb_->Control("/v1/clusters/B/topics/A.orders/partitions/" + std::to_string(p) + "/leader",
                       R"({"broker": 1})")
              .ok());
    }
    ASSERT_TRUE(WaitFor([&] {
      return sb_
          ->Control("/v1/clusters/B/topics/kmirror-state.internal/partitions/0/leader",
                    R"({"broker": 2})")
          .ok();
    }));
    json errors = json::array();
    for (int i = 0; i < 20000; ++i) errors.push_back(6);  // NOT_LEADER_OR_FOLLOWER, retriable
    ASSERT_TRUE(sb_->Control("/v1/clusters/B/errors",
                             json{{"api_key", 0}, {"errors", errors}, {"broker", 1}}.dump())
                    .ok());
  }
  bool WaitReplicated(const std::string& remote, int32_t partition, int64_t n) {
    return WaitFor([&] { return End("B", remote, partition) >= n; });
  }
};

const std::string kFast = "checkpoint_interval = \"500ms\"\nsync_group_offsets = true\n";

TEST_F(ControlTest, PauseAndResumePersistAcrossSigkillAndAreAudited) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "running"; })) << k.Log();
  // The instance reports its share of the flow to the state topic (status lists every instance).
  ASSERT_TRUE(WaitFor([&] {
    json f = FlowStatus(k);
    return f.is_object() && f["instances"].size() == 1 && f["instances"][0]["instance"] == "test";
  })) << k.Log();
  Produce("A", "orders", 0, 20, "a-");
  ASSERT_TRUE(WaitReplicated("A.orders", 0, 20)) << k.Log();
  // The state topic is kmirror's: replicated min(3, brokers) times, with min.insync.replicas
  // one less, whatever the broker's defaults.
  auto md = Admin("B")->Metadata(std::vector<std::string>{"kmirror-state.internal"});
  ASSERT_TRUE(md.ok()) << md.status();
  ASSERT_EQ(md->topics.size(), 1u);
  ASSERT_EQ(md->topics[0].partitions.size(), 1u);
  EXPECT_EQ(md->topics[0].partitions[0].replicas.size(), 3u);
  auto cfg =
      Admin("B")->DescribeConfigs({{kafka::ConfigResourceType::kTopic, "kmirror-state.internal"}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  std::map<std::string, std::string> values;
  for (const auto& e : (*cfg)[0].entries) values[e.name] = e.value.value_or("");
  EXPECT_EQ(values["min.insync.replicas"], "2");
  EXPECT_EQ(values["cleanup.policy"], "compact");

  Ctl paused = Run(k, {"pause", "--source", "A", "--target", "B"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(paused.body["phase"], "paused");
  EXPECT_EQ(Run(k, {"pause", "--flow", "A->B"}).body["changed"], false);  // safe to repeat
  Produce("A", "orders", 0, 30, "b-");
  // Paused survives a SIGKILL: the restarted daemon reads the state from B and copies nothing.
  k.proc().Kill();
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "paused"; })) << k.Log();
  // The restarted member holds the partition again and knows where it would start (a running
  // flow copies within milliseconds of this): paused, it copies nothing.
  ASSERT_TRUE(WaitFor([&] {
    json f = FlowStatus(k);
    if (!f.is_object() || !f.contains("replication")) return false;
    for (const auto& p : f["replication"]["partitions"]) {
      if (p["topic"] == "orders" && p["resolved"] == true && p["position"] == 20) return true;
    }
    return false;
  })) << k.Log();
  EXPECT_TRUE(FlowStatus(k)["replication"]["paused"].get<bool>());
  EXPECT_EQ(End("B", "A.orders", 0), 20);

  Ctl resumed = Run(k, {"resume", "--source", "A", "--target", "B"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_TRUE(WaitReplicated("A.orders", 0, 50)) << k.Log();
  EXPECT_EQ(ProvenanceOffsets("A.orders", 0, 1).size(), 50u);

  // Resume of a running flow is a no-op; an unknown flow is refused (exit 2) by name.
  EXPECT_EQ(Run(k, {"resume", "--flow", "A->B"}).body["changed"], false);
  Ctl unknown = Run(k, {"pause", "--flow", "A->C"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.body["error"]["message"].get<std::string>().find("A->C"), std::string::npos);

  // Every verb is in the audit trail with who ran it.
  Ctl audit = Run(k, {"audit", "--flow", "A->B"});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  std::vector<std::string> actions;
  for (const auto& e : audit.body["entries"]) {
    actions.push_back(e["action"]);
    EXPECT_NE(e["who"].get<std::string>().find("uid=" + std::to_string(::getuid())),
              std::string::npos);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"pause", "pause", "resume", "resume"}));
  // Without --json: tables, times in ISO-8601 UTC, and a verb's answer as FIELD / VALUE rows.
  auto table =
      RunCommand({BinPath("kmirrorctl"), "--socket", k.socket_path(), "audit", "--flow", "A->B"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("AT(UTC)"), std::string::npos) << table.out;
  EXPECT_TRUE(std::regex_search(table.out, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << table.out;
  auto again =
      RunCommand({BinPath("kmirrorctl"), "--socket", k.socket_path(), "resume", "--flow", "A->B"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(std::regex_search(again.out, std::regex(R"(FIELD\s+VALUE)"))) << again.out;
  EXPECT_TRUE(std::regex_search(again.out, std::regex(R"(changed\s+no)"))) << again.out;
  EXPECT_EQ(again.out.find('{'), std::string::npos) << "no raw JSON: " << again.out;
}

TEST_F(ControlTest, PlannedFailoverLosesNothingAndConsumersResumeExactly) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  Produce("A", "orders", 0, 100, "p0-");
  Produce("A", "orders", 1, 100, "p1-");
  auto committed =
      Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 60}, {"orders", 1, 40}});
  ASSERT_TRUE(committed.ok()) << committed.status();
  // Periodic group offset sync is off: the failover's final pass syncs the groups anyway.
  Kmirrord k(dir_.path(),
             FlowConfig(*sb_, "checkpoint_interval = \"500ms\"\nsync_group_offsets = false\n"));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "running"; })) << k.Log();
  ASSERT_TRUE(WaitReplicated("A.orders", 1, 100)) << k.Log();

  Ctl out = Run(k, {"failover", "--source", "A", "--target", "B", "--planned", "--timeout", "60s"});
  ASSERT_EQ(out.exit_code, 0) << out.err << out.body.dump(2) << k.Log();
  EXPECT_EQ(out.body["phase"], "failed_over");
  EXPECT_EQ(out.body["rpo_records"], 0);
  int orders_marks = 0;
  for (const auto& m : out.body["marks"]) {
    if (m["topic"] != "orders") continue;
    ++orders_marks;
    EXPECT_EQ(m["last_replicated_source_offset"], 99) << m.dump();
    EXPECT_EQ(m["source_end"], 100) << m.dump();
    EXPECT_EQ(m["missing_records"], 0) << m.dump();
  }
  EXPECT_EQ(orders_marks, 2);
  // Consumers of the group on B resume exactly where they stopped on A.
  EXPECT_EQ(Committed("B", "app", "A.orders", 0), 60);
  EXPECT_EQ(Committed("B", "app", "A.orders", 1), 40);
  EXPECT_EQ(FirstValueFor("B", "app", "A.orders", 0), "p0-60");
  EXPECT_EQ(FirstValueFor("B", "app", "A.orders", 1), "p1-40");

  // Failed over is final until failback: a repeat changes nothing, a restart copies nothing.
  Ctl again = Run(k, {"failover", "--source", "A", "--target", "B", "--planned"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(again.body["changed"], false);
  Produce("A", "orders", 0, 10, "late-");
  k.proc().Kill();
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "failed_over"; })) << k.Log();
  // The state is applied and no forward replication runs at all: nothing can be copied.
  json after = FlowStatus(k);
  EXPECT_FALSE(after.contains("replication")) << after.dump();
  EXPECT_EQ(End("B", "A.orders", 0), 100);
  EXPECT_EQ(Run(k, {"resume", "--flow", "A->B"}).exit_code, 2);  // not a way back
}

TEST_F(ControlTest, ForcedFailoverWithTheSourceDownReportsExactlyWhatIsMissing) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  Produce("A", "orders", 0, 100, "p0-");
  Produce("A", "orders", 1, 100, "p1-");
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitReplicated("A.orders", 0, 100) && WaitReplicated("A.orders", 1, 100)) << k.Log();
  // B's leader of A.orders stops accepting records: what is written on A now is seen but never
  // lands. The state topic is led by another broker, so the failover can be recorded.
  RefuseProduceOfAOrders(2);
  Produce("A", "orders", 0, 30, "lost0-");
  Produce("A", "orders", 1, 10, "lost1-");
  // The daemon observed the new end offsets before A went away.
  ASSERT_TRUE(WaitFor([&] {
    json f = FlowStatus(k);
    if (!f.is_object()) return false;
    int64_t lag = 0;
    for (const auto& p : f["replication"]["partitions"]) {
      if (p["topic"] == "orders") lag += p["source_end"].get<int64_t>() - 100;
    }
    return lag == 40;
  })) << k.Log();
  for (int broker = 1; broker <= 3; ++broker) ASSERT_TRUE(sb_->BrokerDown("A", broker).ok());

  const auto started = std::chrono::steady_clock::now();
  Ctl out = Run(k, {"failover", "--source", "A", "--target", "B", "--force"});
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(out.exit_code, 0) << out.err << out.body.dump(2) << k.Log();
  std::printf("forced failover took %.2f s\n", took);
  EXPECT_EQ(out.body["phase"], "failed_over");
  std::map<int, int64_t> missing;
  for (const auto& m : out.body["marks"]) {
    if (m["topic"] == "orders") missing[m["partition"].get<int>()] = m["missing_records"];
  }
  // The report matches what B really lacks.
  for (int p : {0, 1}) {
    const int64_t on_b = static_cast<int64_t>(ProvenanceOffsets("A.orders", p, 2).size());
    const int64_t on_a = p == 0 ? 130 : 110;
    EXPECT_EQ(missing[p], on_a - on_b) << "partition " << p;
  }
  EXPECT_EQ(out.body["rpo_records"], missing[0] + missing[1]);
  EXPECT_GT(missing[0], 0);

  // A comes back: failback finds exactly those records and exports them (operator's choice).
  for (int broker = 1; broker <= 3; ++broker) ASSERT_TRUE(sb_->BrokerUp("A", broker).ok());
  const std::string file = dir_.path() + "/divergent.jsonl";
  Ctl fb = Run(k, {"failback", "--flow", "A->B", "--export-file", file});
  ASSERT_EQ(fb.exit_code, 0) << fb.err << fb.body.dump(2) << k.Log();
  EXPECT_EQ(fb.body["divergence"]["records"], missing[0] + missing[1]);
  std::ifstream in(file);
  std::string line;
  std::map<int, int> lines;
  while (std::getline(in, line)) {
    json j = json::parse(line);
    ++lines[j["partition"].get<int>()];
    EXPECT_EQ(j["topic"], "orders");
  }
  EXPECT_EQ(lines[0], missing[0]);
  EXPECT_EQ(lines[1], missing[1]);
  // Never overwritten: a second export to the same file is refused (the flow already fails back).
  EXPECT_EQ(Run(k, {"failback", "--flow", "A->B", "--export-file", file}).body["changed"], false);
}

TEST_F(ControlTest, FailbackPreservesDivergentRecordsAndSwitchesBackWithoutDuplicates) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Produce("A", "orders", 0, 50, "a-");
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitReplicated("A.orders", 0, 50)) << k.Log();
  ASSERT_EQ(Run(k, {"failover", "--flow", "A->B", "--planned", "--timeout", "60s"}).exit_code, 0)
      << k.Log();
  // After the mark: 25 records reach A (never B), and applications write 40 on B.
  Produce("A", "orders", 0, 25, "divergent-");
  ASSERT_TRUE(sb_->CreateTopic("B", "orders", 1, 3).ok());
  Produce("B", "orders", 0, 40, "b-");

  Ctl fb = Run(k, {"failback", "--source", "A", "--target", "B"});
  ASSERT_EQ(fb.exit_code, 0) << fb.err << fb.body.dump(2) << k.Log();
  EXPECT_EQ(fb.body["phase"], "failing_back");
  EXPECT_EQ(fb.body["divergence"]["records"], 25);
  // The divergent records are preserved byte for byte in the quarantine topic on A.
  const std::string quarantine = "kmirror-quarantine.A-B.orders.internal";
  auto q = ReadAll(sb_->Bootstrap("A"), quarantine, 1);
  ASSERT_EQ(q[0].size(), 25u);
  EXPECT_EQ(q[0][0].value, "divergent-0");
  EXPECT_EQ(q[0][24].value, "divergent-24");
  // A repeat changes nothing (nothing preserved twice).
  EXPECT_EQ(Run(k, {"failback", "--source", "A", "--target", "B"}).body["changed"], false);
  EXPECT_EQ(ReadAll(sb_->Bootstrap("A"), quarantine, 1)[0].size(), 25u);

  // The reverse flow B->A carries what applications wrote on B.
  ASSERT_TRUE(WaitFor([&] { return End("A", "B.orders", 0) >= 40; })) << k.Log();
  Produce("B", "orders", 0, 5, "b-late-");
  // Consumers on B have read 20 of B's own records: after the switch back they resume on A at
  // exactly the 21st (B.orders@20).
  ASSERT_TRUE(Admin("B")->AlterConsumerGroupOffsets("app", {{"orders", 0, 20}}).ok());
  Ctl back =
      Run(k, {"failback", "--source", "A", "--target", "B", "--switch-back", "--timeout", "60s"});
  ASSERT_EQ(back.exit_code, 0) << back.err << back.body.dump(2) << k.Log();
  EXPECT_EQ(back.body["phase"], "running");
  EXPECT_EQ(End("A", "B.orders", 0), 45);
  ASSERT_TRUE(WaitFor([&] { return Committed("A", "app", "B.orders", 0) == 20; })) << k.Log();
  EXPECT_EQ(FirstValueFor("A", "app", "B.orders", 0), "b-20");

  // A->B replicates again: new records arrive once, nothing is copied twice, the divergent
  // records stay set aside and B's own records never come back as A.B.orders.
  Produce("A", "orders", 0, 10, "after-");
  ASSERT_TRUE(WaitFor([&] { return End("B", "A.orders", 0) >= 60; })) << k.Log();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto copied = ReadAll(sb_->Bootstrap("B"), "A.orders", 1)[0];
  std::set<std::string> values;
  for (const Copy& c : copied)
    EXPECT_TRUE(values.insert(*c.value).second) << "duplicate " << *c.value;
  EXPECT_EQ(copied.size(), 60u);
  EXPECT_EQ(values.count("after-9"), 1u);
  EXPECT_EQ(values.count("divergent-0"), 0u);
  auto md = Admin("B")->Metadata(std::nullopt);
  ASSERT_TRUE(md.ok());
  for (const auto& t : md->topics) EXPECT_NE(t.name, "A.B.orders");
  EXPECT_EQ(Phase(k), "running");
}

TEST_F(ControlTest, DrillPassesOnAHealthyFlowAndFailsWithItsReasonWhenTheTargetIsDown) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  Produce("A", "orders", 0, 30, "p0-");
  Produce("A", "orders", 1, 30, "p1-");
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitReplicated("A.orders", 1, 30)) << k.Log();
  ASSERT_TRUE(WaitFor([&] {
    json f = FlowStatus(k);
    return f.is_object() && f["replication"]["checkpoint_age_seconds"].is_number() &&
           f["replication"]["heartbeats"].contains("A");
  })) << k.Log();

  Ctl topology = Run(k, {"topology"});
  ASSERT_EQ(topology.exit_code, 0) << topology.err;
  EXPECT_EQ(topology.body["flows"][0]["upstreams_seen_on"]["B"]["A"]["hops"], 1)
      << topology.body.dump(2);

  Ctl ok = Run(k, {"drill", "--source", "A", "--target", "B"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err << ok.body.dump(2) << k.Log();
  EXPECT_EQ(ok.body["passed"], true);
  std::set<std::string> names;
  for (const auto& c : ok.body["checks"]) {
    names.insert(c["name"]);
    EXPECT_TRUE(c["passed"].get<bool>()) << c.dump();
  }
  EXPECT_EQ(names, (std::set<std::string>{"canary", "translation", "compare", "checkpoints",
                                          "heartbeats", "estimate"}));
  // The report is in the state topic on B.
  bool found = false;
  std::string keys;
  auto state = ReadAll(sb_->Bootstrap("B"), "kmirror-state.internal", 1);
  for (const Copy& c : state[0]) {
    found = found || (c.key && c.key->rfind("drill/A->B/", 0) == 0);
    keys += (c.key ? *c.key : "(null)") + " ";
  }
  EXPECT_TRUE(found) << keys;

  // The freshness limits are the operator's: a heartbeat older than 1 ms fails the drill.
  Ctl strict = Run(k, {"drill", "--flow", "A->B", "--max-heartbeat-age", "1ms"});
  ASSERT_EQ(strict.exit_code, 1) << strict.err << strict.body.dump(2);
  for (const auto& c : strict.body["checks"]) {
    if (c["name"] != "heartbeats") continue;
    EXPECT_FALSE(c["passed"].get<bool>()) << c.dump();
    EXPECT_NE(c["detail"].get<std::string>().find("(limit 0.001 s)"), std::string::npos)
        << c.dump();
  }
  EXPECT_EQ(Run(k, {"drill", "--flow", "A->B", "--max-checkpoint-age", "soon"}).exit_code, 64);

  for (int broker = 1; broker <= 3; ++broker) ASSERT_TRUE(sb_->BrokerDown("B", broker).ok());
  Ctl bad = Run(k, {"drill", "--source", "A", "--target", "B", "--timeout", "8s"});
  ASSERT_EQ(bad.exit_code, 1) << bad.err << k.Log();
  EXPECT_EQ(bad.body["passed"], false);
  ASSERT_TRUE(bad.body["checks"].is_array());
  EXPECT_EQ(bad.body["checks"][0]["name"], "canary");
  EXPECT_EQ(bad.body["checks"][0]["passed"], false);
  EXPECT_NE(bad.body["checks"][0]["detail"].get<std::string>().find("did not reach B"),
            std::string::npos)
      << bad.body.dump(2);
  EXPECT_TRUE(k.proc().Running());
}

TEST_F(ControlTest, ASecondVerbIsRefusedWhileOneRunsAndGarbageIsAnswered) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "running"; })) << k.Log();
  // The instance must hold the partition before a failover can record its mark.
  Produce("A", "orders", 0, 5, "w-");
  ASSERT_TRUE(WaitReplicated("A.orders", 0, 5)) << k.Log();
  // A planned failover that cannot drain (B refuses records for A.orders) holds the flow.
  RefuseProduceOfAOrders(1);
  Produce("A", "orders", 0, 10, "x-");
  std::thread failover([&] {
    Ctl f = Run(k, {"failover", "--flow", "A->B", "--planned", "--timeout", "6s"});
    EXPECT_EQ(f.exit_code, 1) << f.body.dump(2);  // timed out, nothing changed
    EXPECT_EQ(f.body["error"]["code"], "timeout");
  });
  const bool in_progress = WaitFor(
      [&] {
        json st = FlowStatus(k);
        return st.is_object() && st["operation_in_progress"] == "planned failover";
      },
      std::chrono::seconds(10));
  Ctl pause = Run(k, {"pause", "--flow", "A->B"});
  failover.join();  // joined before any assertion can return
  ASSERT_TRUE(in_progress) << k.Log();
  EXPECT_EQ(pause.exit_code, 2);
  EXPECT_EQ(pause.body["error"]["code"], "conflict");
  EXPECT_NE(
      pause.body["error"]["message"].get<std::string>().find("planned failover is in progress"),
      std::string::npos);
  EXPECT_EQ(Phase(k), "running");

  // Garbage on the daemon's socket gets an answer or a close; the daemon keeps serving.
  for (const std::string& junk :
       {std::string("\x16\x03\x01\x02\x00", 5), std::string("GET\r\n\r\n"),
        std::string("POST /v1/flows/A-%3EB/pause HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n{"),
        std::string("POST /v1/flows/A-%3EB/failover HTTP/1.1\r\nContent-Length: 5\r\n\r\n{{{{{")}) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", k.socket_path().c_str());
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    ASSERT_GT(::write(fd, junk.data(), junk.size()), 0);
    ::shutdown(fd, SHUT_WR);
    char buf[4096];
    std::string reply;
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) reply.append(buf, static_cast<size_t>(n));
    ::close(fd);
    EXPECT_TRUE(reply.empty() || reply.rfind("HTTP/1.1 4", 0) == 0) << reply;
  }
  Ctl bad_mode = Run(k, {"failover", "--flow", "A->B", "--planned", "--timeout", "x"});
  EXPECT_EQ(bad_mode.exit_code, 64);
  EXPECT_EQ(Phase(k), "running");
  EXPECT_TRUE(k.proc().Running());
}

TEST_F(ControlTest, AnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run kmirrorctl as another user";
  Kmirrord k(dir_.path(), FlowConfig(*sb_));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k) == "running"; })) << k.Log();
  // The test directory must be traversable for the socket's own permissions to decide.
  ::chmod(dir_.path().c_str(), 0755);
  auto r =
      RunCommand({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                  BinPath("kmirrorctl"), "--socket", k.socket_path(), "pause", "--flow", "A->B"});
  EXPECT_EQ(r.exit_code, 77) << r.out << r.err;
  EXPECT_NE(r.err.find("ermission"), std::string::npos) << r.err;
  EXPECT_EQ(Phase(k), "running");
}

}  // namespace
}  // namespace kmirror::testing

namespace kmirror::testing {
namespace {

// Group offset sync can be paused for one group (before its consumers start on the target);
// the pause is persisted, counted, and lifted by --resume.
TEST_F(ControlTest, GroupOffsetSyncPausesPerGroupAndThePauseSurvivesARestart) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Produce("A", "orders", 0, 50, "a-");
  auto admin = Admin("A");
  ASSERT_TRUE(admin->AlterConsumerGroupOffsets("app", {{"orders", 0, 20}}).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_, kFast));
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return Committed("B", "app", "A.orders", 0) == 20; })) << k.Log();

  Ctl paused = Run(k, {"group-sync", "app", "--flow", "A->B"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(paused.body["paused_groups"], json::array({"app"}));
  ASSERT_TRUE(admin->AlterConsumerGroupOffsets("app", {{"orders", 0, 30}}).ok());
  const std::string skipped =
      "kmirror_group_offset_syncs_skipped_total{flow=\"A->B\",reason=\"paused\"}";
  ASSERT_TRUE(WaitFor([&] { return k.Sample(skipped).value_or(0) >= 2; })) << k.Log();
  EXPECT_EQ(Committed("B", "app", "A.orders", 0), 20);

  k.proc().Kill();
  k.Start();
  ASSERT_TRUE(WaitFor([&] { return k.Sample(skipped).value_or(0) >= 2; })) << k.Log();
  EXPECT_EQ(Committed("B", "app", "A.orders", 0), 20);
  EXPECT_EQ(FlowStatus(k)["state"]["paused_groups"], json::array({"app"}));

  Ctl resumed = Run(k, {"group-sync", "app", "--resume", "--flow", "A->B"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  ASSERT_TRUE(WaitFor([&] { return Committed("B", "app", "A.orders", 0) == 30; })) << k.Log();
}

}  // namespace
}  // namespace kmirror::testing

namespace kmirror::testing {
namespace {

// Another instance of the same flow honours a verb given to the first: it reads the flow's state
// from the target and applies it within its poll interval.
// Two instances of the flow ("test" and "two") sharing `orders` (kParts partitions, 20 records
// each, all replicated), each holding some of its partitions.
constexpr int kParts = 4;
class TwoInstanceTest : public ControlTest {
 protected:
  void SetUp() override {
    ControlTest::SetUp();
    ASSERT_TRUE(sb_->CreateTopic("A", "orders", kParts, 3).ok());
    for (int p = 0; p < kParts; ++p) Produce("A", "orders", p, 20, "p" + std::to_string(p) + "-");
    std::string second = FlowConfig(*sb_, kFast);
    second.replace(second.find("instance_id = \"test\""), 20, "instance_id = \"two\" ");
    k1_ = std::make_unique<Kmirrord>(dir_.path(), FlowConfig(*sb_, kFast), "one");
    k2_ = std::make_unique<Kmirrord>(dir_.path(), second, "two");
    k1_->Start();
    k2_->Start();
    ASSERT_TRUE(WaitFor(
        [&] {
          for (int p = 0; p < kParts; ++p) {
            if (End("B", "A.orders", p) < 20) return false;
          }
          const int held = HeldOrders(*k1_).size();
          return held > 0 && held < kParts && HeldOrders(*k2_).size() + held == kParts;
        },
        std::chrono::seconds(90)))
        << FlowStatus(*k1_).dump(2) << FlowStatus(*k2_).dump(2);
    // Each instance's report in the state topic (every 5 s) shows what it holds now, copied: a
    // report from before the copy would count its records in every RPO figure read from it.
    ASSERT_TRUE(WaitFor(
        [&] {
          json f = FlowStatus(*k1_);
          if (!f.is_object()) return false;
          std::map<std::string, size_t> reported;
          for (const auto& i : f["instances"]) {
            if (i.contains("replication") && i["replication"]["drained"] == true) {
              reported[i["instance"]] = i["replication"]["partitions"];
            }
          }
          return reported["test"] == f["replication"]["partitions"].size() &&
                 reported["two"] == FlowStatus(*k2_)["replication"]["partitions"].size();
        },
        std::chrono::seconds(30)))
        << FlowStatus(*k1_).dump(2) << FlowStatus(*k2_).dump(2);
  }
  // The orders partitions `k` holds, with the source end offset it last saw.
  std::map<int, int64_t> HeldOrders(Kmirrord& k) {
    std::map<int, int64_t> held;
    json f = FlowStatus(k);
    if (!f.is_object() || !f.contains("replication")) return held;
    for (const auto& p : f["replication"]["partitions"]) {
      if (p["topic"] == "orders") held[p["partition"].get<int>()] = p["source_end"];
    }
    return held;
  }
  // The marks of `orders` in a failover report, by partition.
  static std::map<int, json> OrdersMarks(const json& report) {
    std::map<int, json> marks;
    for (const auto& m : report["marks"]) {
      if (m["topic"] == "orders") marks[m["partition"].get<int>()] = m;
    }
    return marks;
  }
  std::unique_ptr<Kmirrord> k1_, k2_;
};

// A planned failover run on one instance records the marks of every partition (the other's from
// its reports and B's tails), so failback preserves what either instance's partitions never
// copied.
TEST_F(TwoInstanceTest, PlannedFailoverAndFailbackCoverEveryInstancesPartitions) {
  // A paused flow cannot drain on the other instance: the failover is refused until resumed.
  ASSERT_EQ(Run(*k1_, {"pause", "--flow", "A->B"}).exit_code, 0);
  Ctl paused = Run(*k1_, {"failover", "--flow", "A->B", "--planned", "--timeout", "60s"});
  EXPECT_EQ(paused.exit_code, 2) << paused.err << paused.body.dump(2);
  EXPECT_NE(paused.err.find("is paused and other instances hold"), std::string::npos) << paused.err;
  ASSERT_EQ(Run(*k1_, {"resume", "--flow", "A->B"}).exit_code, 0);

  Ctl out = Run(*k1_, {"failover", "--flow", "A->B", "--planned", "--timeout", "60s"});
  ASSERT_EQ(out.exit_code, 0) << out.err << out.body.dump(2) << k1_->Log();
  auto marks = OrdersMarks(out.body);
  EXPECT_EQ(marks.size(), static_cast<size_t>(kParts)) << out.body.dump(2);
  for (const auto& [p, m] : marks) {
    EXPECT_EQ(m["missing_records"], 0) << m.dump();
    EXPECT_EQ(m["last_replicated_source_offset"], 19) << m.dump();
  }
  EXPECT_TRUE(out.body["partitions_by_instance"].contains("two")) << out.body.dump(2);
  EXPECT_FALSE(out.body.contains("warning")) << out.body.dump(2);
  EXPECT_EQ(out.body["rpo_records"], 0);
  ASSERT_TRUE(WaitFor([&] { return Phase(*k2_) == "failed_over"; }, std::chrono::seconds(20)));

  // Records written on A after the failover, on every partition, are preserved by the failback,
  // whichever instance held the partition.
  for (int p = 0; p < kParts; ++p) Produce("A", "orders", p, 5, "after-");
  Ctl fb = Run(*k2_, {"failback", "--source", "A", "--target", "B"});
  ASSERT_EQ(fb.exit_code, 0) << fb.err << fb.body.dump(2) << k2_->Log();
  EXPECT_EQ(fb.body["divergence"]["records"], 5 * kParts) << fb.body.dump(2);
  auto q = ReadAll(sb_->Bootstrap("A"), "kmirror-quarantine.A-B.orders.internal", kParts);
  for (int p = 0; p < kParts; ++p) {
    ASSERT_EQ(q[p].size(), 5u) << "partition " << p;
    EXPECT_EQ(*q[p][0].value, "after-0");
  }
}

// With A down, a forced failover takes the other instance's partitions from its last report:
// every partition's missing count is what B really lacks.
TEST_F(TwoInstanceTest, ForcedFailoverReportsWhatEveryInstancesPartitionsMiss) {
  RefuseProduceOfAOrders(kParts);
  for (int p = 0; p < kParts; ++p) Produce("A", "orders", p, 10, "lost-");
  // Both instances saw the new end offsets, and reported them (every 5 s).
  ASSERT_TRUE(WaitFor(
      [&] {
        auto held = HeldOrders(*k1_);
        held.merge(HeldOrders(*k2_));
        if (held.size() != static_cast<size_t>(kParts)) return false;
        for (const auto& [p, end] : held) {
          if (end != 30) return false;
        }
        return true;
      },
      std::chrono::seconds(60)))
      << FlowStatus(*k1_).dump(2) << FlowStatus(*k2_).dump(2);
  std::this_thread::sleep_for(std::chrono::seconds(6));
  for (int broker = 1; broker <= 3; ++broker) ASSERT_TRUE(sb_->BrokerDown("A", broker).ok());

  Ctl out = Run(*k1_, {"failover", "--source", "A", "--target", "B", "--force"});
  ASSERT_EQ(out.exit_code, 0) << out.err << out.body.dump(2) << k1_->Log();
  EXPECT_TRUE(out.body["partitions_by_instance"].contains("two")) << out.body.dump(2);
  auto marks = OrdersMarks(out.body);
  ASSERT_EQ(marks.size(), static_cast<size_t>(kParts)) << out.body.dump(2);
  int64_t total = 0;
  for (const auto& [p, m] : marks) {
    const int64_t on_b = static_cast<int64_t>(ProvenanceOffsets("A.orders", p, kParts).size());
    EXPECT_EQ(m["source_end"], 30) << m.dump();
    EXPECT_EQ(m["missing_records"], 30 - on_b) << m.dump();
    total += 30 - on_b;
  }
  EXPECT_GT(total, 0);
  EXPECT_EQ(out.body["rpo_records"], total);
  ASSERT_TRUE(WaitFor([&] { return Phase(*k2_) == "failed_over"; }, std::chrono::seconds(20)));
}

// A drill passes on either instance, whichever holds the canary partition: the canaries are
// followed on the target, and the comparison samples the flow's partitions, not just its own.
TEST_F(TwoInstanceTest, DrillPassesOnEitherInstance) {
  for (Kmirrord* k : {k1_.get(), k2_.get()}) {
    ASSERT_TRUE(WaitFor([&] {
      json f = FlowStatus(*k);
      return f.is_object() && f["replication"]["checkpoint_age_seconds"].is_number() &&
             f["replication"]["heartbeats"].contains("A");
    })) << k->Log();
  }
  for (Kmirrord* k : {k1_.get(), k2_.get()}) {
    Ctl drill = Run(*k, {"drill", "--source", "A", "--target", "B"});
    ASSERT_EQ(drill.exit_code, 0) << drill.err << drill.body.dump(2) << k->Log();
    for (const auto& c : drill.body["checks"]) {
      EXPECT_TRUE(c["passed"].get<bool>()) << c.dump();
      // 20 canaries and 5 records from each of 3 of the 4 orders partitions.
      if (c["name"] == "compare") {
        EXPECT_EQ(c["records"], 20 + 3 * 5) << c.dump();
      }
      if (c["name"] == "estimate") {
        EXPECT_EQ(c["rpo_records"], 0) << c.dump();
      }
    }
  }
}

TEST_F(ControlTest, AnotherInstanceOfTheFlowFollowsThePersistedState) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 4, 3).ok());
  std::string second = FlowConfig(*sb_, kFast);
  second.replace(second.find("instance_id = \"test\""), 20, "instance_id = \"two\" ");
  Kmirrord k1(dir_.path(), FlowConfig(*sb_, kFast), "one");
  Kmirrord k2(dir_.path(), second, "two");
  k1.Start();
  k2.Start();
  ASSERT_TRUE(WaitFor([&] { return Phase(k1) == "running" && Phase(k2) == "running"; }));
  ASSERT_EQ(Run(k1, {"pause", "--flow", "A->B"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Phase(k2) == "paused"; }, std::chrono::seconds(20))) << k2.Log();
  EXPECT_TRUE(WaitFor([&] { return FlowStatus(k2)["replication"]["paused"] == true; },
                      std::chrono::seconds(10)));
  ASSERT_EQ(Run(k2, {"resume", "--flow", "A->B"}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return Phase(k1) == "running"; }, std::chrono::seconds(20)))
      << k1.Log();
  // Both report their share; together they hold every partition.
  ASSERT_TRUE(WaitFor(
      [&] {
        json f = FlowStatus(k1);
        if (!f.is_object() || f["instances"].size() != 2) return false;
        int64_t partitions = 0;
        for (const auto& i : f["instances"]) {
          if (i.contains("replication"))
            partitions += i["replication"]["partitions"].get<int64_t>();
        }
        return partitions == 4 + 2;  // orders, heartbeats, kmirror-drill
      },
      std::chrono::seconds(60)))
      << FlowStatus(k1).dump(2);

  // Each instance's state as the others see it: a clean stop is recorded, a killed instance
  // goes stale once it misses its reports.
  auto state_of = [&](const std::string& instance) {
    json f = FlowStatus(k1);
    if (!f.is_object()) return std::string();
    for (const auto& i : f["instances"]) {
      if (i["instance"] == instance) return i.value("state", "");
    }
    return std::string();
  };
  EXPECT_EQ(state_of("test"), "active");
  k2.proc().Signal(SIGTERM);
  ASSERT_EQ(k2.proc().Wait(std::chrono::seconds(60)), 0) << k2.Log();
  ASSERT_TRUE(WaitFor([&] { return state_of("two") == "stopped"; }, std::chrono::seconds(20)))
      << FlowStatus(k1).dump(2);
  auto table = RunCommand({BinPath("kmirrorctl"), "--socket", k1.socket_path(), "status"});
  EXPECT_NE(table.out.find("stopped"), std::string::npos) << table.out << table.err;
  Kmirrord k3(dir_.path(), second, "three");  // instance "two" again, then killed
  k3.Start();
  ASSERT_TRUE(WaitFor([&] { return state_of("two") == "active"; }, std::chrono::seconds(60)))
      << k3.Log();
  k3.proc().Kill();
  ASSERT_TRUE(WaitFor([&] { return state_of("two") == "stale"; }, std::chrono::seconds(40)))
      << FlowStatus(k1).dump(2);
}

}  // namespace
}  // namespace kmirror::testing
