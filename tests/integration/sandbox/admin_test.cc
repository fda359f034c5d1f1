// The in-process sandbox seen through librdkafka's admin, producer and consumer APIs (via
// kmirror::kafka): every test starts its own three-broker cluster on ephemeral ports and checks
// what a user of a real Kafka cluster relies on — topic and partition administration, configs,
// ACLs, consumer groups and their offsets, byte-exact records under every codec, a broker outage
// and injected errors.
#include "lib/kafka/admin.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/error.h"
#include "lib/kafka/producer.h"
#include "lib/sandbox/sandbox.h"

namespace kmirror::sandbox {
namespace {

using ::kmirror::kafka::AclBinding;
using ::kmirror::kafka::AclBindingFilter;
using ::kmirror::kafka::AclOperation;
using ::kmirror::kafka::AclPermission;
using ::kmirror::kafka::AdminClient;
using ::kmirror::kafka::AlterConfigsResource;
using ::kmirror::kafka::ClusterMetadata;
using ::kmirror::kafka::ConfigEntry;
using ::kmirror::kafka::ConfigResourceType;
using ::kmirror::kafka::ConfigSource;
using ::kmirror::kafka::Consumer;
using ::kmirror::kafka::DeliveryReport;
using ::kmirror::kafka::GroupDescription;
using ::kmirror::kafka::GroupListing;
using ::kmirror::kafka::GroupState;
using ::kmirror::kafka::Header;
using ::kmirror::kafka::kOffsetBeginning;
using ::kmirror::kafka::kOffsetInvalid;
using ::kmirror::kafka::Message;
using ::kmirror::kafka::NewTopic;
using ::kmirror::kafka::PatternType;
using ::kmirror::kafka::Producer;
using ::kmirror::kafka::ProduceRecord;
using ::kmirror::kafka::Properties;
using ::kmirror::kafka::ResourceConfigs;
using ::kmirror::kafka::ResourceType;
using ::kmirror::kafka::TimestampType;
using ::kmirror::kafka::TopicMeta;
using ::kmirror::kafka::TopicPartition;
using ::kmirror::kafka::TopicPartitionOffset;
using ::kmirror::kafka::TopicResult;
using ::std::chrono::milliseconds;
using ::std::chrono::steady_clock;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;
using ::testing::UnorderedElementsAreArray;

// Upper bound of anything awaited; normally reached in milliseconds (a group join in ~3 s).
constexpr auto kWait = std::chrono::seconds(30);
constexpr milliseconds kAdminTimeout(10000);
constexpr milliseconds kTick(20);

#define ASSERT_OK(expr)                            \
  do {                                             \
    const absl::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

// Polls `condition` until it holds or `within` has passed; returns whether it held.
template <typename Condition>
bool Eventually(Condition condition, std::chrono::milliseconds within = kWait) {
  const auto deadline = steady_clock::now() + within;
  while (!condition()) {
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kTick);
  }
  return true;
}

std::optional<int> KafkaCode(const absl::Status& status) {
  auto code = kafka::KafkaErrorCode(status);
  if (!code) return std::nullopt;
  return static_cast<int>(*code);
}

const ConfigEntry* FindEntry(const ResourceConfigs& rc, const std::string& name) {
  for (const ConfigEntry& e : rc.entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

const GroupListing* FindListing(const std::vector<GroupListing>& groups, const std::string& id) {
  for (const GroupListing& g : groups) {
    if (g.group_id == id) return &g;
  }
  return nullptr;
}

// A produced record as the test remembers it.
struct Sent {
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<Header> headers;
  int64_t timestamp_ms = 0;  // 0: producer's clock
};

struct Delivered {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  absl::Status status;
  size_t index = 0;  // position in the test's list of produced records
};

class SandboxAdminTest : public ::testing::Test {
 protected:
  virtual ClusterOptions Options() const { return ClusterOptions{"A", 3, false, 16}; }

  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Sandbox>> sb = Sandbox::Start({Options()});
    ASSERT_TRUE(sb.ok()) << sb.status();
    sandbox_ = *std::move(sb);
    cluster_ = sandbox_->cluster("A");
    ASSERT_NE(cluster_, nullptr);
    bootstrap_ = cluster_->bootstrap();
    absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Create(Common());
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *std::move(admin);
  }

  void TearDown() override {
    // Clients before the cluster, so that none of them waits on a vanished broker.
    admin_.reset();
    sandbox_.reset();
  }

  Properties Common() const {
    return Properties{{"bootstrap.servers", bootstrap_}, {"log_level", "3"}};
  }

  void CreateTopic(const std::string& name, int32_t partitions, int32_t rf = 3,
                   std::map<std::string, std::string> configs = {}) {
    absl::StatusOr<std::vector<TopicResult>> r =
        admin_->CreateTopics({NewTopic{name, partitions, rf, std::move(configs)}}, kAdminTimeout);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->size(), 1u);
    ASSERT_OK((*r)[0].status);
  }

  absl::StatusOr<TopicMeta> TopicMetadata(const std::string& topic, ClusterMetadata* cluster = {}) {
    absl::StatusOr<ClusterMetadata> md =
        admin_->Metadata(std::vector<std::string>{topic}, kAdminTimeout);
    if (!md.ok()) return md.status();
    if (md->topics.size() != 1) return absl::InternalError("expected one topic in metadata");
    if (cluster != nullptr) *cluster = *md;
    return md->topics[0];
  }

  ResourceConfigs DescribeTopic(const std::string& topic) {
    absl::StatusOr<std::vector<ResourceConfigs>> rc =
        admin_->DescribeConfigs({{ConfigResourceType::kTopic, topic}}, kAdminTimeout);
    EXPECT_TRUE(rc.ok()) << rc.status();
    if (!rc.ok() || rc->size() != 1) return {};
    EXPECT_TRUE((*rc)[0].status.ok()) << (*rc)[0].status;
    return (*rc)[0];
  }

  // A producer whose delivery reports land in `delivered_`.
  std::unique_ptr<Producer> MakeProducer(const Properties& extra = {}) {
    Properties props = Common();
    props.Set("linger.ms", "5").Merge(extra);
    absl::StatusOr<std::unique_ptr<Producer>> p =
        Producer::Create(props, [this](const DeliveryReport& r) {
          delivered_.push_back(Delivered{std::string(r.topic), r.partition, r.offset, r.status,
                                         reinterpret_cast<uintptr_t>(r.opaque)});
        });
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? *std::move(p) : nullptr;
  }

  std::unique_ptr<Consumer> MakeConsumer(const std::string& group, const Properties& extra = {}) {
    Properties props = Common();
    props.Set("group.id", group)
        .Set("enable.auto.commit", "false")
        .Set("auto.offset.reset", "earliest")
        .Merge(extra);
    absl::StatusOr<std::unique_ptr<Consumer>> c = Consumer::Create(props);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }

  // Reads records (skipping partition EOF events) until `count` arrived or the deadline passed.
  static std::vector<Message> Consume(Consumer& consumer, size_t count,
                                      std::chrono::milliseconds within = kWait) {
    std::vector<Message> out;
    const auto deadline = steady_clock::now() + within;
    while (out.size() < count && steady_clock::now() < deadline) {
      absl::StatusOr<std::vector<Message>> batch =
          consumer.ConsumeBatch(milliseconds(200), count - out.size());
      EXPECT_TRUE(batch.ok()) << batch.status();
      if (!batch.ok()) break;
      for (Message& m : *batch) {
        if (m.is_partition_eof()) continue;
        EXPECT_TRUE(m.ok()) << m.status();
        if (m.ok()) out.push_back(std::move(m));
      }
    }
    return out;
  }

  std::unique_ptr<Sandbox> sandbox_;
  Cluster* cluster_ = nullptr;
  std::string bootstrap_;
  std::unique_ptr<AdminClient> admin_;
  std::vector<Delivered> delivered_;
};

// ---- 1. CreateTopics and Metadata -----------------------------------------------------------

TEST_F(SandboxAdminTest, CreateTopicsShowsInMetadataAndRejectsWhatKafkaRejects) {
  CreateTopic("orders", 12, 3);

  ClusterMetadata cluster;
  absl::StatusOr<TopicMeta> orders = TopicMetadata("orders", &cluster);
  ASSERT_TRUE(orders.ok()) << orders.status();
  ASSERT_OK(orders->status);
  ASSERT_EQ(orders->partitions.size(), 12u);
  std::set<int32_t> broker_ids;
  for (const auto& b : cluster.brokers) broker_ids.insert(b.id);
  EXPECT_EQ(broker_ids, (std::set<int32_t>{1, 2, 3}));
  std::map<int32_t, int> leaders_per_broker;
  for (size_t p = 0; p < orders->partitions.size(); ++p) {
    const auto& part = orders->partitions[p];
    EXPECT_EQ(part.id, static_cast<int32_t>(p));
    EXPECT_TRUE(part.status.ok()) << part.status;
    ASSERT_EQ(part.replicas.size(), 3u) << "partition " << p;
    EXPECT_EQ(std::set<int32_t>(part.replicas.begin(), part.replicas.end()), broker_ids);
    EXPECT_THAT(part.replicas, ::testing::Contains(part.leader)) << "partition " << p;
    EXPECT_EQ(part.leader, part.replicas[0]) << "the preferred replica leads";
    EXPECT_THAT(part.isrs, UnorderedElementsAreArray(part.replicas));
    leaders_per_broker[part.leader]++;
  }
  // Leadership is spread as a broker spreads it (round robin over the brokers).
  EXPECT_EQ(leaders_per_broker, (std::map<int32_t, int>{{1, 4}, {2, 4}, {3, 4}}));
  ASSERT_TRUE(cluster.cluster_id.has_value());
  EXPECT_EQ(*cluster.cluster_id, cluster_->cluster_id());
  EXPECT_EQ(cluster.cluster_id->size(), 22u);
  ASSERT_TRUE(cluster.controller_id.has_value());
  EXPECT_EQ(*cluster.controller_id, 1);

  // Again: TOPIC_ALREADY_EXISTS, and the topic is unchanged.
  absl::StatusOr<std::vector<TopicResult>> again =
      admin_->CreateTopics({{"orders", 3, 1, {}}}, kAdminTimeout);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].status.code(), absl::StatusCode::kAlreadyExists) << (*again)[0].status;
  EXPECT_EQ(TopicMetadata("orders")->partitions.size(), 12u);

  // A replication factor above the broker count, an illegal name, a bad config, no partitions.
  absl::StatusOr<std::vector<TopicResult>> bad =
      admin_->CreateTopics({{"wide", 3, 4, {}},
                            {"bad name!", 1, 1, {}},
                            {"badcfg", 1, 1, {{"retention.ms", "forever"}}},
                            {"nocfg", 1, 1, {{"no.such.config", "1"}}},
                            {"zero", 0, 1, {}}},
                           kAdminTimeout);
  ASSERT_TRUE(bad.ok()) << bad.status();
  ASSERT_EQ(bad->size(), 5u);
  std::map<std::string, absl::Status> by_name;
  for (const TopicResult& r : *bad) by_name[r.name] = r.status;
  EXPECT_EQ(by_name["wide"].code(), absl::StatusCode::kInvalidArgument) << by_name["wide"];
  EXPECT_EQ(KafkaCode(by_name["wide"]), 38);  // INVALID_REPLICATION_FACTOR
  EXPECT_THAT(by_name["wide"].message(), HasSubstr("larger than available brokers: 3"));
  EXPECT_EQ(KafkaCode(by_name["bad name!"]), 17);  // INVALID_TOPIC_EXCEPTION
  EXPECT_FALSE(by_name["bad name!"].ok());
  EXPECT_EQ(KafkaCode(by_name["badcfg"]), 40);  // INVALID_CONFIG
  EXPECT_THAT(by_name["badcfg"].message(), HasSubstr("retention.ms"));
  EXPECT_EQ(KafkaCode(by_name["nocfg"]), 40);
  EXPECT_THAT(by_name["nocfg"].message(), HasSubstr("no.such.config"));
  EXPECT_EQ(KafkaCode(by_name["zero"]), 37);  // INVALID_PARTITIONS

  // validate_only: accepted, nothing created; an invalid request is still refused.
  absl::StatusOr<std::vector<TopicResult>> validated =
      admin_->CreateTopics({{"dry", 4, 3, {}}, {"dry-wide", 1, 5, {}}}, kAdminTimeout,
                           /*validate_only=*/true);
  ASSERT_TRUE(validated.ok()) << validated.status();
  ASSERT_EQ(validated->size(), 2u);
  EXPECT_TRUE((*validated)[0].status.ok()) << (*validated)[0].status;
  EXPECT_FALSE((*validated)[1].status.ok());

  absl::StatusOr<ClusterMetadata> all = admin_->Metadata(std::nullopt, kAdminTimeout);
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const TopicMeta& t : all->topics) names.push_back(t.name);
  EXPECT_THAT(names, ElementsAre("orders"));  // none of the failed or validated ones
  absl::StatusOr<TopicMeta> dry = TopicMetadata("dry");
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->status.code(), absl::StatusCode::kNotFound) << dry->status;

  // Configs given at creation are the topic's dynamic configs.
  CreateTopic("configured", 2, 2, {{"retention.ms", "3600000"}, {"cleanup.policy", "compact"}});
  ResourceConfigs rc = DescribeTopic("configured");
  const ConfigEntry* retention = FindEntry(rc, "retention.ms");
  const ConfigEntry* cleanup = FindEntry(rc, "cleanup.policy");
  ASSERT_NE(retention, nullptr);
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(retention->value, "3600000");
  EXPECT_EQ(retention->source, ConfigSource::kDynamicTopic);
  EXPECT_EQ(cleanup->value, "compact");
  EXPECT_EQ(cleanup->source, ConfigSource::kDynamicTopic);
  absl::StatusOr<TopicMeta> configured = TopicMetadata("configured");
  ASSERT_TRUE(configured.ok());
  ASSERT_EQ(configured->partitions.size(), 2u);
  for (const auto& p : configured->partitions) EXPECT_EQ(p.replicas.size(), 2u);
}

// ---- 2. CreatePartitions --------------------------------------------------------------------

class SandboxPartitionLimitTest : public SandboxAdminTest {
 protected:
  ClusterOptions Options() const override { return ClusterOptions{"A", 3, false, 8}; }
};

TEST_F(SandboxPartitionLimitTest, CreatePartitionsGrowsUpToTheLimitAndNewPartitionsWork) {
  CreateTopic("grow", 3, 3);

  absl::StatusOr<std::vector<TopicResult>> grown =
      admin_->CreatePartitions({{"grow", 6}}, kAdminTimeout);
  ASSERT_TRUE(grown.ok()) << grown.status();
  ASSERT_EQ(grown->size(), 1u);
  ASSERT_OK((*grown)[0].status);
  absl::StatusOr<TopicMeta> md = TopicMetadata("grow");
  ASSERT_TRUE(md.ok()) << md.status();
  ASSERT_EQ(md->partitions.size(), 6u);
  for (const auto& p : md->partitions) {
    EXPECT_EQ(p.replicas.size(), 3u) << "new partitions keep the replication factor";
    EXPECT_THAT(p.replicas, ::testing::Contains(p.leader));
  }

  // Shrinking, staying put and growing past the limit all fail; the topic keeps 6 partitions.
  absl::StatusOr<std::vector<TopicResult>> refused =
      admin_->CreatePartitions({{"grow", 4}}, kAdminTimeout);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(KafkaCode((*refused)[0].status), 37) << (*refused)[0].status;  // INVALID_PARTITIONS
  EXPECT_EQ((*refused)[0].status.code(), absl::StatusCode::kInvalidArgument);
  refused = admin_->CreatePartitions({{"grow", 6}}, kAdminTimeout);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(KafkaCode((*refused)[0].status), 37) << (*refused)[0].status;
  refused = admin_->CreatePartitions({{"grow", 9}}, kAdminTimeout);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(KafkaCode((*refused)[0].status), 37) << (*refused)[0].status;
  EXPECT_THAT((*refused)[0].status.message(), HasSubstr("room for 8 partitions"));
  EXPECT_THAT((*refused)[0].status.message(), HasSubstr("max_partitions_per_topic"));
  refused = admin_->CreatePartitions({{"absent", 9}}, kAdminTimeout);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ((*refused)[0].status.code(), absl::StatusCode::kNotFound) << (*refused)[0].status;
  // validate_only changes nothing.
  refused = admin_->CreatePartitions({{"grow", 8}}, kAdminTimeout, /*validate_only=*/true);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE((*refused)[0].status.ok()) << (*refused)[0].status;
  EXPECT_EQ(TopicMetadata("grow")->partitions.size(), 6u);

  // Records produced to the new partitions come back from them.
  std::unique_ptr<Producer> producer = MakeProducer({{"acks", "all"}});
  ASSERT_NE(producer, nullptr);
  for (int32_t p = 3; p < 6; ++p) {
    ProduceRecord r;
    r.topic = "grow";
    r.partition = p;
    r.key = "k" + std::to_string(p);
    r.value = "in partition " + std::to_string(p);
    r.opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(p));
    ASSERT_OK(producer->Produce(r));
  }
  ASSERT_OK(producer->Flush(kWait));
  ASSERT_EQ(delivered_.size(), 3u);
  for (const Delivered& d : delivered_) {
    EXPECT_TRUE(d.status.ok()) << d.status;
    EXPECT_EQ(d.partition, static_cast<int32_t>(d.index));
    EXPECT_EQ(d.offset, 0);
  }

  std::unique_ptr<Consumer> consumer = MakeConsumer("grow-reader");
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Assign({{"grow", 3, kOffsetBeginning},
                              {"grow", 4, kOffsetBeginning},
                              {"grow", 5, kOffsetBeginning}}));
  std::vector<Message> got = Consume(*consumer, 3);
  ASSERT_EQ(got.size(), 3u);
  std::map<int32_t, std::string> values;
  for (const Message& m : got) values[m.partition()] = std::string(m.value().value_or("<null>"));
  EXPECT_EQ(values, (std::map<int32_t, std::string>{
                        {3, "in partition 3"}, {4, "in partition 4"}, {5, "in partition 5"}}));
}

// ---- 3. DescribeConfigs / AlterConfigs ------------------------------------------------------

TEST_F(SandboxAdminTest, TopicConfigsReportSourcesAndAlterConfigsReplacesTheWholeSet) {
  CreateTopic("cfg", 1, 3, {{"max.message.bytes", "2000000"}});

  ResourceConfigs rc = DescribeTopic("cfg");
  EXPECT_EQ(rc.resource.type, ConfigResourceType::kTopic);
  EXPECT_EQ(rc.resource.name, "cfg");
  const ConfigEntry* cleanup = FindEntry(rc, "cleanup.policy");
  ASSERT_NE(cleanup, nullptr);
  EXPECT_EQ(cleanup->value, "delete");
  EXPECT_EQ(cleanup->source, ConfigSource::kDefault);
  EXPECT_TRUE(cleanup->is_default);
  EXPECT_FALSE(cleanup->read_only);
  EXPECT_FALSE(cleanup->sensitive);
  const ConfigEntry* retention = FindEntry(rc, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "604800000");
  EXPECT_EQ(retention->source, ConfigSource::kStaticBroker);
  EXPECT_FALSE(retention->is_default);
  ASSERT_FALSE(retention->synonyms.empty());
  EXPECT_EQ(retention->synonyms[0].name, "log.retention.hours");
  EXPECT_EQ(retention->synonyms[0].value, "168");
  EXPECT_EQ(retention->synonyms[0].source, ConfigSource::kStaticBroker);
  const ConfigEntry* max_bytes = FindEntry(rc, "max.message.bytes");
  ASSERT_NE(max_bytes, nullptr);
  EXPECT_EQ(max_bytes->value, "2000000");
  EXPECT_EQ(max_bytes->source, ConfigSource::kDynamicTopic);
  ASSERT_FALSE(max_bytes->synonyms.empty());
  EXPECT_EQ(max_bytes->synonyms[0].name, "max.message.bytes");
  EXPECT_EQ(max_bytes->synonyms[0].source, ConfigSource::kDynamicTopic);

  // AlterConfigs is not incremental: max.message.bytes, absent from the new set, reverts.
  absl::StatusOr<std::vector<kafka::ResourceResult>> altered = admin_->AlterConfigs(
      {AlterConfigsResource{{ConfigResourceType::kTopic, "cfg"},
                            {{"retention.ms", "3600000"}, {"cleanup.policy", "compact,delete"}}}},
      kAdminTimeout);
  ASSERT_TRUE(altered.ok()) << altered.status();
  ASSERT_EQ(altered->size(), 1u);
  ASSERT_OK((*altered)[0].status);
  rc = DescribeTopic("cfg");
  retention = FindEntry(rc, "retention.ms");
  ASSERT_NE(retention, nullptr);
  EXPECT_EQ(retention->value, "3600000");
  EXPECT_EQ(retention->source, ConfigSource::kDynamicTopic);
  EXPECT_EQ(FindEntry(rc, "cleanup.policy")->value, "compact,delete");
  max_bytes = FindEntry(rc, "max.message.bytes");
  ASSERT_NE(max_bytes, nullptr);
  EXPECT_EQ(max_bytes->value, "1048588");
  EXPECT_EQ(max_bytes->source, ConfigSource::kDefault);

  // An invalid value is refused naming the key, and nothing changes (validate_only neither).
  altered = admin_->AlterConfigs(
      {AlterConfigsResource{{ConfigResourceType::kTopic, "cfg"}, {{"retention.ms", "forever"}}}},
      kAdminTimeout);
  ASSERT_TRUE(altered.ok()) << altered.status();
  EXPECT_EQ(KafkaCode((*altered)[0].status), 40) << (*altered)[0].status;  // INVALID_CONFIG
  EXPECT_THAT((*altered)[0].status.message(), HasSubstr("retention.ms"));
  altered = admin_->AlterConfigs(
      {AlterConfigsResource{{ConfigResourceType::kTopic, "cfg"}, {{"segment.ms", "60000"}}}},
      kAdminTimeout, /*validate_only=*/true);
  ASSERT_TRUE(altered.ok()) << altered.status();
  EXPECT_TRUE((*altered)[0].status.ok()) << (*altered)[0].status;
  rc = DescribeTopic("cfg");
  EXPECT_EQ(FindEntry(rc, "retention.ms")->value, "3600000");
  EXPECT_EQ(FindEntry(rc, "segment.ms")->source, ConfigSource::kDefault);

  // A missing topic is UNKNOWN_TOPIC_OR_PARTITION for describe and alter.
  absl::StatusOr<std::vector<ResourceConfigs>> missing =
      admin_->DescribeConfigs({{ConfigResourceType::kTopic, "absent"}}, kAdminTimeout);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ((*missing)[0].status.code(), absl::StatusCode::kNotFound) << (*missing)[0].status;

  // Broker "1": read-only identity, sensitive secrets without their value.
  absl::StatusOr<std::vector<ResourceConfigs>> broker =
      admin_->DescribeConfigs({{ConfigResourceType::kBroker, "1"}}, kAdminTimeout);
  ASSERT_TRUE(broker.ok()) << broker.status();
  ASSERT_EQ(broker->size(), 1u);
  ASSERT_OK((*broker)[0].status);
  const ConfigEntry* broker_id = FindEntry((*broker)[0], "broker.id");
  ASSERT_NE(broker_id, nullptr);
  EXPECT_EQ(broker_id->value, "1");
  EXPECT_TRUE(broker_id->read_only);
  const ConfigEntry* password = FindEntry((*broker)[0], "ssl.keystore.password");
  ASSERT_NE(password, nullptr);
  EXPECT_TRUE(password->sensitive);
  EXPECT_EQ(password->value, std::nullopt);
  for (const auto& syn : password->synonyms) EXPECT_EQ(syn.value, std::nullopt) << syn.name;
}

// ---- 4. ACLs --------------------------------------------------------------------------------

TEST_F(SandboxAdminTest, AclsAreCreatedDescribedByFiltersAndDeleted) {
  const AclBinding alice_orders{ResourceType::kTopic, "orders", PatternType::kLiteral,
                                "User:alice",         "*",      AclOperation::kRead,
                                AclPermission::kAllow};
  const AclBinding bob_prefix{ResourceType::kTopic, "ord", PatternType::kPrefixed,
                              "User:bob",           "*",   AclOperation::kWrite,
                              AclPermission::kAllow};
  const AclBinding alice_group{ResourceType::kGroup, "g1",       PatternType::kLiteral,
                               "User:alice",         "10.0.0.1", AclOperation::kRead,
                               AclPermission::kAllow};
  const AclBinding carol_other{ResourceType::kTopic, "payments", PatternType::kLiteral,
                               "User:carol",         "*",        AclOperation::kDescribe,
                               AclPermission::kDeny};
  absl::StatusOr<std::vector<absl::Status>> created =
      admin_->CreateAcls({alice_orders, bob_prefix, alice_group, carol_other}, kAdminTimeout);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->size(), 4u);
  for (const absl::Status& s : *created) EXPECT_TRUE(s.ok()) << s;

  // MATCH: every binding that applies to the topic "orders" (literal and prefixed).
  AclBindingFilter match;
  match.resource_type = ResourceType::kTopic;
  match.name = "orders";
  match.pattern_type = PatternType::kMatch;
  absl::StatusOr<std::vector<AclBinding>> found = admin_->DescribeAcls(match, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, UnorderedElementsAre(alice_orders, bob_prefix));

  // PREFIXED "ord": only the prefixed binding with exactly that prefix.
  AclBindingFilter prefixed;
  prefixed.resource_type = ResourceType::kTopic;
  prefixed.name = "ord";
  prefixed.pattern_type = PatternType::kPrefixed;
  found = admin_->DescribeAcls(prefixed, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre(bob_prefix));

  // LITERAL "ord" matches nothing; a principal filter spans resource types.
  AclBindingFilter literal = prefixed;
  literal.pattern_type = PatternType::kLiteral;
  found = admin_->DescribeAcls(literal, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_TRUE(found->empty());
  AclBindingFilter alice;
  alice.principal = "User:alice";
  found = admin_->DescribeAcls(alice, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, UnorderedElementsAre(alice_orders, alice_group));
  AclBindingFilter denied;
  denied.permission = AclPermission::kDeny;
  found = admin_->DescribeAcls(denied, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, ElementsAre(carol_other));

  // DeleteAcls: each filter reports exactly what it removed.
  AclBindingFilter no_match;
  no_match.principal = "User:nobody";
  absl::StatusOr<std::vector<kafka::DeleteAclsResult>> deleted =
      admin_->DeleteAcls({alice, no_match}, kAdminTimeout);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  ASSERT_EQ(deleted->size(), 2u);
  ASSERT_OK((*deleted)[0].status);
  EXPECT_THAT((*deleted)[0].deleted, UnorderedElementsAre(alice_orders, alice_group));
  ASSERT_OK((*deleted)[1].status);
  EXPECT_TRUE((*deleted)[1].deleted.empty());
  found = admin_->DescribeAcls(AclBindingFilter{}, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, UnorderedElementsAre(bob_prefix, carol_other));

  // A principal without its type is refused by the broker, and not stored.
  AclBinding bad = alice_orders;
  bad.principal = "alice";
  created = admin_->CreateAcls({bad, alice_orders}, kAdminTimeout);
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->size(), 2u);
  EXPECT_FALSE((*created)[0].ok());
  EXPECT_THAT((*created)[0].message(), HasSubstr("principal"));
  EXPECT_TRUE((*created)[1].ok()) << (*created)[1];
  found = admin_->DescribeAcls(AclBindingFilter{}, kAdminTimeout);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_THAT(*found, UnorderedElementsAre(alice_orders, bob_prefix, carol_other));
}

// ---- 5. Consumer groups ---------------------------------------------------------------------

TEST_F(SandboxAdminTest, ConsumerGroupsAreListedDescribedAndTheirOffsetsManaged) {
  CreateTopic("events", 3, 3);
  const std::vector<TopicPartition> all_partitions = {{"events", 0}, {"events", 1}, {"events", 2}};
  constexpr int kPerPartition = 6;
  {
    std::unique_ptr<Producer> producer = MakeProducer();
    ASSERT_NE(producer, nullptr);
    for (int i = 0; i < 3 * kPerPartition; ++i) {
      ProduceRecord r;
      r.topic = "events";
      r.partition = i % 3;
      r.value = "e" + std::to_string(i);
      ASSERT_OK(producer->Produce(r));
    }
    ASSERT_OK(producer->Flush(kWait));
  }

  std::unique_ptr<Consumer> member =
      MakeConsumer("g1", {{"client.id", "admin-test-member"}, {"session.timeout.ms", "6000"}});
  ASSERT_NE(member, nullptr);
  ASSERT_OK(member->Subscribe({"events"}));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<std::optional<Message>> m = member->Poll(milliseconds(100));
    EXPECT_TRUE(m.ok()) << m.status();
    absl::StatusOr<std::vector<TopicPartition>> assignment = member->Assignment();
    return assignment.ok() && assignment->size() == 3;
  })) << "the member never got its partitions";

  absl::StatusOr<kafka::ListConsumerGroupsResult> listed;
  ASSERT_TRUE(Eventually([&] {
    listed = admin_->ListConsumerGroups(kAdminTimeout);
    return listed.ok() && FindListing(listed->groups, "g1") != nullptr &&
           FindListing(listed->groups, "g1")->state == GroupState::kStable;
  })) << (listed.ok() ? "g1 not listed as Stable" : listed.status().ToString());
  EXPECT_TRUE(listed->errors.empty());
  EXPECT_FALSE(FindListing(listed->groups, "g1")->is_simple);

  absl::StatusOr<std::vector<GroupDescription>> described;
  ASSERT_TRUE(Eventually([&] {
    described = admin_->DescribeConsumerGroups({"g1"}, kAdminTimeout);
    return described.ok() && described->size() == 1 && (*described)[0].state == GroupState::kStable;
  }));
  const GroupDescription& g1 = (*described)[0];
  ASSERT_OK(g1.status);
  EXPECT_EQ(g1.group_id, "g1");
  EXPECT_FALSE(g1.is_simple);  // protocol type "consumer"
  EXPECT_EQ(g1.partition_assignor, "range");
  ASSERT_TRUE(g1.coordinator.has_value());
  EXPECT_THAT((std::vector<int32_t>{1, 2, 3}), ::testing::Contains(g1.coordinator->id));
  ASSERT_EQ(g1.members.size(), 1u);
  EXPECT_EQ(g1.members[0].member_id, member->MemberId());
  EXPECT_EQ(g1.members[0].client_id, "admin-test-member");
  EXPECT_THAT(g1.members[0].host, HasSubstr("127.0.0.1"));
  EXPECT_THAT(g1.members[0].assignment, UnorderedElementsAreArray(all_partitions));

  // Offsets committed by the member are what the admin API reads.
  ASSERT_OK(member->Commit({{"events", 0, 3, "m0"}, {"events", 1, 1}}));
  absl::StatusOr<std::vector<TopicPartitionOffset>> offsets =
      admin_->ListConsumerGroupOffsets("g1", all_partitions, kAdminTimeout);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  ASSERT_EQ(offsets->size(), 3u);
  std::map<int32_t, int64_t> by_partition;
  for (const TopicPartitionOffset& o : *offsets) {
    EXPECT_TRUE(o.status.ok()) << o.status;
    by_partition[o.partition] = o.offset;
    if (o.partition == 0) {
      EXPECT_EQ(o.metadata, "m0");
    }
  }
  EXPECT_EQ(by_partition, (std::map<int32_t, int64_t>{{0, 3}, {1, 1}, {2, kOffsetInvalid}}));

  // After Close() the group is Empty, without members, and keeps its offsets.
  ASSERT_OK(member->Close());
  ASSERT_TRUE(Eventually([&] {
    described = admin_->DescribeConsumerGroups({"g1"}, kAdminTimeout);
    return described.ok() && described->size() == 1 && (*described)[0].state == GroupState::kEmpty;
  }));
  EXPECT_TRUE((*described)[0].members.empty());
  listed = admin_->ListConsumerGroups(kAdminTimeout);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_NE(FindListing(listed->groups, "g1"), nullptr);
  EXPECT_EQ(FindListing(listed->groups, "g1")->state, GroupState::kEmpty);

  // An empty group's offsets can be rewritten by the admin API.
  absl::StatusOr<std::vector<TopicPartitionOffset>> altered = admin_->AlterConsumerGroupOffsets(
      "g1", {{"events", 0, 2}, {"events", 2, 4, "m2"}}, kAdminTimeout);
  ASSERT_TRUE(altered.ok()) << altered.status();
  ASSERT_EQ(altered->size(), 2u);
  for (const TopicPartitionOffset& o : *altered) EXPECT_TRUE(o.status.ok()) << o.status;
  offsets = admin_->ListConsumerGroupOffsets("g1", all_partitions, kAdminTimeout);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  by_partition.clear();
  for (const TopicPartitionOffset& o : *offsets) by_partition[o.partition] = o.offset;
  EXPECT_EQ(by_partition, (std::map<int32_t, int64_t>{{0, 2}, {1, 1}, {2, 4}}));
  // Without a partition list: every committed partition of the group (librdkafka 2.0.2 can ask
  // for that from brokers that speak OffsetFetch v6+, i.e. Kafka >= 2.4).
  offsets = admin_->ListConsumerGroupOffsets("g1", std::nullopt, kAdminTimeout);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  by_partition.clear();
  for (const TopicPartitionOffset& o : *offsets) {
    EXPECT_EQ(o.topic, "events");
    by_partition[o.partition] = o.offset;
  }
  EXPECT_EQ(by_partition, (std::map<int32_t, int64_t>{{0, 2}, {1, 1}, {2, 4}}));

  // A new member of the group resumes exactly there.
  {
    std::unique_ptr<Consumer> next = MakeConsumer("g1");
    ASSERT_NE(next, nullptr);
    ASSERT_OK(next->Subscribe({"events"}));
    const size_t expected = (kPerPartition - 2) + (kPerPartition - 1) + (kPerPartition - 4);
    std::vector<Message> resumed = Consume(*next, expected);
    ASSERT_EQ(resumed.size(), expected);
    std::map<int32_t, int64_t> first_offset;
    for (const Message& m : resumed) {
      if (!first_offset.count(m.partition())) first_offset[m.partition()] = m.offset();
    }
    EXPECT_EQ(first_offset, (std::map<int32_t, int64_t>{{0, 2}, {1, 1}, {2, 4}}));
    resumed.clear();
    ASSERT_OK(next->Close());
  }

  // A group that only stores offsets (assign + commit, no subscription) is Empty and simple.
  std::unique_ptr<Consumer> simple = MakeConsumer("offsets-only");
  ASSERT_NE(simple, nullptr);
  ASSERT_OK(simple->Assign({{"events", 1, kOffsetBeginning}}));
  ASSERT_OK(simple->Commit({{"events", 1, 5}}));
  ASSERT_TRUE(Eventually([&] {
    listed = admin_->ListConsumerGroups(kAdminTimeout);
    return listed.ok() && FindListing(listed->groups, "offsets-only") != nullptr;
  }));
  const GroupListing* offsets_only = FindListing(listed->groups, "offsets-only");
  EXPECT_TRUE(offsets_only->is_simple);
  EXPECT_EQ(offsets_only->state, GroupState::kEmpty);
  described = admin_->DescribeConsumerGroups({"offsets-only"}, kAdminTimeout);
  ASSERT_TRUE(described.ok()) << described.status();
  ASSERT_EQ(described->size(), 1u);
  EXPECT_EQ((*described)[0].state, GroupState::kEmpty);
  EXPECT_TRUE((*described)[0].is_simple);
  EXPECT_TRUE((*described)[0].members.empty());
  offsets = admin_->ListConsumerGroupOffsets(
      "offsets-only", std::vector<TopicPartition>{{"events", 1}}, kAdminTimeout);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  ASSERT_EQ(offsets->size(), 1u);
  EXPECT_EQ((*offsets)[0].offset, 5);

  // Filtering by state keeps only the groups in those states.
  listed = admin_->ListConsumerGroups(kAdminTimeout, {GroupState::kStable});
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_TRUE(listed->groups.empty());
  ASSERT_OK(simple->Close());
}

// ---- 6. Byte-exact records ------------------------------------------------------------------

std::string Bytes(size_t n, uint32_t seed) {
  std::string out(n, '\0');
  uint32_t x = seed;
  for (char& c : out) {
    x = x * 1664525u + 1013904223u;  // deterministic, incompressible enough
    c = static_cast<char>(x >> 24);
  }
  return out;
}

std::vector<Sent> FidelityRecords() {
  std::vector<Sent> v;
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  v.push_back({std::string("\x00k\xff\x00", 4), all_bytes, {}, 0});
  v.push_back({std::string(), std::string(), {}, 0});   // empty key, empty value
  v.push_back({std::nullopt, std::nullopt, {}, 0});     // null key, null value
  v.push_back({std::nullopt, std::string(""), {}, 0});  // null key, empty value
  v.push_back({std::string(""), std::nullopt, {}, 0});  // empty key, tombstone
  v.push_back({std::string("hdrs"),
               std::string("with headers"),
               {{"trace", std::string("abc")},
                {"dup", std::string("first")},
                {"nullh", std::nullopt},
                {"dup", std::string("second")},
                {"empty", std::string()},
                {"bin", std::string("\x00\xff\x01", 3)}},
               0});
  v.push_back({std::string("ts"), std::string("explicit timestamp"), {}, 1600000000123});
  v.push_back({std::string("old"), std::string("epoch+1ms"), {{"t", std::string("1")}}, 1});
  v.push_back({std::string("big"), Bytes(500 * 1024, 7), {{"size", std::string("500K")}}, 0});
  v.push_back({std::string("last"), std::string("after the big one"), {}, 0});
  return v;
}

TEST_F(SandboxAdminTest, RecordsRoundTripByteExactUnderEveryCompressionCodec) {
  const std::vector<Sent> records = FidelityRecords();
  for (const std::string codec : {"none", "gzip", "lz4", "zstd"}) {
    SCOPED_TRACE("compression.type=" + codec);
    const std::string topic = "fidelity-" + codec;
    CreateTopic(topic, 2, 3);
    delivered_.clear();
    std::unique_ptr<Producer> producer = MakeProducer(
        {{"compression.type", codec}, {"enable.idempotence", "true"}, {"acks", "all"}});
    ASSERT_NE(producer, nullptr);
    const int64_t before_ms = std::chrono::duration_cast<milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    for (size_t i = 0; i < records.size(); ++i) {
      ProduceRecord r;
      r.topic = topic;
      r.partition = 1;
      r.key = records[i].key;
      r.value = records[i].value;
      r.headers = records[i].headers;
      r.timestamp_ms = records[i].timestamp_ms;
      r.opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(i));
      ASSERT_OK(producer->Produce(r));
    }
    ASSERT_OK(producer->Flush(kWait));
    const int64_t after_ms = std::chrono::duration_cast<milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    ASSERT_EQ(delivered_.size(), records.size());
    std::vector<int64_t> offset_of(records.size(), -1);
    for (const Delivered& d : delivered_) {
      EXPECT_TRUE(d.status.ok()) << d.status;
      EXPECT_EQ(d.partition, 1);
      offset_of[d.index] = d.offset;
    }
    for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(offset_of[i], static_cast<int64_t>(i));

    std::unique_ptr<Consumer> consumer = MakeConsumer("fidelity-" + codec);
    ASSERT_NE(consumer, nullptr);
    ASSERT_OK(consumer->Assign({{topic, 0, kOffsetBeginning}, {topic, 1, kOffsetBeginning}}));
    std::vector<Message> got = Consume(*consumer, records.size());
    ASSERT_EQ(got.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      SCOPED_TRACE("record " + std::to_string(i));
      const Message& m = got[i];
      const Sent& want = records[i];
      EXPECT_EQ(m.topic(), topic);
      EXPECT_EQ(m.partition(), 1);
      EXPECT_EQ(m.offset(), static_cast<int64_t>(i));
      EXPECT_EQ(m.key().has_value(), want.key.has_value());
      if (m.key() && want.key) {
        EXPECT_EQ(*m.key(), *want.key);
      }
      EXPECT_EQ(m.value().has_value(), want.value.has_value());
      if (m.value() && want.value) {
        EXPECT_EQ(m.value()->size(), want.value->size());
        EXPECT_TRUE(*m.value() == *want.value) << "value bytes differ";
      }
      std::vector<kafka::HeaderView> headers = m.headers();
      ASSERT_EQ(headers.size(), want.headers.size());
      for (size_t h = 0; h < headers.size(); ++h) {
        EXPECT_EQ(headers[h].name, want.headers[h].name);
        EXPECT_EQ(headers[h].value.has_value(), want.headers[h].value.has_value());
        if (headers[h].value && want.headers[h].value) {
          EXPECT_EQ(*headers[h].value, *want.headers[h].value);
        }
      }
      EXPECT_EQ(m.timestamp_type(), TimestampType::kCreateTime);
      if (want.timestamp_ms != 0) {
        EXPECT_EQ(m.timestamp_ms(), want.timestamp_ms);
      } else {
        EXPECT_GE(m.timestamp_ms(), before_ms);
        EXPECT_LE(m.timestamp_ms(), after_ms);
      }
    }
    // The record-level accessors agree: the last "dup" header wins, a null header is present.
    const Message& with_headers = got[5];
    EXPECT_EQ(with_headers.header("dup"), std::optional<std::optional<std::string_view>>(
                                              std::optional<std::string_view>("second")));
    ASSERT_TRUE(with_headers.header("nullh").has_value());
    EXPECT_FALSE(with_headers.header("nullh")->has_value());
    EXPECT_FALSE(with_headers.header("absent").has_value());

    // Nothing went to partition 0.
    absl::StatusOr<kafka::Watermarks> p0 = admin_->QueryWatermarks(topic, 0, kAdminTimeout);
    ASSERT_TRUE(p0.ok()) << p0.status();
    EXPECT_EQ(p0->high, 0);
    absl::StatusOr<kafka::Watermarks> p1 = admin_->QueryWatermarks(topic, 1, kAdminTimeout);
    ASSERT_TRUE(p1.ok()) << p1.status();
    EXPECT_EQ(p1->high, static_cast<int64_t>(records.size()));
    got.clear();  // messages before their consumer
  }
}

// ---- 7. A broker outage ---------------------------------------------------------------------

TEST_F(SandboxAdminTest, IdempotentProducerRidesABrokerOutageWithoutLossOrDuplicates) {
  constexpr int32_t kPartitions = 6;
  constexpr int kPerPhase = 300;
  CreateTopic("ha", kPartitions, 3);
  std::unique_ptr<Producer> producer = MakeProducer({{"enable.idempotence", "true"},
                                                     {"acks", "all"},
                                                     {"message.timeout.ms", "60000"},
                                                     {"retry.backoff.ms", "50"},
                                                     {"reconnect.backoff.max.ms", "500"}});
  ASSERT_NE(producer, nullptr);
  std::vector<std::string> values;
  auto produce = [&](int n) {
    for (int i = 0; i < n; ++i) {
      const size_t index = values.size();
      values.push_back("record-" + std::to_string(index));
      ProduceRecord r;
      r.topic = "ha";
      r.partition = static_cast<int32_t>(index % kPartitions);
      r.key = "k" + std::to_string(index);
      r.value = values.back();
      r.opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(index));
      absl::Status st = producer->Produce(r);
      EXPECT_TRUE(st.ok()) << st;
      producer->Poll(milliseconds(0));
    }
  };

  // Phase 1: up. Phase 2: broker 2 goes down with records in flight. Phase 3: it is back.
  produce(kPerPhase);
  // Records still queued or in flight when the broker goes (for the test report).
  RecordProperty("in_flight_at_outage", producer->OutQueueLength());
  ASSERT_OK(cluster_->SetBrokerUp(2, false));
  produce(kPerPhase);
  ASSERT_OK(producer->Flush(kWait));

  ClusterMetadata during;
  absl::StatusOr<TopicMeta> ha = TopicMetadata("ha", &during);
  ASSERT_TRUE(ha.ok()) << ha.status();
  std::vector<int32_t> listed;
  for (const auto& b : during.brokers) listed.push_back(b.id);
  EXPECT_THAT(listed, UnorderedElementsAre(1, 3));
  for (const auto& p : ha->partitions) {
    EXPECT_NE(p.leader, 2) << "partition " << p.id;
    EXPECT_NE(p.leader, -1) << "partition " << p.id;
    EXPECT_THAT(p.isrs, UnorderedElementsAre(1, 3)) << "partition " << p.id;
  }
  EXPECT_EQ(during.controller_id, 1);

  ASSERT_OK(cluster_->SetBrokerUp(2, true));
  produce(kPerPhase);
  ASSERT_OK(producer->Flush(kWait));
  ASSERT_TRUE(Eventually([&] {
    absl::StatusOr<ClusterMetadata> md = admin_->Metadata(std::nullopt, kAdminTimeout);
    return md.ok() && md->brokers.size() == 3;
  }));

  // Every record acknowledged, exactly once, each at the offset its report named.
  ASSERT_EQ(delivered_.size(), values.size());
  std::map<int32_t, std::vector<std::pair<int64_t, size_t>>> acked;  // partition -> (offset, idx)
  for (const Delivered& d : delivered_) {
    ASSERT_TRUE(d.status.ok()) << "record " << d.index << ": " << d.status;
    EXPECT_EQ(d.partition, static_cast<int32_t>(d.index % kPartitions));
    acked[d.partition].emplace_back(d.offset, d.index);
  }
  EXPECT_TRUE(producer->FatalError().ok()) << producer->FatalError();

  std::unique_ptr<Consumer> consumer = MakeConsumer("ha-reader");
  ASSERT_NE(consumer, nullptr);
  std::vector<TopicPartitionOffset> assignment;
  for (int32_t p = 0; p < kPartitions; ++p) assignment.push_back({"ha", p, kOffsetBeginning});
  ASSERT_OK(consumer->Assign(assignment));
  std::vector<Message> got = Consume(*consumer, values.size());
  ASSERT_EQ(got.size(), values.size());
  std::map<int32_t, std::vector<std::pair<int64_t, std::string>>> consumed;
  for (const Message& m : got) {
    consumed[m.partition()].emplace_back(m.offset(), std::string(m.value().value_or("")));
  }
  for (int32_t p = 0; p < kPartitions; ++p) {
    SCOPED_TRACE("partition " + std::to_string(p));
    std::vector<std::pair<int64_t, std::string>> want;
    std::sort(acked[p].begin(), acked[p].end());
    for (const auto& [offset, index] : acked[p]) want.emplace_back(offset, values[index]);
    // Produce order is kept per partition, offsets are dense, nothing is duplicated.
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(want[i].first, static_cast<int64_t>(i));
      if (i > 0) {
        EXPECT_LT(std::stoi(want[i - 1].second.substr(7)), std::stoi(want[i].second.substr(7)));
      }
    }
    EXPECT_EQ(consumed[p], want);
    absl::StatusOr<kafka::Watermarks> marks = admin_->QueryWatermarks("ha", p, kAdminTimeout);
    ASSERT_TRUE(marks.ok()) << marks.status();
    EXPECT_EQ(marks->high, static_cast<int64_t>(want.size()));
  }
  got.clear();
}

// ---- 8. Injected errors ---------------------------------------------------------------------

TEST_F(SandboxAdminTest, InjectedCreateTopicsErrorsFailTheNextRequestsOnly) {
  ASSERT_OK(cluster_->InjectErrors(19, {41}));  // CreateTopics: NOT_CONTROLLER
  absl::StatusOr<std::vector<TopicResult>> first =
      admin_->CreateTopics({{"injected", 1, 3, {}}}, kAdminTimeout);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(KafkaCode((*first)[0].status), 41) << (*first)[0].status;
  EXPECT_TRUE(kafka::IsRetriable((*first)[0].status));
  EXPECT_THAT((*first)[0].status.message(), HasSubstr("injected error 41"));
  EXPECT_EQ(TopicMetadata("injected")->status.code(), absl::StatusCode::kNotFound);

  absl::StatusOr<std::vector<TopicResult>> second =
      admin_->CreateTopics({{"injected", 1, 3, {}}}, kAdminTimeout);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE((*second)[0].status.ok()) << (*second)[0].status;
  EXPECT_EQ(TopicMetadata("injected")->partitions.size(), 1u);

  // Two queued errors fail two requests, in order; other APIs are not affected.
  ASSERT_OK(cluster_->InjectErrors(19, {38, 42}));
  absl::StatusOr<std::vector<ResourceConfigs>> configs =
      admin_->DescribeConfigs({{ConfigResourceType::kTopic, "injected"}}, kAdminTimeout);
  ASSERT_TRUE(configs.ok()) << configs.status();
  EXPECT_TRUE((*configs)[0].status.ok()) << (*configs)[0].status;
  for (int expected : {38, 42, 0}) {
    absl::StatusOr<std::vector<TopicResult>> r =
        admin_->CreateTopics({{"injected-" + std::to_string(expected), 1, 1, {}}}, kAdminTimeout);
    ASSERT_TRUE(r.ok()) << r.status();
    if (expected == 0) {
      EXPECT_TRUE((*r)[0].status.ok()) << (*r)[0].status;
    } else {
      EXPECT_EQ(KafkaCode((*r)[0].status), expected) << (*r)[0].status;
    }
  }
}

TEST_F(SandboxAdminTest, ProduceIsRefusedPerPartitionAsABrokerWould) {
  CreateTopic("refusing", 2, 3);
  auto altered =
      admin_->AlterConfigs({AlterConfigsResource{{ConfigResourceType::kTopic, "refusing"},
                                                 {{"max.message.bytes", "20000"}}}},
                           kAdminTimeout);
  ASSERT_TRUE(altered.ok()) << altered.status();
  std::unique_ptr<Producer> producer =
      MakeProducer({{"message.max.bytes", "5000000"}, {"linger.ms", "0"}});
  ASSERT_NE(producer, nullptr);
  auto produce = [&](int32_t partition, size_t bytes, size_t index) {
    ProduceRecord r;
    r.topic = "refusing";
    r.partition = partition;
    r.value = std::string(bytes, 'x');
    r.opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(index));
    ASSERT_OK(producer->Produce(r));
    ASSERT_OK(producer->Flush(kWait));
  };
  // A batch over the topic's max.message.bytes: MESSAGE_TOO_LARGE; a smaller one lands.
  produce(0, 30000, 0);
  produce(0, 100, 1);
  // An injected verdict for one partition fails its next batch only; the other is not touched.
  ASSERT_OK(cluster_->InjectProduceErrors("refusing", 1, {32}));  // INVALID_TIMESTAMP
  produce(1, 100, 2);
  produce(1, 100, 3);
  produce(0, 100, 4);
  EXPECT_EQ(cluster_->InjectProduceErrors("refusing", 7, {32}).code(), absl::StatusCode::kNotFound);
  ASSERT_EQ(delivered_.size(), 5u);
  EXPECT_EQ(KafkaCode(delivered_[0].status), 10) << delivered_[0].status;
  EXPECT_TRUE(delivered_[1].status.ok()) << delivered_[1].status;
  EXPECT_EQ(delivered_[1].offset, 0);
  EXPECT_EQ(KafkaCode(delivered_[2].status), 32) << delivered_[2].status;
  EXPECT_TRUE(delivered_[3].status.ok()) << delivered_[3].status;
  EXPECT_EQ(delivered_[3].offset, 0) << "the refused batch was not written";
  EXPECT_TRUE(delivered_[4].status.ok()) << delivered_[4].status;
  EXPECT_EQ(delivered_[4].offset, 1);
}

}  // namespace
}  // namespace kmirror::sandbox
