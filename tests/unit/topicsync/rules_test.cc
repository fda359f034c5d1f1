// The rules of topic management: which configs a remote topic gets and keeps, and which ACLs are
// mirrored, added and removed.
#include "lib/topicsync/rules.h"

#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/topicsync/kafka_admin.h"
#include "lib/topicsync/syncer.h"

namespace kmirror::topicsync {

void PrintTo(const ConfigChange& c, std::ostream* os) {
  *os << c.name << ": " << c.before.value_or("(default)") << " -> "
      << c.after.value_or("(default)");
}

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

ConfigEntry Entry(std::string name, std::optional<std::string> value, ConfigSource source,
                  bool read_only = false, bool sensitive = false) {
  ConfigEntry e;
  e.name = std::move(name);
  e.value = std::move(value);
  e.source = source;
  e.is_default = source == ConfigSource::kDefault;
  e.read_only = read_only;
  e.sensitive = sensitive;
  return e;
}

ConfigEntry Default(std::string name, std::string value) {
  return Entry(std::move(name), std::move(value), ConfigSource::kDefault);
}
ConfigEntry Override(std::string name, std::string value) {
  return Entry(std::move(name), std::move(value), ConfigSource::kDynamicTopic);
}

class ConfigRulesTest : public ::testing::Test {
 protected:
  ConfigRules Rules(DefaultsFrom from = DefaultsFrom::kTarget) { return {&filter_, from}; }
  ConfigFilter filter_ = *ConfigFilter::Create(Mm2ConfigExclude());
};

TEST_F(ConfigRulesTest, Mm2ListExcludesExactlyItsNames) {
  EXPECT_TRUE(filter_.Excluded("min.insync.replicas"));
  EXPECT_TRUE(filter_.Excluded("message.timestamp.type"));
  EXPECT_TRUE(filter_.Excluded("follower.replication.throttled.replicas"));
  EXPECT_FALSE(filter_.Excluded("retention.ms"));
  EXPECT_FALSE(filter_.Excluded("min.insync.replicasX"));  // whole-name match
  EXPECT_FALSE(filter_.Excluded("minXinsync.replicas"));   // dots are literal
}

TEST_F(ConfigRulesTest, BadExcludePatternIsRejected) {
  auto f = ConfigFilter::Create({"retention["});
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ConfigRulesTest, CreationCopiesOnlyNonDefaultWritableFilteredValues) {
  std::vector<ConfigEntry> source = {
      Override("retention.ms", "3600000"),
      Default("cleanup.policy", "delete"),
      Entry("segment.bytes", "1073741824", ConfigSource::kStaticBroker),
      Entry("message.format.version", "3.0-IV1", ConfigSource::kDynamicTopic, /*read_only=*/true),
      Entry("secret.thing", std::nullopt, ConfigSource::kDynamicTopic, false, /*sensitive=*/true),
      Override("min.insync.replicas", "2"),
      Entry("compression.type", "lz4", ConfigSource::kDynamicDefaultBroker),
  };
  EXPECT_THAT(CreationConfigs(source, Rules()),
              ElementsAre(Pair("compression.type", "lz4"), Pair("retention.ms", "3600000")));
}

TEST_F(ConfigRulesTest, CreationWithSourceDefaultsAlsoCopiesDefaultsButNotStaticBroker) {
  std::vector<ConfigEntry> source = {
      Override("retention.ms", "3600000"),
      Default("cleanup.policy", "delete"),
      Entry("segment.bytes", "1073741824", ConfigSource::kStaticBroker),
      Default("min.insync.replicas", "1"),
  };
  EXPECT_THAT(CreationConfigs(source, Rules(DefaultsFrom::kSource)),
              ElementsAre(Pair("cleanup.policy", "delete"), Pair("retention.ms", "3600000")));
}

TEST_F(ConfigRulesTest, NonDefaultSourceValueIsSetOnTarget) {
  ConfigPlan p = PlanConfigs(
      {Override("retention.ms", "1000"), Default("cleanup.policy", "delete")},
      {Default("retention.ms", "604800000"), Default("cleanup.policy", "delete")}, Rules());
  EXPECT_THAT(p.desired, ElementsAre(Pair("retention.ms", "1000")));
  EXPECT_THAT(p.changes, ElementsAre(ConfigChange{"retention.ms", "604800000", "1000"}));
  EXPECT_FALSE(p.blocked_by.has_value());
}

TEST_F(ConfigRulesTest, MatchingTargetNeedsNothing) {
  ConfigPlan p =
      PlanConfigs({Override("retention.ms", "1000")}, {Override("retention.ms", "1000")}, Rules());
  EXPECT_THAT(p.changes, IsEmpty());
  EXPECT_THAT(p.desired, ElementsAre(Pair("retention.ms", "1000")));
}

TEST_F(ConfigRulesTest, ValueBackAtSourceDefaultIsResetOnTarget) {
  ConfigPlan p = PlanConfigs({Default("retention.ms", "604800000")},
                             {Override("retention.ms", "1000")}, Rules());
  EXPECT_THAT(p.desired, IsEmpty());
  EXPECT_THAT(p.changes, ElementsAre(ConfigChange{"retention.ms", "1000", std::nullopt}));
}

TEST_F(ConfigRulesTest, StaticBrokerSourceValueCountsAsDefault) {
  ConfigPlan p = PlanConfigs({Entry("retention.ms", "604800000", ConfigSource::kStaticBroker)},
                             {Override("retention.ms", "1000")}, Rules(DefaultsFrom::kSource));
  EXPECT_THAT(p.changes, ElementsAre(ConfigChange{"retention.ms", "1000", std::nullopt}));
}

TEST_F(ConfigRulesTest, DefaultsFromSourceSetsTheSourceDefault) {
  ConfigPlan p = PlanConfigs({Default("cleanup.policy", "delete")},
                             {Override("cleanup.policy", "compact")}, Rules(DefaultsFrom::kSource));
  EXPECT_THAT(p.desired, ElementsAre(Pair("cleanup.policy", "delete")));
  EXPECT_THAT(p.changes, ElementsAre(ConfigChange{"cleanup.policy", "compact", "delete"}));
}

TEST_F(ConfigRulesTest, TargetOverrideOfExcludedKeyIsKeptAndResent) {
  // The source sets min.insync.replicas=1 (excluded), the target keeps its own 2; another key
  // changes, and the non-incremental AlterConfigs must carry the kept value along.
  ConfigPlan p = PlanConfigs(
      {Override("min.insync.replicas", "1"), Override("retention.ms", "5")},
      {Override("min.insync.replicas", "2"), Default("retention.ms", "604800000")}, Rules());
  EXPECT_THAT(p.desired, ElementsAre(Pair("min.insync.replicas", "2"), Pair("retention.ms", "5")));
  EXPECT_THAT(p.changes, ElementsAre(ConfigChange{"retention.ms", "604800000", "5"}));
}

TEST_F(ConfigRulesTest, TargetOverrideUnknownToSourceIsKept) {
  ConfigPlan p = PlanConfigs({}, {Override("local.only", "x")}, Rules());
  EXPECT_THAT(p.desired, ElementsAre(Pair("local.only", "x")));
  EXPECT_THAT(p.changes, IsEmpty());
}

TEST_F(ConfigRulesTest, ReadOnlyAndSensitiveSourceValuesAreNeverCopied) {
  ConfigPlan p = PlanConfigs(
      {Entry("a", "1", ConfigSource::kDynamicTopic, /*read_only=*/true),
       Entry("b", std::nullopt, ConfigSource::kDynamicTopic, false, /*sensitive=*/true)},
      {Default("a", "0"), Default("b", "0")}, Rules());
  EXPECT_THAT(p.changes, IsEmpty());
  EXPECT_THAT(p.desired, IsEmpty());
}

TEST_F(ConfigRulesTest, SecretTargetOverrideBlocksTheTopic) {
  ConfigPlan p = PlanConfigs(
      {Override("retention.ms", "5")},
      {Entry("secret", std::nullopt, ConfigSource::kDynamicTopic, false, true)}, Rules());
  EXPECT_EQ(p.blocked_by, "secret");
}

// ---- ACLs -------------------------------------------------------------------------------------

AclBinding Acl(ResourceType type, std::string name, PatternType pattern, AclOperation op,
               AclPermission perm = AclPermission::kAllow, std::string principal = "User:app") {
  return AclBinding{type, std::move(name), pattern, std::move(principal), "*", op, perm};
}
AclBinding TopicAcl(std::string name, AclOperation op, AclPermission perm = AclPermission::kAllow,
                    PatternType pattern = PatternType::kLiteral) {
  return Acl(ResourceType::kTopic, std::move(name), pattern, op, perm);
}
AclBinding GroupAcl(std::string name, AclOperation op = AclOperation::kRead,
                    PatternType pattern = PatternType::kLiteral) {
  return Acl(ResourceType::kGroup, std::move(name), pattern, op);
}

class AclRulesTest : public ::testing::Test {
 protected:
  AclScope Scope() {
    AclScope s;
    s.replicate_topic = [](const std::string& t) { return t.rfind("private", 0) != 0; };
    s.remote_topic = [](const std::string& t) { return "A." + t; };
    s.sync_group = [](const std::string& g) { return g.rfind("console-consumer", 0) != 0; };
    s.replicated_topics = {"orders", "payments"};
    return s;
  }
  std::optional<AclBinding> Map(const AclBinding& b) { return MapAcl(b, rules_, Scope()); }
  AclRules rules_;
};

TEST_F(AclRulesTest, LiteralTopicAclIsRenamed) {
  EXPECT_EQ(Map(TopicAcl("orders", AclOperation::kRead)),
            TopicAcl("A.orders", AclOperation::kRead));
  EXPECT_EQ(Map(TopicAcl("orders", AclOperation::kDescribe)),
            TopicAcl("A.orders", AclOperation::kDescribe));
}

TEST_F(AclRulesTest, TopicsOutsideTheFlowAreNotCopied) {
  EXPECT_FALSE(Map(TopicAcl("private.keys", AclOperation::kRead)));
}

TEST_F(AclRulesTest, AllowWriteIsDroppedUnlessAsked) {
  EXPECT_FALSE(Map(TopicAcl("orders", AclOperation::kWrite)));
  rules_.copy_write = true;
  EXPECT_EQ(Map(TopicAcl("orders", AclOperation::kWrite)),
            TopicAcl("A.orders", AclOperation::kWrite));
}

TEST_F(AclRulesTest, AllowAllBecomesReadUnlessAsked) {
  EXPECT_EQ(Map(TopicAcl("orders", AclOperation::kAll)), TopicAcl("A.orders", AclOperation::kRead));
  rules_.downgrade_all = false;
  EXPECT_EQ(Map(TopicAcl("orders", AclOperation::kAll)), TopicAcl("A.orders", AclOperation::kAll));
}

TEST_F(AclRulesTest, DenyIsCopiedAsIsUnlessTurnedOff) {
  const auto deny_write = TopicAcl("orders", AclOperation::kWrite, AclPermission::kDeny);
  EXPECT_EQ(Map(deny_write), TopicAcl("A.orders", AclOperation::kWrite, AclPermission::kDeny));
  const auto deny_all = TopicAcl("orders", AclOperation::kAll, AclPermission::kDeny);
  EXPECT_EQ(Map(deny_all), TopicAcl("A.orders", AclOperation::kAll, AclPermission::kDeny));
  rules_.copy_deny = false;
  EXPECT_FALSE(Map(deny_write));
}

TEST_F(AclRulesTest, PrefixIsRenamedWhenItCoversAReplicatedTopic) {
  EXPECT_EQ(
      Map(TopicAcl("ord", AclOperation::kRead, AclPermission::kAllow, PatternType::kPrefixed)),
      TopicAcl("A.ord", AclOperation::kRead, AclPermission::kAllow, PatternType::kPrefixed));
  EXPECT_FALSE(
      Map(TopicAcl("inv", AclOperation::kRead, AclPermission::kAllow, PatternType::kPrefixed)));
}

TEST_F(AclRulesTest, SelectedGroupAclsAreCopiedAsIs) {
  EXPECT_EQ(Map(GroupAcl("billing")), GroupAcl("billing"));
  EXPECT_EQ(Map(GroupAcl("bill", AclOperation::kRead, PatternType::kPrefixed)),
            GroupAcl("bill", AclOperation::kRead, PatternType::kPrefixed));
  EXPECT_EQ(Map(GroupAcl("billing", AclOperation::kAll)), GroupAcl("billing", AclOperation::kAll));
  EXPECT_FALSE(Map(GroupAcl("console-consumer-1")));
  rules_.sync_groups = false;
  EXPECT_FALSE(Map(GroupAcl("billing")));
}

TEST_F(AclRulesTest, WildcardsAndOtherResourcesAreNotCopied) {
  EXPECT_FALSE(Map(TopicAcl("*", AclOperation::kRead)));
  EXPECT_FALSE(Map(GroupAcl("*")));
  EXPECT_FALSE(Map(
      Acl(ResourceType::kCluster, "kafka-cluster", PatternType::kLiteral, AclOperation::kCreate)));
  EXPECT_FALSE(
      Map(Acl(ResourceType::kTransactionalId, "tx", PatternType::kLiteral, AclOperation::kWrite)));
}

TEST_F(AclRulesTest, MissingAclsAreAddedAndBecomeOwned) {
  const auto read = TopicAcl("orders", AclOperation::kRead);
  AclPlan p = PlanAcls({read, TopicAcl("orders", AclOperation::kWrite)}, {}, {}, rules_, Scope());
  EXPECT_THAT(p.add, ElementsAre(TopicAcl("A.orders", AclOperation::kRead)));
  EXPECT_THAT(p.remove, IsEmpty());
  EXPECT_THAT(p.owned, ElementsAre(TopicAcl("A.orders", AclOperation::kRead)));
}

TEST_F(AclRulesTest, PresentForeignAclIsNeitherAddedNorOwned) {
  const auto mapped = TopicAcl("A.orders", AclOperation::kRead);
  AclPlan p = PlanAcls({TopicAcl("orders", AclOperation::kRead)}, {mapped}, {}, rules_, Scope());
  EXPECT_THAT(p.add, IsEmpty());
  EXPECT_THAT(p.owned, IsEmpty());
  // ... so it stays when the source ACL goes away.
  p = PlanAcls({}, {mapped}, {}, rules_, Scope());
  EXPECT_THAT(p.remove, IsEmpty());
}

TEST_F(AclRulesTest, OwnedAclWhoseSourceDisappearedIsRemoved) {
  const auto mine = TopicAcl("A.orders", AclOperation::kRead);
  const auto foreign = TopicAcl("A.orders", AclOperation::kDescribe);
  AclPlan p = PlanAcls({}, {mine, foreign}, {mine}, rules_, Scope());
  EXPECT_THAT(p.remove, ElementsAre(mine));
  EXPECT_THAT(p.owned, IsEmpty());
  rules_.remove_stale = false;
  p = PlanAcls({}, {mine, foreign}, {mine}, rules_, Scope());
  EXPECT_THAT(p.remove, IsEmpty());
  EXPECT_THAT(p.owned, ElementsAre(mine));
}

TEST_F(AclRulesTest, OwnedAclNoLongerMappedAfterARuleChangeIsRemoved) {
  const auto write = TopicAcl("A.orders", AclOperation::kWrite);  // created with copy_write=true
  AclPlan p =
      PlanAcls({TopicAcl("orders", AclOperation::kWrite)}, {write}, {write}, rules_, Scope());
  EXPECT_THAT(p.remove, ElementsAre(write));
}

TEST_F(AclRulesTest, OwnedAclDeletedByHandIsForgotten) {
  const auto mine = TopicAcl("A.orders", AclOperation::kRead);
  AclPlan p = PlanAcls({}, {}, {mine}, rules_, Scope());
  EXPECT_THAT(p.remove, IsEmpty());
  EXPECT_THAT(p.owned, IsEmpty());
  // Still mapped: added again, and owned again.
  p = PlanAcls({TopicAcl("orders", AclOperation::kRead)}, {}, {mine}, rules_, Scope());
  EXPECT_THAT(p.add, ElementsAre(mine));
  EXPECT_THAT(p.owned, ElementsAre(mine));
}

TEST_F(AclRulesTest, DuplicateMappingsCollapse) {
  // ALL downgraded to READ and a READ map onto one binding.
  AclPlan p =
      PlanAcls({TopicAcl("orders", AclOperation::kAll), TopicAcl("orders", AclOperation::kRead)},
               {}, {}, rules_, Scope());
  EXPECT_THAT(p.add, ElementsAre(TopicAcl("A.orders", AclOperation::kRead)));
}

TEST(AclLedgerCodecTest, RoundTrips) {
  std::vector<AclBinding> list = {
      TopicAcl("A.orders", AclOperation::kRead),
      Acl(ResourceType::kGroup, "g|\"x\"", PatternType::kPrefixed, AclOperation::kDescribe,
          AclPermission::kDeny, "User:we|ird")};
  auto back = DecodeLedger(EncodeLedger(list));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, list);
  EXPECT_THAT(*DecodeLedger(EncodeLedger({})), IsEmpty());
}

TEST(AclLedgerCodecTest, GarbageIsDataLoss) {
  EXPECT_EQ(DecodeLedger("not json").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeLedger(R"([{"resource_type":"NOPE"}])").status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace kmirror::topicsync
