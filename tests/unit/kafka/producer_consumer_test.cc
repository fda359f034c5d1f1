// Producer and Consumer against librdkafka's mock cluster: records come back byte-exact (null vs
// empty distinguished), delivery reports tell the truth, offsets round-trip through the group,
// and the rebalance hook drives (incremental) assignment.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/error.h"
#include "lib/kafka/mock_cluster.h"
#include "lib/kafka/producer.h"

namespace kmirror::kafka {
namespace {

using ::std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Upper bound for anything awaited in these tests; normally reached in milliseconds.
constexpr auto kWait = std::chrono::seconds(20);
constexpr milliseconds kTick(50);

struct SavedReport {
  std::string topic;
  int32_t partition;
  int64_t offset;
  absl::Status status;
  PersistenceStatus persistence;
  int64_t timestamp_ms;
  void* opaque;
};

class MockKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Create(1);
    ASSERT_TRUE(cluster.ok()) << cluster.status();
    cluster_ = *std::move(cluster);
    for (const MockCluster::Broker& b : cluster_->brokers()) {
      if (!bootstrap_.empty()) bootstrap_ += ",";
      bootstrap_ += b.host + ":" + std::to_string(b.port);
    }
  }

  Properties CommonProps() const {
    return Properties{{"bootstrap.servers", bootstrap_}, {"log_level", "2"}};
  }

  Properties ConsumerProps(const std::string& group) const {
    Properties props = CommonProps();
    props.Set("group.id", group)
        .Set("enable.auto.commit", "false")
        .Set("auto.offset.reset", "earliest");
    return props;
  }

  std::unique_ptr<Producer> MakeProducer(const Properties& extra = {}) {
    Properties props = CommonProps();
    props.Set("linger.ms", "0").Merge(extra);
    absl::StatusOr<std::unique_ptr<Producer>> producer =
        Producer::Create(props, [this](const DeliveryReport& r) {
          reports_.push_back(SavedReport{std::string(r.topic), r.partition, r.offset, r.status,
                                         r.persistence, r.timestamp_ms, r.opaque});
        });
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? *std::move(producer) : nullptr;
  }

  std::unique_ptr<Consumer> MakeConsumer(const std::string& group, const Properties& extra = {},
                                         Consumer::RebalanceCallback on_rebalance = nullptr) {
    Properties props = ConsumerProps(group);
    props.Merge(extra);
    absl::StatusOr<std::unique_ptr<Consumer>> consumer =
        Consumer::Create(props, std::move(on_rebalance));
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? *std::move(consumer) : nullptr;
  }

  // Serves the producer until `n` delivery reports arrived in total.
  void AwaitReports(Producer& producer, size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (reports_.size() < n && std::chrono::steady_clock::now() < deadline) {
      producer.Poll(kTick);
    }
    ASSERT_GE(reports_.size(), n) << "delivery reports did not arrive in time";
  }

  // Produces `records` and waits for all their delivery reports, which must be OK.
  void ProduceAll(const std::vector<ProduceRecord>& records) {
    std::unique_ptr<Producer> producer = MakeProducer();
    ASSERT_NE(producer, nullptr);
    for (const ProduceRecord& r : records) ASSERT_TRUE(producer->Produce(r).ok());
    ASSERT_TRUE(producer->Flush(kWait).ok());
    for (const SavedReport& r : reports_) ASSERT_TRUE(r.status.ok()) << r.status;
    reports_.clear();
  }

  // Polls until `n` records (not errors or EOF events) arrived.
  std::vector<Message> ConsumeN(Consumer& consumer, size_t n) {
    std::vector<Message> out;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<std::optional<Message>> msg = consumer.Poll(kTick);
      EXPECT_TRUE(msg.ok()) << msg.status();
      if (!msg.ok() || !msg->has_value()) continue;
      if (!(*msg)->ok()) continue;
      out.push_back(std::move(**msg));
    }
    EXPECT_EQ(out.size(), n) << "records did not arrive in time";
    return out;
  }

  // Polls until a per-partition error message arrives.
  std::optional<Message> AwaitErrorMessage(Consumer& consumer) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      absl::StatusOr<std::optional<Message>> msg = consumer.Poll(kTick);
      if (msg.ok() && msg->has_value() && !(*msg)->ok()) return std::move(*msg);
    }
    return std::nullopt;
  }

  std::unique_ptr<MockCluster> cluster_;
  std::string bootstrap_;
  std::vector<SavedReport> reports_;
};

ProduceRecord Record(const std::string& topic, int32_t partition, std::optional<std::string> key,
                     std::optional<std::string> value) {
  ProduceRecord r;
  r.topic = topic;
  r.partition = partition;
  r.key = std::move(key);
  r.value = std::move(value);
  return r;
}

TEST_F(MockKafkaTest, RecordsRoundTripByteExact) {
  ASSERT_TRUE(cluster_->CreateTopic("rt", 1, 1).ok());
  std::unique_ptr<Producer> producer = MakeProducer();
  ASSERT_NE(producer, nullptr);

  int tags[4] = {0, 1, 2, 3};
  ProduceRecord full = Record("rt", 0, "k1", "v1");
  full.headers = {{"h1", "a"}, {"h-null", std::nullopt}, {"h-empty", ""}, {"h1", "b"}};
  full.timestamp_ms = 1234567890123;
  full.opaque = &tags[0];
  ProduceRecord tombstone = Record("rt", 0, std::nullopt, std::nullopt);
  tombstone.opaque = &tags[1];
  ProduceRecord empty = Record("rt", 0, "", "");
  empty.opaque = &tags[2];
  const std::string binary("\0\x01\xff\0", 4);
  ProduceRecord bin = Record("rt", 0, binary, binary + binary);
  bin.opaque = &tags[3];
  for (const ProduceRecord* r : {&full, &tombstone, &empty, &bin}) {
    ASSERT_TRUE(producer->Produce(*r).ok());
  }
  AwaitReports(*producer, 4);
  for (int i = 0; i < 4; ++i) {
    const SavedReport& r = reports_[i];
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.topic, "rt");
    EXPECT_EQ(r.partition, 0);
    EXPECT_EQ(r.offset, i);
    EXPECT_EQ(r.opaque, &tags[i]);
    EXPECT_EQ(r.persistence, PersistenceStatus::kPersisted);
  }
  // No assertion on the report's timestamp: the 2.0.2 mock answers every produce with
  // LogAppendTime=1234, which librdkafka copies into the delivery report. The stored record keeps
  // its CreateTime, checked below.
  EXPECT_EQ(producer->OutQueueLength(), 0);

  std::unique_ptr<Consumer> consumer = MakeConsumer("rt-reader");
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Assign({{"rt", 0, kOffsetBeginning}}).ok());
  std::vector<Message> msgs = ConsumeN(*consumer, 4);
  ASSERT_EQ(msgs.size(), 4u);

  const Message& m0 = msgs[0];
  EXPECT_EQ(m0.topic(), "rt");
  EXPECT_EQ(m0.partition(), 0);
  EXPECT_EQ(m0.offset(), 0);
  EXPECT_EQ(m0.key(), "k1");
  EXPECT_EQ(m0.value(), "v1");
  EXPECT_EQ(m0.timestamp_ms(), 1234567890123);
  EXPECT_EQ(m0.timestamp_type(), TimestampType::kCreateTime);
  std::vector<HeaderView> headers = m0.headers();
  ASSERT_EQ(headers.size(), 4u);
  EXPECT_EQ(headers[0].name, "h1");
  EXPECT_EQ(headers[0].value, "a");
  EXPECT_EQ(headers[1].name, "h-null");
  EXPECT_EQ(headers[1].value, std::nullopt);
  EXPECT_EQ(headers[2].name, "h-empty");
  ASSERT_TRUE(headers[2].value.has_value());
  EXPECT_EQ(*headers[2].value, "");
  EXPECT_EQ(headers[3].value, "b");
  EXPECT_EQ(m0.header("h1"), std::optional<std::string_view>("b"));  // The last one wins.
  ASSERT_TRUE(m0.header("h-null").has_value());
  EXPECT_EQ(*m0.header("h-null"), std::nullopt);
  EXPECT_EQ(m0.header("absent"), std::nullopt);
  EXPECT_TRUE(m0.status().ok());

  EXPECT_EQ(msgs[1].key(), std::nullopt);
  EXPECT_EQ(msgs[1].value(), std::nullopt);
  EXPECT_TRUE(msgs[1].headers().empty());

  ASSERT_TRUE(msgs[2].key().has_value());
  ASSERT_TRUE(msgs[2].value().has_value());
  EXPECT_EQ(*msgs[2].key(), "");
  EXPECT_EQ(*msgs[2].value(), "");

  EXPECT_EQ(msgs[3].key(), binary);
  EXPECT_EQ(msgs[3].value(), binary + binary);
  EXPECT_EQ(msgs[3].size(), 12u);
}

TEST_F(MockKafkaTest, ProduceBorrowedReadsCallerBytesUntilDelivery) {
  ASSERT_TRUE(cluster_->CreateTopic("borrowed", 2, 1).ok());
  std::unique_ptr<Producer> producer = MakeProducer();
  ASSERT_NE(producer, nullptr);
  // The payload lives in the caller's buffer until its delivery report.
  auto payload = std::make_unique<std::string>(1000, 'x');
  const std::string header_value = "origin=a";
  BorrowedRecord r;
  r.topic = "borrowed";
  r.partition = 1;
  r.key = "key";
  r.value = *payload;
  r.headers = {{"kmirror", header_value}};
  r.opaque = payload.get();
  ASSERT_TRUE(producer->ProduceBorrowed(r).ok());
  AwaitReports(*producer, 1);
  ASSERT_TRUE(reports_[0].status.ok()) << reports_[0].status;
  EXPECT_EQ(reports_[0].partition, 1);
  EXPECT_EQ(reports_[0].opaque, payload.get());
  payload.reset();  // Safe now.

  std::unique_ptr<Consumer> consumer = MakeConsumer("borrowed-reader");
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Assign({{"borrowed", 1, kOffsetBeginning}}).ok());
  std::vector<Message> msgs = ConsumeN(*consumer, 1);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].key(), "key");
  EXPECT_EQ(msgs[0].value(), std::string(1000, 'x'));
  EXPECT_EQ(msgs[0].header("kmirror"), std::optional<std::string_view>("origin=a"));
}

TEST_F(MockKafkaTest, FlushServesEveryDeliveryReport) {
  ASSERT_TRUE(cluster_->CreateTopic("flush", 3, 1).ok());
  std::unique_ptr<Producer> producer = MakeProducer({{"linger.ms", "20"}});
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(producer->Produce(Record("flush", kPartitionAny, std::to_string(i), "v")).ok());
  }
  ASSERT_TRUE(producer->Flush(kWait).ok());
  EXPECT_EQ(reports_.size(), 300u);
  EXPECT_EQ(producer->OutQueueLength(), 0);
  for (const SavedReport& r : reports_) {
    EXPECT_TRUE(r.status.ok()) << r.status;
    EXPECT_GE(r.partition, 0);
    EXPECT_LT(r.partition, 3);
    EXPECT_GE(r.offset, 0);
  }
}

TEST_F(MockKafkaTest, FullLocalQueueIsRetriableUnavailable) {
  ASSERT_TRUE(cluster_->CreateTopic("full", 1, 1).ok());
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  std::unique_ptr<Producer> producer = MakeProducer({{"queue.buffering.max.messages", "2"}});
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->Produce(Record("full", 0, "a", "1")).ok());
  ASSERT_TRUE(producer->Produce(Record("full", 0, "b", "2")).ok());
  absl::Status full = producer->Produce(Record("full", 0, "c", "3"));
  EXPECT_EQ(full.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetriable(full));
  EXPECT_EQ(KafkaErrorCode(full), RD_KAFKA_RESP_ERR__QUEUE_FULL);
  // The two queued records, plus any error events not yet served by Poll().
  EXPECT_GE(producer->OutQueueLength(), 2);

  // Nothing can be delivered: Flush() gives up at its deadline and says so.
  absl::Status flush = producer->Flush(milliseconds(100));
  EXPECT_EQ(flush.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(flush.message()), HasSubstr("in flight"));

  // Purging queued records reports each of them as failed, never delivered.
  ASSERT_TRUE(producer->PurgeQueued().ok());
  AwaitReports(*producer, 2);
  for (const SavedReport& r : reports_) {
    EXPECT_FALSE(r.status.ok());
    EXPECT_EQ(KafkaErrorCode(r.status), RD_KAFKA_RESP_ERR__PURGE_QUEUE);
    EXPECT_EQ(r.persistence, PersistenceStatus::kNotPersisted);
  }
}

TEST_F(MockKafkaTest, UndeliverableRecordGetsAFailedDeliveryReport) {
  ASSERT_TRUE(cluster_->CreateTopic("timeout", 1, 1).ok());
  ASSERT_TRUE(cluster_->SetBrokerDown(1).ok());
  std::unique_ptr<Producer> producer = MakeProducer({{"message.timeout.ms", "300"}});
  ASSERT_NE(producer, nullptr);
  ASSERT_TRUE(producer->Produce(Record("timeout", 0, "k", "v")).ok());
  AwaitReports(*producer, 1);
  const SavedReport& r = reports_[0];
  EXPECT_EQ(r.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetriable(r.status));
  EXPECT_EQ(KafkaErrorCode(r.status), RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
  EXPECT_EQ(r.offset, kOffsetInvalid);
  EXPECT_EQ(r.persistence, PersistenceStatus::kNotPersisted);
}

TEST_F(MockKafkaTest, FatalIdempotenceErrorIsReportedAsFatal) {
  ASSERT_TRUE(cluster_->CreateTopic("fatal", 1, 1).ok());
  // InitProducerId (API key 22) answered with CLUSTER_AUTHORIZATION_FAILED: fatal for an
  // idempotent producer.
  cluster_->PushRequestErrors(
      22, {static_cast<int16_t>(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED)});
  std::vector<absl::Status> errors;
  Properties props = CommonProps();
  props.Set("enable.idempotence", "true");
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(
      props,
      [this](const DeliveryReport& r) {
        reports_.push_back({std::string(r.topic), r.partition, r.offset, r.status, r.persistence,
                            r.timestamp_ms, r.opaque});
      },
      [&errors](const absl::Status& s) { errors.push_back(s); });
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE((*producer)->Produce(Record("fatal", 0, "k", "v")).ok());
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (errors.empty() && std::chrono::steady_clock::now() < deadline) (*producer)->Poll(kTick);
  ASSERT_FALSE(errors.empty());
  EXPECT_TRUE(IsFatal(errors.front())) << errors.front();
  EXPECT_EQ(KafkaErrorCode(errors.front()), RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED);
  absl::Status fatal = (*producer)->FatalError();
  EXPECT_TRUE(IsFatal(fatal));
  EXPECT_EQ(fatal.code(), absl::StatusCode::kFailedPrecondition);
  absl::Status after = (*producer)->Produce(Record("fatal", 0, "k", "v"));
  EXPECT_TRUE(IsFatal(after)) << after;
}

TEST_F(MockKafkaTest, CommittedOffsetsRoundTripThroughTheGroup) {
  ASSERT_TRUE(cluster_->CreateTopic("commits", 2, 1).ok());
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 5; ++i) records.push_back(Record("commits", 0, "k", std::to_string(i)));
  ProduceAll(records);

  {
    std::unique_ptr<Consumer> consumer = MakeConsumer("g-commit");
    ASSERT_NE(consumer, nullptr);
    ASSERT_TRUE(consumer->Assign({{"commits", 0, kOffsetBeginning}}).ok());
    ASSERT_EQ(ConsumeN(*consumer, 3).size(), 3u);
    TopicPartitionOffset commit{"commits", 0, 3, "source-offset=42"};
    ASSERT_TRUE(consumer->Commit({commit}, kWait).ok());

    absl::StatusOr<std::vector<TopicPartitionOffset>> committed =
        consumer->Committed({{"commits", 0}, {"commits", 1}}, kWait);
    ASSERT_TRUE(committed.ok()) << committed.status();
    ASSERT_EQ(committed->size(), 2u);
    EXPECT_EQ((*committed)[0].offset, 3);
    EXPECT_EQ((*committed)[0].metadata, "source-offset=42");
    EXPECT_TRUE((*committed)[0].status.ok());
    EXPECT_EQ((*committed)[1].offset, kOffsetInvalid);  // Never committed.

    absl::StatusOr<std::vector<TopicPartitionOffset>> position =
        consumer->Position({{"commits", 0}});
    ASSERT_TRUE(position.ok());
    EXPECT_EQ((*position)[0].offset, 3);
    EXPECT_TRUE(consumer->Close().ok());
    EXPECT_TRUE(consumer->Close().ok());  // Idempotent.
  }

  // A new member of the group resumes at the committed offset.
  std::unique_ptr<Consumer> resumed = MakeConsumer("g-commit");
  ASSERT_NE(resumed, nullptr);
  ASSERT_TRUE(resumed->Assign({{"commits", 0, kOffsetStored}}).ok());
  std::vector<Message> rest = ConsumeN(*resumed, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].offset(), 3);
  EXPECT_EQ(rest[0].value(), "3");
}

TEST_F(MockKafkaTest, CommitPositionsCommitsWhatWasConsumed) {
  ASSERT_TRUE(cluster_->CreateTopic("positions", 1, 1).ok());
  ProduceAll({Record("positions", 0, "a", "1"), Record("positions", 0, "b", "2")});
  std::unique_ptr<Consumer> consumer = MakeConsumer("g-positions");
  ASSERT_NE(consumer, nullptr);
  // Nothing consumed yet: nothing to commit, not an error.
  EXPECT_TRUE(consumer->CommitPositions(kWait).ok());
  ASSERT_TRUE(consumer->Assign({{"positions", 0, kOffsetBeginning}}).ok());
  ASSERT_EQ(ConsumeN(*consumer, 2).size(), 2u);
  ASSERT_TRUE(consumer->CommitPositions(kWait).ok());
  absl::StatusOr<std::vector<TopicPartitionOffset>> committed =
      consumer->Committed({{"positions", 0}}, kWait);
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ((*committed)[0].offset, 2);
}

TEST_F(MockKafkaTest, WatermarksFromConsumerAndAdmin) {
  ASSERT_TRUE(cluster_->CreateTopic("marks", 1, 1).ok());
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 7; ++i) records.push_back(Record("marks", 0, std::nullopt, "v"));
  ProduceAll(records);

  std::unique_ptr<Consumer> consumer = MakeConsumer("g-marks");
  ASSERT_NE(consumer, nullptr);
  absl::StatusOr<Watermarks> marks = consumer->QueryWatermarks("marks", 0, kWait);
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(*marks, (Watermarks{0, 7}));

  ASSERT_TRUE(consumer->Assign({{"marks", 0, 5}}).ok());
  std::vector<Message> msgs = ConsumeN(*consumer, 2);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].offset(), 5);
  absl::StatusOr<Watermarks> cached = consumer->GetWatermarksCached("marks", 0);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ(cached->high, 7);

  absl::StatusOr<std::unique_ptr<AdminClient>> admin = AdminClient::Create(CommonProps());
  ASSERT_TRUE(admin.ok()) << admin.status();
  absl::StatusOr<Watermarks> admin_marks = (*admin)->QueryWatermarks("marks", 0, kWait);
  ASSERT_TRUE(admin_marks.ok());
  EXPECT_EQ(*admin_marks, (Watermarks{0, 7}));
  absl::StatusOr<Watermarks> missing = (*admin)->QueryWatermarks("marks", 9, kWait);
  EXPECT_FALSE(missing.ok());
}

TEST_F(MockKafkaTest, SeekPauseAndResume) {
  ASSERT_TRUE(cluster_->CreateTopic("seek", 1, 1).ok());
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 6; ++i) records.push_back(Record("seek", 0, "k", std::to_string(i)));
  ProduceAll(records);

  std::unique_ptr<Consumer> consumer = MakeConsumer("g-seek");
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Assign({{"seek", 0, kOffsetBeginning}}).ok());
  ASSERT_EQ(ConsumeN(*consumer, 6).size(), 6u);
  ASSERT_TRUE(consumer->SeekPartitions({{"seek", 0, 2}}, kWait).ok());
  std::vector<Message> again = ConsumeN(*consumer, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].offset(), 2);

  ASSERT_TRUE(consumer->Pause({{"seek", 0}}).ok());
  ASSERT_TRUE(consumer->Resume({{"seek", 0}}).ok());
  EXPECT_FALSE(consumer->Pause({{"not-assigned", 0}}).ok());

  absl::StatusOr<std::vector<TopicPartition>> assignment = consumer->Assignment();
  ASSERT_TRUE(assignment.ok());
  EXPECT_THAT(*assignment, ElementsAre(TopicPartition{"seek", 0}));
  ASSERT_TRUE(consumer->IncrementalUnassign({{"seek", 0}}).ok());
  assignment = consumer->Assignment();
  ASSERT_TRUE(assignment.ok());
  EXPECT_TRUE(assignment->empty());
  ASSERT_TRUE(consumer->IncrementalAssign({{"seek", 0, 4}}).ok());
  std::vector<Message> from4 = ConsumeN(*consumer, 1);
  ASSERT_EQ(from4.size(), 1u);
  EXPECT_EQ(from4[0].offset(), 4);
}

TEST_F(MockKafkaTest, PartitionEofAndOffsetOutOfRangeAreDistinctStatuses) {
  ASSERT_TRUE(cluster_->CreateTopic("edges", 1, 1).ok());
  ProduceAll({Record("edges", 0, "k", "v")});

  std::unique_ptr<Consumer> eof_reader = MakeConsumer("g-eof", {{"enable.partition.eof", "true"}});
  ASSERT_NE(eof_reader, nullptr);
  ASSERT_TRUE(eof_reader->Assign({{"edges", 0, kOffsetEnd}}).ok());
  std::optional<Message> eof = AwaitErrorMessage(*eof_reader);
  ASSERT_TRUE(eof.has_value());
  EXPECT_TRUE(eof->is_partition_eof());
  EXPECT_EQ(eof->status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(eof->topic(), "edges");
  EXPECT_EQ(eof->offset(), 1);
  EXPECT_EQ(eof->value(), std::nullopt);

  std::unique_ptr<Consumer> strict = MakeConsumer("g-oor", {{"auto.offset.reset", "error"}});
  ASSERT_NE(strict, nullptr);
  ASSERT_TRUE(strict->Assign({{"edges", 0, 100}}).ok());
  std::optional<Message> oor = AwaitErrorMessage(*strict);
  ASSERT_TRUE(oor.has_value());
  EXPECT_FALSE(oor->is_partition_eof());
  EXPECT_EQ(oor->status().code(), absl::StatusCode::kOutOfRange) << oor->status();
  EXPECT_EQ(oor->topic(), "edges");
  EXPECT_EQ(oor->partition(), 0);
}

TEST_F(MockKafkaTest, ConsumeBatchReturnsWhatIsAvailableUpToMax) {
  ASSERT_TRUE(cluster_->CreateTopic("batch", 1, 1).ok());
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 10; ++i) records.push_back(Record("batch", 0, "k", std::to_string(i)));
  ProduceAll(records);
  std::unique_ptr<Consumer> consumer = MakeConsumer("g-batch");
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Assign({{"batch", 0, kOffsetBeginning}}).ok());

  std::vector<int64_t> offsets;
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (offsets.size() < 10 && std::chrono::steady_clock::now() < deadline) {
    absl::StatusOr<std::vector<Message>> batch = consumer->ConsumeBatch(kTick, 4);
    ASSERT_TRUE(batch.ok()) << batch.status();
    EXPECT_LE(batch->size(), 4u);
    for (const Message& m : *batch) offsets.push_back(m.offset());
  }
  ASSERT_EQ(offsets.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(offsets[i], i);
  absl::StatusOr<std::vector<Message>> none = consumer->ConsumeBatch(milliseconds(10), 4);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(MockKafkaTest, OffsetsForLogicalTimes) {
  ASSERT_TRUE(cluster_->CreateTopic("times", 1, 1).ok());
  ProduceAll({Record("times", 0, "a", "1"), Record("times", 0, "b", "2")});
  std::unique_ptr<Consumer> consumer = MakeConsumer("g-times");
  ASSERT_NE(consumer, nullptr);
  // The mock answers only the logical timestamps (earliest / latest).
  absl::StatusOr<std::vector<TopicPartitionOffset>> offsets =
      consumer->OffsetsForTimes({{"times", 0, kOffsetBeginning}}, kWait);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ((*offsets)[0].offset, 0);
  offsets = consumer->OffsetsForTimes({{"times", 0, kOffsetEnd}}, kWait);
  ASSERT_TRUE(offsets.ok()) << offsets.status();
  EXPECT_EQ((*offsets)[0].offset, 2);
}

TEST_F(MockKafkaTest, CreateRejectsBadPropertiesAndMissingGroup) {
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(
      {{"bootstrap.servers", bootstrap_}, {"no.such.setting", "1"}}, [](const DeliveryReport&) {});
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(producer.status().message()), HasSubstr("no.such.setting"));

  absl::StatusOr<std::unique_ptr<Consumer>> consumer =
      Consumer::Create({{"bootstrap.servers", bootstrap_}});
  EXPECT_EQ(consumer.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(consumer.status().message()), HasSubstr("group.id"));

  // Conflicting settings are only caught when the client is created.
  producer = Producer::Create(
      {{"bootstrap.servers", bootstrap_}, {"enable.idempotence", "true"}, {"acks", "1"}},
      [](const DeliveryReport&) {});
  EXPECT_EQ(producer.status().code(), absl::StatusCode::kInvalidArgument);
}

// Group subscription with the rebalance hook, for both protocols.
class RebalanceTest : public MockKafkaTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(RebalanceTest, HookSeesAssignmentAndCanChooseStartOffsets) {
  const bool cooperative = std::string(GetParam()) == "cooperative-sticky";
  ASSERT_TRUE(cluster_->CreateTopic("sub", 2, 1).ok());
  std::vector<ProduceRecord> records;
  for (int i = 0; i < 3; ++i) records.push_back(Record("sub", 0, "k", std::to_string(i)));
  records.push_back(Record("sub", 1, "k", "p1"));
  ProduceAll(records);

  std::vector<RebalanceEvent> events;
  std::unique_ptr<Consumer> consumer =
      MakeConsumer(std::string("g-sub-") + GetParam(),
                   {{"partition.assignment.strategy", GetParam()}, {"session.timeout.ms", "6000"}},
                   [&events](RebalanceEvent& event) {
                     if (event.type == RebalanceEvent::Type::kAssign) {
                       // Resume partition 0 at offset 2, as a replicator resuming from the target
                       // would.
                       for (TopicPartitionOffset& tpo : event.partitions) {
                         if (tpo.partition == 0) tpo.offset = 2;
                       }
                     }
                     events.push_back(event);
                   });
  ASSERT_NE(consumer, nullptr);
  ASSERT_TRUE(consumer->Subscribe({"sub"}).ok());

  std::vector<Message> msgs = ConsumeN(*consumer, 2);
  ASSERT_EQ(msgs.size(), 2u);
  std::vector<std::pair<int32_t, int64_t>> got;
  for (const Message& m : msgs) got.emplace_back(m.partition(), m.offset());
  EXPECT_THAT(got, UnorderedElementsAre(std::make_pair(0, 2), std::make_pair(1, 0)));

  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].type, RebalanceEvent::Type::kAssign);
  EXPECT_EQ(events[0].cooperative, cooperative);
  std::vector<TopicPartition> assigned;
  for (const TopicPartitionOffset& tpo : events[0].partitions) assigned.push_back(tpo.tp());
  EXPECT_THAT(assigned, UnorderedElementsAre(TopicPartition{"sub", 0}, TopicPartition{"sub", 1}));
  EXPECT_EQ(consumer->RebalanceProtocol(), cooperative ? "COOPERATIVE" : "EAGER");
  absl::StatusOr<std::vector<TopicPartition>> assignment = consumer->Assignment();
  ASSERT_TRUE(assignment.ok());
  EXPECT_EQ(assignment->size(), 2u);
  EXPECT_FALSE(consumer->MemberId().empty());

  // Leaving the group revokes through the hook, and the wrapper unassigns.
  ASSERT_TRUE(consumer->Close().ok());
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.back().type, RebalanceEvent::Type::kRevoke);
  EXPECT_EQ(events.back().partitions.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Protocols, RebalanceTest, ::testing::Values("range", "cooperative-sticky"),
                         [](const ::testing::TestParamInfo<const char*>& info) {
                           return std::string(info.param) == "range" ? "Eager" : "Cooperative";
                         });

}  // namespace
}  // namespace kmirror::kafka
