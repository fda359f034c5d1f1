// Error mapping: librdkafka codes become the status codes kmirror branches on, and the
// fatal/retriable/abort bits of an rd_kafka_error_t survive as payloads.
//
// This test (like the other tests of lib/kafka) may call librdkafka directly: it checks the
// boundary itself.
#include "lib/kafka/error.h"

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/handles.h"
#include "lib/kafka/mock_cluster.h"

namespace kmirror::kafka {
namespace {

using ::testing::HasSubstr;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ErrorStatusTest, NoErrorIsOk) {
  EXPECT_TRUE(ErrorStatus(RD_KAFKA_RESP_ERR_NO_ERROR, "anything").ok());
  EXPECT_TRUE(ErrorStatus(static_cast<const rd_kafka_error_t*>(nullptr), "anything").ok());
  EXPECT_EQ(KafkaErrorCode(absl::OkStatus()), std::nullopt);
}

TEST(ErrorStatusTest, CodesFollowKmirrorConventions) {
  struct Case {
    rd_kafka_resp_err_t err;
    absl::StatusCode code;
    bool retriable;
  };
  const Case cases[] = {
      {RD_KAFKA_RESP_ERR__QUEUE_FULL, absl::StatusCode::kUnavailable, true},
      {RD_KAFKA_RESP_ERR__TRANSPORT, absl::StatusCode::kUnavailable, true},
      {RD_KAFKA_RESP_ERR__TIMED_OUT, absl::StatusCode::kUnavailable, true},
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, absl::StatusCode::kUnavailable, true},
      {RD_KAFKA_RESP_ERR_INVALID_PARTITIONS, absl::StatusCode::kInvalidArgument, false},
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, absl::StatusCode::kNotFound, false},
      {RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, absl::StatusCode::kAlreadyExists, false},
      {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, absl::StatusCode::kPermissionDenied, false},
      {RD_KAFKA_RESP_ERR__PARTITION_EOF, absl::StatusCode::kResourceExhausted, false},
      {RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, absl::StatusCode::kOutOfRange, false},
      {RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET, absl::StatusCode::kOutOfRange, false},
      {RD_KAFKA_RESP_ERR_PRODUCER_FENCED, absl::StatusCode::kFailedPrecondition, false},
      {RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE, absl::StatusCode::kUnimplemented, false},
  };
  for (const Case& c : cases) {
    absl::Status status = ErrorStatus(c.err, "doing things");
    EXPECT_EQ(status.code(), c.code) << rd_kafka_err2name(c.err);
    EXPECT_EQ(IsRetriable(status), c.retriable) << rd_kafka_err2name(c.err);
    EXPECT_FALSE(IsFatal(status)) << rd_kafka_err2name(c.err);
    EXPECT_EQ(KafkaErrorCode(status), c.err);
    EXPECT_THAT(Message(status), HasSubstr("doing things"));
    EXPECT_THAT(Message(status), HasSubstr(rd_kafka_err2name(c.err)));
  }
}

TEST(ErrorStatusTest, ErrorObjectKeepsCodeAndMessage) {
  ErrorPtr error(rd_kafka_error_new(RD_KAFKA_RESP_ERR_INVALID_CONFIG, "bad value %d", 42));
  absl::Status status = ErrorStatus(error.get(), "alter");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(KafkaErrorCode(status), RD_KAFKA_RESP_ERR_INVALID_CONFIG);
  EXPECT_THAT(Message(status), HasSubstr("bad value 42"));
  EXPECT_FALSE(IsFatal(status));
  EXPECT_FALSE(IsRetriable(status));
  EXPECT_FALSE(TxnRequiresAbort(status));
}

// A transactional producer whose coordinator cannot be reached: init_transactions() times out
// with an rd_kafka_error_t flagged retriable.
TEST(ErrorStatusTest, RetriableBitOfErrorObjectIsKept) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  const MockCluster::Broker& broker = (*cluster)->brokers().front();
  ASSERT_TRUE((*cluster)->SetBrokerDown(broker.id).ok());

  char errstr[512];
  ConfPtr conf(rd_kafka_conf_new());
  const std::string bootstrap = broker.host + ":" + std::to_string(broker.port);
  ASSERT_EQ(
      rd_kafka_conf_set(conf.get(), "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr)),
      RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf.get(), "transactional.id", "txn-test", errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(conf.get(), "log_level", "0", errstr, sizeof(errstr));
  HandlePtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr)));
  ASSERT_NE(rk, nullptr) << errstr;
  conf.release();

  ErrorPtr error(rd_kafka_init_transactions(rk.get(), 200));
  ASSERT_NE(error, nullptr);
  ASSERT_TRUE(rd_kafka_error_is_retriable(error.get()));
  absl::Status status = ErrorStatus(error.get(), "init transactions");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(IsRetriable(status));
  EXPECT_FALSE(IsFatal(status));
  EXPECT_EQ(KafkaErrorCode(status), RD_KAFKA_RESP_ERR__TIMED_OUT);
}

// After a fatal error, closing a consumer returns the fatal rd_kafka_error_t.
TEST(ErrorStatusTest, FatalBitOfErrorObjectIsKept) {
  char errstr[512];
  ConfPtr conf(rd_kafka_conf_new());
  ASSERT_EQ(rd_kafka_conf_set(conf.get(), "group.id", "fatal-test", errstr, sizeof(errstr)),
            RD_KAFKA_CONF_OK);
  rd_kafka_conf_set(conf.get(), "log_level", "0", errstr, sizeof(errstr));
  HandlePtr rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), errstr, sizeof(errstr)));
  ASSERT_NE(rk, nullptr) << errstr;
  conf.release();

  ASSERT_EQ(rd_kafka_test_fatal_error(rk.get(), RD_KAFKA_RESP_ERR_PRODUCER_FENCED, "test"),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  QueuePtr queue(rd_kafka_queue_new(rk.get()));
  ErrorPtr error(rd_kafka_consumer_close_queue(rk.get(), queue.get()));
  ASSERT_NE(error, nullptr);
  ASSERT_TRUE(rd_kafka_error_is_fatal(error.get()));
  absl::Status status = ErrorStatus(error.get(), "close");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsFatal(status));
  EXPECT_FALSE(IsRetriable(status));
  EXPECT_EQ(KafkaErrorCode(status), RD_KAFKA_RESP_ERR_PRODUCER_FENCED);

  absl::Status fatal = FatalErrorStatus(rk.get(), "consumer");
  EXPECT_TRUE(IsFatal(fatal));
  EXPECT_EQ(KafkaErrorCode(fatal), RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
  EXPECT_THAT(Message(fatal), HasSubstr("test"));

  queue.reset();
  rd_kafka_destroy_flags(rk.release(), RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

}  // namespace
}  // namespace kmirror::kafka
