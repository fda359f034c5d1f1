// Remote topic management against real Kafka protocol: the Syncer with its Kafka admin and ACL
// ledger on in-process sandbox clusters (creation, config sync, partition growth, ACL sync, a
// restart), and kmirrord as a process (the --plan dry run, and a running daemon keeping a remote
// topic's configs, partitions and ACLs in step with the source).
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/producer.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"
#include "lib/policy/topic_selector.h"
#include "lib/sandbox/sandbox.h"
#include "lib/topicsync/kafka_admin.h"
#include "lib/topicsync/syncer.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"
#include "tests/support/sandbox_process.h"
#include "tests/support/two_clusters.h"

namespace kmirror::topicsync {
namespace {

using kafka::AclBinding;
using kafka::AclOperation;
using kafka::AclPermission;
using kafka::AdminClient;
using kafka::ConfigSource;
using kafka::PatternType;
using kafka::Properties;
using kafka::ResourceType;
using ::testing::Contains;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

constexpr std::chrono::seconds kAdminTimeout(10);

AclBinding Acl(ResourceType type, std::string name, PatternType pattern, std::string principal,
               AclOperation op, AclPermission perm = AclPermission::kAllow) {
  return AclBinding{type, std::move(name), pattern, std::move(principal), "*", op, perm};
}
AclBinding TopicAcl(std::string name, std::string principal, AclOperation op,
                    AclPermission perm = AclPermission::kAllow) {
  return Acl(ResourceType::kTopic, std::move(name), PatternType::kLiteral, std::move(principal), op,
             perm);
}

// A topic's overrides (DYNAMIC_TOPIC_CONFIG) as the cluster reports them; a failure is reported
// as the single entry {"<error>", message}, so that awaiting a topic's creation is possible.
std::map<std::string, std::string> Overrides(AdminClient& admin, const std::string& topic) {
  auto rc = admin.DescribeConfigs({{kafka::ConfigResourceType::kTopic, topic}}, kAdminTimeout);
  std::map<std::string, std::string> out;
  if (!rc.ok()) return {{"<error>", rc.status().ToString()}};
  if (rc->empty()) return {{"<error>", "no result"}};
  if (!rc->front().status.ok()) return {{"<error>", rc->front().status.ToString()}};
  for (const auto& e : rc->front().entries) {
    if (e.source == ConfigSource::kDynamicTopic && e.value) out[e.name] = *e.value;
  }
  return out;
}

std::vector<AclBinding> AllAcls(AdminClient& admin) {
  auto acls = admin.DescribeAcls(kafka::AclBindingFilter{}, kAdminTimeout);
  EXPECT_TRUE(acls.ok()) << acls.status();
  return acls.ok() ? *acls : std::vector<AclBinding>{};
}

// The topic's partitions and the replica count of partition 0 (-1 if absent).
std::pair<int, int> Shape(AdminClient& admin, const std::string& topic) {
  auto md = admin.Metadata(std::vector<std::string>{topic}, kAdminTimeout);
  if (!md.ok() || md->topics.empty() || !md->topics.front().status.ok()) return {-1, -1};
  const auto& t = md->topics.front();
  return {static_cast<int>(t.partitions.size()),
          t.partitions.empty() ? -1 : static_cast<int>(t.partitions.front().replicas.size())};
}

void CreateTopic(AdminClient& admin, const std::string& name, int partitions,
                 std::map<std::string, std::string> configs = {}) {
  auto res =
      admin.CreateTopics({kafka::NewTopic{name, partitions, 3, std::move(configs)}}, kAdminTimeout);
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_TRUE(res->front().status.ok()) << res->front().status;
}

void SetOverrides(AdminClient& admin, const std::string& topic,
                  std::map<std::string, std::string> configs) {
  auto res = admin.AlterConfigs(
      {kafka::AlterConfigsResource{{kafka::ConfigResourceType::kTopic, topic}, std::move(configs)}},
      kAdminTimeout);
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_TRUE(res->front().status.ok()) << res->front().status;
}

void AddAcls(AdminClient& admin, const std::vector<AclBinding>& acls) {
  auto res = admin.CreateAcls(acls, kAdminTimeout);
  ASSERT_TRUE(res.ok()) << res.status();
  for (const auto& s : *res) ASSERT_TRUE(s.ok()) << s;
}

void RemoveAcl(AdminClient& admin, const AclBinding& b) {
  kafka::AclBindingFilter f{b.resource_type, b.name,      b.pattern_type, b.principal,
                            b.host,          b.operation, b.permission};
  auto res = admin.DeleteAcls({f}, kAdminTimeout);
  ASSERT_TRUE(res.ok()) << res.status();
  ASSERT_EQ(res->front().deleted.size(), 1u);
}

std::vector<std::string> Kinds(const SyncResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.changes) {
    out.push_back(std::string(ToString(c.kind)) + " " + c.resource +
                  (c.name.empty() ? "" : " " + c.name));
  }
  return out;
}

// ---- The Syncer on in-process clusters --------------------------------------------------------

class SyncerSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sb = sandbox::Sandbox::Start({{"A", 3, false, 16}, {"B", 3, false, 16}});
    ASSERT_TRUE(sb.ok()) << sb.status();
    sandbox_ = std::move(*sb);
    source_props_ = Props("A");
    target_props_ = Props("B");
    auto a = AdminClient::Create(source_props_);
    ASSERT_TRUE(a.ok()) << a.status();
    source_ = std::move(*a);
    auto b = AdminClient::Create(target_props_);
    ASSERT_TRUE(b.ok()) << b.status();
    target_ = std::move(*b);
    auto admin = KafkaSyncAdmin::Create(source_props_, target_props_);
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = std::move(*admin);
    selector_ = std::make_shared<policy::TopicSelector>(
        std::make_shared<policy::PrefixPolicy>(), policy::NameFilter::DefaultTopics(), "A", "B");
    groups_ = std::make_shared<policy::NameFilter>(policy::NameFilter::DefaultGroups());
    syncer_ = NewSyncer();
  }
  void TearDown() override {
    syncer_.reset();
    ledgers_.clear();
    admin_.reset();
    source_.reset();
    target_.reset();
    sandbox_.reset();
  }
  Properties Props(const std::string& cluster) {
    return Properties{{"bootstrap.servers", sandbox_->cluster(cluster)->bootstrap()},
                      {"log_level", "3"}};
  }
  // A Syncer as a fresh kmirrord instance of flow A->B would build it.
  std::unique_ptr<Syncer> NewSyncer() {
    ledgers_.push_back(std::make_unique<KafkaAclLedger>(target_props_, "A->B"));
    SyncOptions o;
    o.flow = "A->B";
    o.replication_factor = 5;  // more than B's 3 brokers
    auto sel = selector_;
    auto groups = groups_;
    o.selection.replicate_topic = [sel](const std::string& t) { return sel->ShouldReplicate(t); };
    o.selection.remote_topic = [sel](const std::string& t) { return sel->RemoteTopic(t); };
    o.selection.sync_group = [groups](const std::string& g) { return groups->Matches(g); };
    auto s = Syncer::Create(std::move(o), admin_.get(), ledgers_.back().get(), nullptr);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }

  std::unique_ptr<sandbox::Sandbox> sandbox_;
  Properties source_props_, target_props_;
  std::unique_ptr<AdminClient> source_, target_;
  std::unique_ptr<KafkaSyncAdmin> admin_;
  std::shared_ptr<policy::TopicSelector> selector_;
  std::shared_ptr<policy::NameFilter> groups_;
  std::vector<std::unique_ptr<KafkaAclLedger>> ledgers_;
  std::unique_ptr<Syncer> syncer_;
};

TEST_F(SyncerSandboxTest, CreatesRemoteTopicWithFilteredSourceConfigsAndCappedReplicas) {
  CreateTopic(*source_, "orders", 3,
              {{"retention.ms", "3600000"},
               {"cleanup.policy", "compact"},
               {"min.insync.replicas", "2"},                   // excluded by default
               {"message.timestamp.type", "LogAppendTime"}});  // excluded by default
  SyncResult r = syncer_->SyncTopics(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_EQ(Shape(*target_, "A.orders"), std::make_pair(3, 3));
  EXPECT_EQ(Overrides(*target_, "A.orders"),
            (std::map<std::string, std::string>{{"cleanup.policy", "compact"},
                                                {"retention.ms", "3600000"}}));
  // Nothing left to do.
  EXPECT_THAT(Kinds(syncer_->Plan()), IsEmpty());
}

TEST_F(SyncerSandboxTest, ConfigSyncSetsResetsAndKeepsTargetOverridesOfExcludedKeys) {
  CreateTopic(*source_, "orders", 1, {{"retention.ms", "3600000"}});
  ASSERT_TRUE(syncer_->SyncTopics(true).ok());
  // On the target an operator pins min.insync.replicas (excluded) and tweaks retention.
  SetOverrides(*target_, "A.orders", {{"retention.ms", "1"}, {"min.insync.replicas", "2"}});
  // On the source retention goes back to its default and segment.ms is set.
  SetOverrides(*source_, "orders", {{"segment.ms", "600000"}, {"min.insync.replicas", "1"}});

  SyncResult r = syncer_->SyncConfigs(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_THAT(Kinds(r), UnorderedElementsAre("config_set A.orders segment.ms",
                                             "config_reset A.orders retention.ms"));
  EXPECT_EQ(
      Overrides(*target_, "A.orders"),
      (std::map<std::string, std::string>{{"min.insync.replicas", "2"}, {"segment.ms", "600000"}}));
  EXPECT_THAT(Kinds(syncer_->SyncConfigs(true)), IsEmpty());
}

TEST_F(SyncerSandboxTest, RemoteTopicGainsTheSourcePartitions) {
  CreateTopic(*source_, "orders", 2);
  ASSERT_TRUE(syncer_->SyncTopics(true).ok());
  auto grown = source_->CreatePartitions({kafka::NewPartitions{"orders", 5}}, kAdminTimeout);
  ASSERT_TRUE(grown.ok() && grown->front().status.ok());
  EXPECT_THAT(Kinds(syncer_->Plan()), UnorderedElementsAre("partitions_added A.orders"));
  ASSERT_TRUE(syncer_->SyncTopics(true).ok());
  EXPECT_EQ(Shape(*target_, "A.orders").first, 5);
}

TEST_F(SyncerSandboxTest, AclsFollowTheSourceAndForeignAclsAreNeverTouched) {
  CreateTopic(*source_, "orders", 1);
  CreateTopic(*source_, "__internal_stuff", 1);
  ASSERT_TRUE(syncer_->SyncTopics(true).ok());
  const std::vector<AclBinding> source_acls = {
      TopicAcl("orders", "User:reader", AclOperation::kRead),
      TopicAcl("orders", "User:writer", AclOperation::kWrite),  // dropped
      TopicAcl("orders", "User:admin", AclOperation::kAll),     // becomes READ
      TopicAcl("orders", "User:mallory", AclOperation::kRead, AclPermission::kDeny),
      TopicAcl("orders", "User:shared", AclOperation::kRead),
      Acl(ResourceType::kTopic, "ord", PatternType::kPrefixed, "User:pre", AclOperation::kDescribe),
      Acl(ResourceType::kGroup, "billing", PatternType::kLiteral, "User:reader",
          AclOperation::kRead),
      Acl(ResourceType::kGroup, "console-consumer-7", PatternType::kLiteral, "User:reader",
          AclOperation::kRead),                                          // excluded group
      TopicAcl("__internal_stuff", "User:reader", AclOperation::kRead),  // not replicated
      Acl(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral, "User:admin",
          AclOperation::kAlter),  // cluster ACLs are the target's own business
  };
  AddAcls(*source_, source_acls);
  // Already on the target before kmirror: an unrelated binding and one equal to a mapped one.
  const AclBinding ops = TopicAcl("A.orders", "User:ops", AclOperation::kDescribe);
  const AclBinding shared = TopicAcl("A.orders", "User:shared", AclOperation::kRead);
  AddAcls(*target_, {ops, shared});

  SyncResult r = syncer_->SyncAcls(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  const AclBinding reader = TopicAcl("A.orders", "User:reader", AclOperation::kRead);
  const AclBinding admin = TopicAcl("A.orders", "User:admin", AclOperation::kRead);
  const AclBinding deny =
      TopicAcl("A.orders", "User:mallory", AclOperation::kRead, AclPermission::kDeny);
  const AclBinding prefixed = Acl(ResourceType::kTopic, "A.ord", PatternType::kPrefixed, "User:pre",
                                  AclOperation::kDescribe);
  const AclBinding group = Acl(ResourceType::kGroup, "billing", PatternType::kLiteral,
                               "User:reader", AclOperation::kRead);
  EXPECT_THAT(AllAcls(*target_),
              UnorderedElementsAre(ops, shared, reader, admin, deny, prefixed, group));
  EXPECT_EQ(r.changes.size(), 5u);  // `shared` was already there

  // The source drops the reader's ACLs and the shared one: kmirror removes the bindings it
  // created; `shared` was there before kmirror, so it stays, as does `ops`.
  RemoveAcl(*source_, source_acls[0]);
  RemoveAcl(*source_, source_acls[4]);
  RemoveAcl(*source_, source_acls[6]);
  r = syncer_->SyncAcls(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_THAT(Kinds(r), UnorderedElementsAre("acl_removed " + kafka::ToString(reader),
                                             "acl_removed " + kafka::ToString(group)));
  EXPECT_THAT(AllAcls(*target_), UnorderedElementsAre(ops, shared, admin, deny, prefixed));

  // A restarted instance knows what kmirror created (the ledger lives on the target cluster).
  syncer_ = NewSyncer();
  RemoveAcl(*source_, source_acls[2]);
  r = syncer_->SyncAcls(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_THAT(Kinds(r), UnorderedElementsAre("acl_removed " + kafka::ToString(admin)));
  EXPECT_THAT(AllAcls(*target_), UnorderedElementsAre(ops, shared, deny, prefixed));
}

// ---- kmirrord as a process --------------------------------------------------------------------

class TopicSyncProcessTest : public testing::TwoClusterTest {
 protected:
  void SetUp() override {
    TwoClusterTest::SetUp();
    if (HasFatalFailure()) return;
    auto a = AdminClient::Create(Properties{{"bootstrap.servers", sb_->Bootstrap("A")}});
    ASSERT_TRUE(a.ok()) << a.status();
    source_ = std::move(*a);
    auto b = AdminClient::Create(Properties{{"bootstrap.servers", sb_->Bootstrap("B")}});
    ASSERT_TRUE(b.ok()) << b.status();
    target_ = std::move(*b);
  }
  void TearDown() override {
    source_.reset();
    target_.reset();
  }
  // Writes `text` to a file of the test's directory and returns its path.
  std::string WriteConfig(const std::string& text) {
    const std::string path = dir_.File("kmirrord.toml");
    FILE* f = std::fopen(path.c_str(), "w");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return path;
  }

  std::unique_ptr<AdminClient> source_, target_;
};

TEST_F(TopicSyncProcessTest, PlanPrintsTheNextChangesAsJsonAndMakesNone) {
  CreateTopic(*source_, "orders", 2, {{"retention.ms", "3600000"}});
  CreateTopic(*target_, "A.payments", 1, {{"retention.ms", "5"}});
  CreateTopic(*source_, "payments", 3);
  AddAcls(*source_, {TopicAcl("orders", "User:reader", AclOperation::kRead),
                     TopicAcl("orders", "User:writer", AclOperation::kWrite)});

  testing::CommandResult run =
      testing::RunCommand({testing::BinPath("kmirrord"), "--check-config",
                           WriteConfig(testing::FlowConfig(*sb_)), "--plan"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json plan = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(plan.is_object()) << run.out;
  ASSERT_EQ(plan["flows"].size(), 1u) << run.out;
  const nlohmann::json& flow = plan["flows"][0];
  EXPECT_EQ(flow["flow"], "A->B");
  EXPECT_THAT(flow["errors"], IsEmpty());
  std::set<std::string> changes;
  for (const auto& c : flow["changes"]) {
    changes.insert(c["kind"].get<std::string>() + " " + c["resource"].get<std::string>() + " " +
                   c.value("name", "") + " " +
                   (c["before"].is_null() ? "-" : c["before"].get<std::string>()) + " " +
                   (c["after"].is_null() ? "-" : c["after"].get<std::string>()));
  }
  EXPECT_EQ(changes,
            (std::set<std::string>{
                "topic_created A.orders  - partitions=2 replication_factor=-1 retention.ms=3600000",
                "partitions_added A.payments  1 3",
                "config_reset A.payments retention.ms 5 -",
                "acl_added (TOPIC:LITERAL:A.orders, User:reader, *, READ, ALLOW)  - present",
            }))
      << run.out;
  // Nothing was changed on the target.
  EXPECT_EQ(Shape(*target_, "A.orders").first, -1);
  EXPECT_EQ(Shape(*target_, "A.payments").first, 1);
  EXPECT_EQ(Overrides(*target_, "A.payments"),
            (std::map<std::string, std::string>{{"retention.ms", "5"}}));
  EXPECT_THAT(AllAcls(*target_), IsEmpty());
  EXPECT_EQ(Shape(*target_, kAclLedgerTopic).first, -1);
}

TEST_F(TopicSyncProcessTest, PlanReportsAnUnreachableClusterAndFails) {
  std::string text = testing::FlowConfig(*sb_);
  const std::string b = sb_->Bootstrap("B");
  text.replace(text.find(b), b.size(), "127.0.0.1:1");  // nothing listens on port 1
  testing::CommandResult run = testing::RunCommand(
      {testing::BinPath("kmirrord"), "--check-config", WriteConfig(text), "--plan"});
  EXPECT_EQ(run.exit_code, 1) << run.err;
  nlohmann::json plan = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(plan.is_object()) << run.out;
  EXPECT_THAT(plan["flows"][0]["changes"], IsEmpty());
  ASSERT_EQ(plan["flows"][0]["errors"].size(), 1u) << run.out;
  EXPECT_THAT(plan["flows"][0]["errors"][0].get<std::string>(),
              ::testing::StartsWith("listing topics: "));
}

TEST_F(TopicSyncProcessTest, PlanWithoutCheckConfigIsAUsageError) {
  testing::CommandResult run = testing::RunCommand({testing::BinPath("kmirrord"), "--plan"});
  EXPECT_EQ(run.exit_code, 64);
}

TEST_F(TopicSyncProcessTest, RunningDaemonKeepsRemoteTopicInStep) {
  CreateTopic(*source_, "orders", 2, {{"retention.ms", "3600000"}});
  AddAcls(*source_, {TopicAcl("orders", "User:reader", AclOperation::kRead)});
  testing::Kmirrord k(dir_.path(),
                      testing::FlowConfig(*sb_,
                                          "replication_factor = 7\n"
                                          "config_sync_interval = \"1s\"\n"
                                          "acl_sync_interval = \"1s\"\n"
                                          "[flows.source_kafka]\n"
                                          "\"topic.metadata.refresh.interval.ms\" = 1000\n"));
  k.Start();
  ASSERT_TRUE(testing::WaitFor([&] {
    return Overrides(*target_, "A.orders") ==
           std::map<std::string, std::string>{{"retention.ms", "3600000"}};
  })) << k.Log();
  EXPECT_EQ(Shape(*target_, "A.orders"), std::make_pair(2, 3));  // RF 7 capped at 3 brokers
  const AclBinding reader = TopicAcl("A.orders", "User:reader", AclOperation::kRead);
  ASSERT_TRUE(testing::WaitFor([&] {
    auto acls = AllAcls(*target_);
    return acls.size() == 1 && acls.front() == reader;
  })) << k.Log();

  // The source changes: new retention, one more partition with data in it, the ACL goes away.
  SetOverrides(*source_, "orders", {{"retention.ms", "7200000"}});
  auto grown = source_->CreatePartitions({kafka::NewPartitions{"orders", 3}}, kAdminTimeout);
  ASSERT_TRUE(grown.ok() && grown->front().status.ok());
  RemoveAcl(*source_, TopicAcl("orders", "User:reader", AclOperation::kRead));
  auto producer = kafka::Producer::Create(Properties{{"bootstrap.servers", sb_->Bootstrap("A")}},
                                          [](const kafka::DeliveryReport&) {});
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 5; ++i) {
    kafka::ProduceRecord rec;
    rec.topic = "orders";
    rec.partition = 2;
    rec.value = "new-partition-" + std::to_string(i);
    ASSERT_TRUE((*producer)->Produce(rec).ok());
  }
  ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(10)).ok());

  ASSERT_TRUE(testing::WaitFor([&] {
    return Overrides(*target_, "A.orders") ==
           std::map<std::string, std::string>{{"retention.ms", "7200000"}};
  })) << k.Log();
  ASSERT_TRUE(testing::WaitFor([&] { return AllAcls(*target_).empty(); })) << k.Log();
  // The new partition is copied from its first record.
  std::vector<testing::Copy> copied;
  ASSERT_TRUE(testing::WaitFor([&] {
    copied = testing::ReadAll(sb_->Bootstrap("B"), "A.orders", 3)[2];
    return copied.size() >= 5;
  })) << k.Log();
  EXPECT_EQ(copied.front().value, "new-partition-0");

  // Each applied change was counted once.
  auto sample = [&](const std::string& kind) {
    return k.Sample("kmirror_topic_sync_changes_total{flow=\"A->B\",kind=\"" + kind + "\"}");
  };
  // Remote topics of replicated source topics: A.orders, and A.heartbeats once heartbeats are
  // emitted (A.checkpoints.internal is kmirror's own, not a replica).
  auto md = target_->Metadata(std::nullopt, kAdminTimeout);
  ASSERT_TRUE(md.ok()) << md.status();
  int remote_topics = 0;
  for (const auto& t : md->topics) {
    remote_topics += t.name.starts_with("A.") && !t.name.ends_with(".internal") ? 1 : 0;
  }
  EXPECT_EQ(sample("topic_created"), remote_topics);
  EXPECT_EQ(sample("partitions_added"), 1);
  EXPECT_EQ(sample("acl_added"), 1);
  EXPECT_EQ(sample("acl_removed"), 1);
  EXPECT_GE(sample("config_set"), 1);
  EXPECT_GT(
      *k.Sample("kmirror_topic_sync_last_success_timestamp_seconds{flow=\"A->B\",task=\"acls\"}"),
      0);
}

}  // namespace
}  // namespace kmirror::topicsync
