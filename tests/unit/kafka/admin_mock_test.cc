// AdminClient against librdkafka's mock cluster. The mock answers metadata, list offsets and the
// group offset APIs, not the topic/config/ACL/group-listing admin APIs: for those the test checks
// that the wrapper reports an error promptly instead of hanging. (Full admin coverage runs against
// the sandbox in tests/integration.)
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/mock_cluster.h"
#include "lib/kafka/producer.h"

namespace kmirror::kafka {
namespace {

using ::std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

constexpr auto kWait = std::chrono::seconds(20);

class AdminMockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Create(3);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (const MockCluster::Broker& b : cluster_->brokers()) {
      if (!bootstrap_.empty()) bootstrap_ += ",";
      bootstrap_ += b.host + ":" + std::to_string(b.port);
    }
    absl::StatusOr<std::unique_ptr<AdminClient>> admin =
        AdminClient::Create({{"bootstrap.servers", bootstrap_}, {"log_level", "2"}});
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *std::move(admin);
  }

  std::unique_ptr<MockCluster> cluster_;
  std::string bootstrap_;
  std::unique_ptr<AdminClient> admin_;
};

TEST_F(AdminMockTest, MetadataListsBrokersTopicsAndPartitions) {
  ASSERT_TRUE(cluster_->CreateTopic("meta", 4, 3).ok());
  absl::StatusOr<ClusterMetadata> md = admin_->Metadata(std::nullopt, kWait);
  ASSERT_TRUE(md.ok()) << md.status();
  std::vector<int32_t> broker_ids;
  for (const BrokerMeta& b : md->brokers) {
    broker_ids.push_back(b.id);
    EXPECT_FALSE(b.host.empty());
    EXPECT_GT(b.port, 0);
  }
  EXPECT_THAT(broker_ids, UnorderedElementsAre(1, 2, 3));
  EXPECT_GE(md->orig_broker_id, 1);
  ASSERT_TRUE(md->cluster_id.has_value());
  EXPECT_FALSE(md->cluster_id->empty());
  ASSERT_TRUE(md->controller_id.has_value());

  const TopicMeta* meta = nullptr;
  for (const TopicMeta& t : md->topics) {
    if (t.name == "meta") meta = &t;
  }
  ASSERT_NE(meta, nullptr);
  EXPECT_TRUE(meta->status.ok());
  ASSERT_EQ(meta->partitions.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const PartitionMeta& p = meta->partitions[i];
    EXPECT_EQ(p.id, i);
    EXPECT_TRUE(p.status.ok());
    EXPECT_GE(p.leader, 1);
    EXPECT_EQ(p.replicas.size(), 3u);
    EXPECT_FALSE(p.isrs.empty());
  }
}

TEST_F(AdminMockTest, MetadataForNamedTopicsReportsMissingOnesWithoutCreatingThem) {
  ASSERT_TRUE(cluster_->CreateTopic("present", 1, 1).ok());
  absl::StatusOr<ClusterMetadata> md =
      admin_->Metadata(std::vector<std::string>{"present", "absent"}, kWait);
  ASSERT_TRUE(md.ok()) << md.status();
  ASSERT_EQ(md->topics.size(), 2u);
  EXPECT_EQ(md->topics[0].name, "present");
  EXPECT_TRUE(md->topics[0].status.ok());
  EXPECT_EQ(md->topics[1].name, "absent");
  EXPECT_EQ(md->topics[1].status.code(), absl::StatusCode::kNotFound);

  // Still absent: the lookup did not auto-create it.
  md = admin_->Metadata(std::nullopt, kWait);
  ASSERT_TRUE(md.ok());
  for (const TopicMeta& t : md->topics) EXPECT_NE(t.name, "absent");
}

TEST_F(AdminMockTest, GroupOffsetsListAlterAndDelete) {
  ASSERT_TRUE(cluster_->CreateTopic("grp", 2, 1).ok());
  const std::string group = "admin-group";

  // Nothing committed yet.
  absl::StatusOr<std::vector<TopicPartitionOffset>> listed =
      admin_->ListConsumerGroupOffsets(group, std::vector<TopicPartition>{{"grp", 0}}, kWait);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].offset, kOffsetInvalid);

  absl::StatusOr<std::vector<TopicPartitionOffset>> altered =
      admin_->AlterConsumerGroupOffsets(group, {{"grp", 0, 7, "meta-0"}, {"grp", 1, 3}}, kWait);
  ASSERT_TRUE(altered.ok()) << altered.status();
  ASSERT_EQ(altered->size(), 2u);
  for (const TopicPartitionOffset& tpo : *altered) EXPECT_TRUE(tpo.status.ok()) << tpo.status;

  listed = admin_->ListConsumerGroupOffsets(
      group, std::vector<TopicPartition>{{"grp", 0}, {"grp", 1}}, kWait);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].offset, 7);
  EXPECT_EQ((*listed)[0].metadata, "meta-0");
  EXPECT_EQ((*listed)[1].offset, 3);

  // A consumer of the group sees the same committed offsets.
  absl::StatusOr<std::unique_ptr<Consumer>> consumer = Consumer::Create(
      {{"bootstrap.servers", bootstrap_}, {"group.id", group}, {"log_level", "2"}});
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  absl::StatusOr<std::vector<TopicPartitionOffset>> committed =
      (*consumer)->Committed({{"grp", 0}, {"grp", 1}}, kWait);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ((*committed)[0].offset, 7);
  EXPECT_EQ((*committed)[1].offset, 3);
}

TEST_F(AdminMockTest, ListOffsetsForLogicalTimes) {
  ASSERT_TRUE(cluster_->CreateTopic("lo", 1, 1).ok());
  int delivered = 0;
  absl::StatusOr<std::unique_ptr<Producer>> producer =
      Producer::Create({{"bootstrap.servers", bootstrap_}, {"log_level", "2"}},
                       [&delivered](const DeliveryReport& r) { delivered += r.status.ok(); });
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 3; ++i) {
    ProduceRecord r;
    r.topic = "lo";
    r.partition = 0;
    r.value = "v";
    ASSERT_TRUE((*producer)->Produce(r).ok());
  }
  ASSERT_TRUE((*producer)->Flush(kWait).ok());
  ASSERT_EQ(delivered, 3);

  absl::StatusOr<std::vector<TopicPartitionOffset>> offsets =
      admin_->ListOffsetsForTimes({{"lo", 0, kOffsetBeginning}}, kWait);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ((*offsets)[0].offset, 0);
  offsets = admin_->ListOffsetsForTimes({{"lo", 0, kOffsetEnd}}, kWait);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ((*offsets)[0].offset, 3);
  absl::StatusOr<Watermarks> marks = admin_->QueryWatermarks("lo", 0, kWait);
  ASSERT_TRUE(marks.ok());
  EXPECT_EQ(marks->high, 3);
}

// The mock does not implement these APIs: each call must fail cleanly within its timeout.
// (DescribeConsumerGroups / DeleteConsumerGroups / DeleteConsumerGroupOffsets are not called: see
// the librdkafka 2.0.2 bug noted in admin.h. ListConsumerGroups is not either: 2.0.2 leaks a little
// memory when brokers reject ListGroups, which would fail the sanitizer build.)
TEST_F(AdminMockTest, UnsupportedAdminApisFailPromptly) {
  const milliseconds timeout(1500);
  const auto start = std::chrono::steady_clock::now();

  absl::StatusOr<std::vector<TopicResult>> created =
      admin_->CreateTopics({{"new-topic", 3, 1, {{"cleanup.policy", "compact"}}}}, timeout);
  const bool created_failed = !created.ok() || (created->size() == 1 && !(*created)[0].status.ok());
  EXPECT_TRUE(created_failed);

  absl::StatusOr<std::vector<ResourceConfigs>> configs =
      admin_->DescribeConfigs({{ConfigResourceType::kTopic, "new-topic"}}, timeout);
  EXPECT_TRUE(!configs.ok() || (configs->size() == 1 && !(*configs)[0].status.ok()));

  absl::StatusOr<std::vector<AclBinding>> acls = admin_->DescribeAcls(AclBindingFilter{}, timeout);
  EXPECT_FALSE(acls.ok());

  // Each call is bounded by its timeout (+ the queue margin), never by librdkafka's defaults.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3 * 4));
}

TEST_F(AdminMockTest, LocallyInvalidRequestsAreInvalidArgument) {
  absl::StatusOr<std::vector<TopicResult>> bad_topic =
      admin_->CreateTopics({{"t", -5, 1, {}}}, kWait);
  EXPECT_EQ(bad_topic.status().code(), absl::StatusCode::kInvalidArgument);

  // kAny is a filter value; a binding to create must be concrete.
  AclBinding binding{
      ResourceType::kAny,   "t", PatternType::kLiteral, "User:a", "*", AclOperation::kRead,
      AclPermission::kAllow};
  absl::StatusOr<std::vector<absl::Status>> created = admin_->CreateAcls({binding}, kWait);
  EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument);

  absl::StatusOr<std::vector<ResourceConfigs>> no_name =
      admin_->DescribeConfigs({{ConfigResourceType::kBroker, ""}}, kWait);
  EXPECT_EQ(no_name.status().code(), absl::StatusCode::kInvalidArgument);

  // Empty requests are answered locally.
  absl::StatusOr<std::vector<TopicResult>> none = admin_->CreateTopics({}, kWait);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace kmirror::kafka
