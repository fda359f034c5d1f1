// The Syncer against in-memory clusters: what it asks the target to do, what it records as its own,
// what it counts, and that a dry run changes nothing.
#include "lib/topicsync/syncer.h"

#include <prometheus/registry.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kmirror::topicsync {
namespace {

using kafka::AclBinding;
using kafka::AclOperation;
using kafka::AclPermission;
using kafka::ConfigEntry;
using kafka::ConfigSource;
using kafka::PatternType;
using kafka::ResourceType;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

struct FakeTopic {
  int32_t partitions = 1;
  std::map<std::string, std::string> overrides;
};

// Two clusters of topics (every config not overridden is at its default) and ACLs.
class FakeAdmin : public SyncAdmin {
 public:
  std::map<std::string, FakeTopic> topics[2];
  std::vector<AclBinding> acls[2];
  int target_brokers = 3;
  std::vector<kafka::NewTopic> created;
  int alter_calls = 0;
  std::atomic<int> fail_list{0};  // ListTopics fails this many more times
  bool deny_source_configs = false;

  static int I(Side s) { return s == Side::kSource ? 0 : 1; }

  absl::StatusOr<std::vector<TopicInfo>> ListTopics(Side side) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (fail_list > 0) {
      --fail_list;
      return absl::UnavailableError("cluster down");
    }
    std::vector<TopicInfo> out;
    for (const auto& [name, t] : topics[I(side)]) out.push_back({name, t.partitions});
    return out;
  }
  absl::StatusOr<int> BrokerCount(Side) override { return target_brokers; }
  absl::StatusOr<std::vector<kafka::ResourceConfigs>> DescribeTopicConfigs(
      Side side, const std::vector<std::string>& names) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<kafka::ResourceConfigs> out;
    for (const auto& n : names) {
      kafka::ResourceConfigs rc;
      rc.resource = {kafka::ConfigResourceType::kTopic, n};
      auto it = topics[I(side)].find(n);
      if (side == Side::kSource && deny_source_configs) {
        rc.status = absl::PermissionDeniedError("TOPIC_AUTHORIZATION_FAILED");
      } else if (it == topics[I(side)].end()) {
        rc.status = absl::NotFoundError(n);
      } else {
        for (const auto& [k, d] : kDefaults) {
          ConfigEntry e;
          e.name = k;
          auto o = it->second.overrides.find(k);
          e.value = o == it->second.overrides.end() ? d : o->second;
          e.source = o == it->second.overrides.end() ? ConfigSource::kDefault
                                                     : ConfigSource::kDynamicTopic;
          e.is_default = e.source == ConfigSource::kDefault;
          rc.entries.push_back(e);
        }
      }
      out.push_back(rc);
    }
    return out;
  }
  absl::Status CreateTopic(const kafka::NewTopic& t) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (topics[1].count(t.name)) return absl::AlreadyExistsError(t.name);
    created.push_back(t);
    topics[1][t.name] = FakeTopic{t.partitions, t.configs};
    return absl::OkStatus();
  }
  absl::Status CreatePartitions(const std::string& topic, int32_t total) override {
    std::lock_guard<std::mutex> lock(mu_);
    topics[1][topic].partitions = total;
    return absl::OkStatus();
  }
  absl::Status AlterTopicConfigs(const std::string& topic,
                                 const std::map<std::string, std::string>& configs) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++alter_calls;
    topics[1][topic].overrides = configs;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<AclBinding>> ListAcls(Side side) override {
    std::lock_guard<std::mutex> lock(mu_);
    return acls[I(side)];
  }
  absl::StatusOr<std::vector<absl::Status>> CreateAcls(
      const std::vector<AclBinding>& bindings) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<absl::Status> out;
    for (const auto& b : bindings) {
      if (b.principal == "User:rejected") {
        out.push_back(absl::InvalidArgumentError("rejected"));
        continue;
      }
      acls[1].push_back(b);
      out.push_back(absl::OkStatus());
    }
    return out;
  }
  absl::Status DeleteAcl(const AclBinding& b) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(acls[1], b);
    return absl::OkStatus();
  }

 private:
  const std::map<std::string, std::string> kDefaults = {
      {"cleanup.policy", "delete"}, {"min.insync.replicas", "1"}, {"retention.ms", "604800000"}};
  std::mutex mu_;
};

class FakeLedger : public AclLedger {
 public:
  absl::StatusOr<std::vector<AclBinding>> Load() override { return owned; }
  absl::Status Store(const std::vector<AclBinding>& o) override {
    owned = o;
    ++stores;
    return absl::OkStatus();
  }
  std::vector<AclBinding> owned;
  int stores = 0;
};

double Metric(prometheus::Registry& registry, const std::string& name,
              const std::map<std::string, std::string>& labels) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = true;
      for (const auto& [k, v] : labels) {
        bool found = false;
        for (const auto& l : m.label) found = found || (l.name == k && l.value == v);
        match = match && found;
      }
      if (match)
        return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

AclBinding TopicAcl(std::string name, AclOperation op, std::string principal = "User:app") {
  return AclBinding{
      ResourceType::kTopic, std::move(name), PatternType::kLiteral, std::move(principal), "*", op,
      AclPermission::kAllow};
}

class SyncerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Syncer> Make(SyncOptions o = {}) {
    o.flow = "A->B";
    o.selection.replicate_topic = [](const std::string& t) { return t != "skip"; };
    o.selection.remote_topic = [](const std::string& t) { return "A." + t; };
    o.selection.sync_group = [](const std::string&) { return true; };
    auto s = Syncer::Create(std::move(o), &admin_, &ledger_, &probe_);
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }
  double Changes(const std::string& kind) {
    return Metric(registry_, "kmirror_topic_sync_changes_total",
                  {{"flow", "A->B"}, {"kind", kind}});
  }
  FakeAdmin admin_;
  FakeLedger ledger_;
  prometheus::Registry registry_;
  TopicSyncProbe probe_{registry_, "A->B"};
};

TEST_F(SyncerTest, CreatesWithFilteredConfigsAndCappedReplicationFactor) {
  admin_.topics[0]["orders"] = {4, {{"retention.ms", "1000"}, {"min.insync.replicas", "2"}}};
  SyncOptions o;
  o.replication_factor = 5;
  auto s = Make(o);
  ASSERT_TRUE(s->CreateRemoteTopic({"orders", 4}, "A.orders").ok());
  ASSERT_EQ(admin_.created.size(), 1u);
  EXPECT_EQ(admin_.created[0].name, "A.orders");
  EXPECT_EQ(admin_.created[0].partitions, 4);
  EXPECT_EQ(admin_.created[0].replication_factor, 3);
  EXPECT_THAT(admin_.created[0].configs, ElementsAre(Pair("retention.ms", "1000")));
  EXPECT_EQ(Changes("topic_created"), 1);
  // Another instance got there first: fine, and not counted again.
  EXPECT_TRUE(s->CreateRemoteTopic({"orders", 4}, "A.orders").ok());
  EXPECT_EQ(Changes("topic_created"), 1);
}

TEST_F(SyncerTest, UnreadableSourceConfigsDoNotBlockCreation) {
  admin_.topics[0]["orders"] = {2, {{"retention.ms", "1000"}}};
  admin_.deny_source_configs = true;
  auto s = Make();
  ASSERT_TRUE(s->CreateRemoteTopic({"orders", 2}, "A.orders").ok());
  EXPECT_THAT(admin_.created.at(0).configs, IsEmpty());
  // Config sync reports the problem instead.
  EXPECT_FALSE(s->SyncConfigs(true).ok());
}

TEST_F(SyncerTest, BrokerDefaultReplicationFactorIsLeftToTheBroker) {
  admin_.topics[0]["orders"] = {1, {}};
  auto s = Make();
  ASSERT_TRUE(s->CreateRemoteTopic({"orders", 1}, "A.orders").ok());
  EXPECT_EQ(admin_.created.at(0).replication_factor, -1);
}

TEST_F(SyncerTest, GrowsPartitions) {
  admin_.topics[0]["orders"] = {6, {}};
  admin_.topics[1]["A.orders"] = {2, {}};
  auto s = Make();
  ASSERT_TRUE(s->GrowRemoteTopic({"orders", 6}, "A.orders", 2).ok());
  EXPECT_EQ(admin_.topics[1]["A.orders"].partitions, 6);
  EXPECT_EQ(Changes("partitions_added"), 1);
}

TEST_F(SyncerTest, ConfigSyncSetsResetsKeepsExcludedAndConverges) {
  admin_.topics[0]["orders"] = {1, {{"retention.ms", "1000"}, {"min.insync.replicas", "1"}}};
  admin_.topics[1]["A.orders"] = {1, {{"cleanup.policy", "compact"}, {"min.insync.replicas", "2"}}};
  auto s = Make();
  SyncResult r = s->SyncConfigs(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_THAT(admin_.topics[1]["A.orders"].overrides,
              ElementsAre(Pair("min.insync.replicas", "2"), Pair("retention.ms", "1000")));
  ASSERT_EQ(r.changes.size(), 2u);
  EXPECT_EQ(Changes("config_set"), 1);
  EXPECT_EQ(Changes("config_reset"), 1);
  const int calls = admin_.alter_calls;
  r = s->SyncConfigs(true);
  EXPECT_THAT(r.changes, IsEmpty());
  EXPECT_EQ(admin_.alter_calls, calls);  // nothing sent when nothing differs
}

TEST_F(SyncerTest, AclSyncAddsRecordsAndRemovesOnlyItsOwn) {
  admin_.topics[0]["orders"] = {1, {}};
  admin_.topics[1]["A.orders"] = {1, {}};
  const auto foreign = TopicAcl("A.orders", AclOperation::kDescribe, "User:ops");
  admin_.acls[0] = {TopicAcl("orders", AclOperation::kRead),
                    TopicAcl("orders", AclOperation::kAll, "User:admin"),
                    TopicAcl("orders", AclOperation::kWrite)};
  admin_.acls[1] = {foreign};
  auto s = Make();
  SyncResult r = s->SyncAcls(true);
  ASSERT_TRUE(r.ok()) << r.errors.front();
  EXPECT_THAT(admin_.acls[1],
              UnorderedElementsAre(foreign, TopicAcl("A.orders", AclOperation::kRead),
                                   TopicAcl("A.orders", AclOperation::kRead, "User:admin")));
  EXPECT_THAT(ledger_.owned,
              UnorderedElementsAre(TopicAcl("A.orders", AclOperation::kRead),
                                   TopicAcl("A.orders", AclOperation::kRead, "User:admin")));
  EXPECT_EQ(Changes("acl_added"), 2);

  // Steady state: no change, no ledger write.
  const int stores = ledger_.stores;
  EXPECT_THAT(s->SyncAcls(true).changes, IsEmpty());
  EXPECT_EQ(ledger_.stores, stores);

  // The source drops everything: kmirror's two go, the operator's stays.
  admin_.acls[0].clear();
  r = s->SyncAcls(true);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(admin_.acls[1], ElementsAre(foreign));
  EXPECT_THAT(ledger_.owned, IsEmpty());
  EXPECT_EQ(Changes("acl_removed"), 2);
}

TEST_F(SyncerTest, RejectedAclIsNotRecordedAsOwned) {
  admin_.topics[0]["orders"] = {1, {}};
  admin_.acls[0] = {TopicAcl("orders", AclOperation::kRead, "User:rejected")};
  auto s = Make();
  SyncResult r = s->SyncAcls(true);
  EXPECT_FALSE(r.ok());
  EXPECT_THAT(ledger_.owned, IsEmpty());
}

TEST_F(SyncerTest, PlanPredictsWithoutChanging) {
  admin_.topics[0]["orders"] = {3, {{"retention.ms", "1000"}}};
  admin_.topics[0]["payments"] = {2, {}};
  admin_.topics[0]["skip"] = {1, {}};
  admin_.topics[1]["A.payments"] = {1, {{"cleanup.policy", "compact"}}};
  admin_.acls[0] = {TopicAcl("payments", AclOperation::kRead)};
  auto s = Make();
  SyncResult r = s->Plan();
  ASSERT_TRUE(r.ok()) << r.errors.front();
  std::vector<std::string> seen;
  for (const Change& c : r.changes) {
    seen.push_back(std::string(ToString(c.kind)) + " " + c.resource + " " + c.name);
  }
  EXPECT_THAT(seen, ElementsAre("topic_created A.orders ", "partitions_added A.payments ",
                                "config_reset A.payments cleanup.policy",
                                "acl_added (TOPIC:LITERAL:A.payments, User:app, *, READ, ALLOW) "));
  EXPECT_EQ(admin_.topics[1].size(), 1u);
  EXPECT_EQ(admin_.topics[1]["A.payments"].partitions, 1);
  EXPECT_EQ(admin_.alter_calls, 0);
  EXPECT_THAT(admin_.acls[1], IsEmpty());
  EXPECT_EQ(ledger_.stores, 0);
  EXPECT_EQ(Changes("topic_created"), 0);
}

TEST_F(SyncerTest, BackgroundRunsRetryFailuresAndRecordSuccess) {
  admin_.topics[0]["orders"] = {1, {{"retention.ms", "1000"}}};
  admin_.topics[1]["A.orders"] = {1, {}};
  admin_.fail_list = 3;
  SyncOptions o;
  o.config_sync_interval = std::chrono::milliseconds(50);
  o.acl_sync = false;
  o.min_backoff = std::chrono::milliseconds(5);
  auto s = Make(o);
  s->Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto last_success = [&] {
    return Metric(registry_, "kmirror_topic_sync_last_success_timestamp_seconds",
                  {{"flow", "A->B"}, {"task", "configs"}});
  };
  while (last_success() <= 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  s->Stop();
  s->Stop();  // idempotent
  EXPECT_GT(last_success(), 0);
  EXPECT_EQ(
      Metric(registry_, "kmirror_topic_sync_errors_total", {{"flow", "A->B"}, {"task", "configs"}}),
      3);
  EXPECT_THAT(admin_.topics[1]["A.orders"].overrides, ElementsAre(Pair("retention.ms", "1000")));
}

TEST_F(SyncerTest, NewSelectionAppliesToTheNextRun) {
  admin_.topics[0]["orders"] = {1, {}};
  admin_.topics[0]["skip"] = {1, {}};
  auto s = Make();
  EXPECT_EQ(s->Plan().changes.size(), 1u);
  Selection all;
  all.replicate_topic = [](const std::string&) { return true; };
  all.remote_topic = [](const std::string& t) { return "A." + t; };
  ASSERT_TRUE(s->SetSelection(all).ok());
  EXPECT_EQ(s->Plan().changes.size(), 2u);
  EXPECT_EQ(s->SetSelection(Selection{}).code(), absl::StatusCode::kInvalidArgument);
}

TEST(SyncerCreateTest, NeedsSelectionAndValidExcludes) {
  FakeAdmin admin;
  FakeLedger ledger;
  EXPECT_EQ(Syncer::Create(SyncOptions{}, &admin, &ledger, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  SyncOptions o;
  o.selection.replicate_topic = [](const std::string&) { return true; };
  o.selection.remote_topic = [](const std::string& t) { return t; };
  o.config_exclude = {"("};
  EXPECT_EQ(Syncer::Create(o, &admin, &ledger, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kmirror::topicsync
