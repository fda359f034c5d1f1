// librdkafka statistics: the fields kmirror exposes are read from a real document and from a live
// client's callback.
#include "lib/kafka/stats.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "gtest/gtest.h"
#include "lib/kafka/mock_cluster.h"
#include "lib/kafka/producer.h"

namespace kmirror::kafka {
namespace {

// Trimmed from a librdkafka 2.0 consumer document: a bootstrap entry (nodeid -1), one real
// broker, a topic with an assigned partition and the -1 placeholder, and the group.
constexpr const char* kConsumerDoc = R"({
  "name": "rdkafka#consumer-1", "type": "consumer", "msg_cnt": 0, "msg_size": 0,
  "brokers": {
    "127.0.0.1:9092/bootstrap": {"name": "127.0.0.1:9092/bootstrap", "nodeid": -1,
                                 "state": "UP", "rtt": {"avg": 0, "p99": 0}},
    "127.0.0.1:9093/2": {"name": "127.0.0.1:9093/2", "nodeid": 2, "state": "UP",
                         "outbuf_cnt": 1, "waitresp_cnt": 3, "txerrs": 4, "rxerrs": 5,
                         "req_timeouts": 6, "disconnects": 7,
                         "rtt": {"min": 100, "max": 9000, "avg": 1500, "p99": 8000}}
  },
  "topics": {"orders": {"partitions": {
    "0": {"fetchq_cnt": 10, "fetchq_size": 1000},
    "-1": {"fetchq_cnt": 99, "fetchq_size": 99}}}},
  "cgrp": {"state": "up", "rebalance_cnt": 2}
})";

TEST(StatsTest, ReadsTheFieldsOperatorsWatch) {
  auto s = ParseStats(kConsumerDoc);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->name, "rdkafka#consumer-1");
  EXPECT_EQ(s->type, "consumer");
  EXPECT_EQ(s->queue_messages, 10);  // the -1 placeholder is not a partition
  EXPECT_EQ(s->queue_bytes, 1000);
  EXPECT_EQ(s->rebalances, 2);
  ASSERT_EQ(s->brokers.size(), 1u);  // the bootstrap entry is not a broker
  const BrokerStats& b = s->brokers[0];
  EXPECT_EQ(b.node_id, 2);
  EXPECT_TRUE(b.up);
  EXPECT_EQ(b.outbuf_requests, 1);
  EXPECT_EQ(b.waitresp_requests, 3);
  EXPECT_EQ(b.tx_errors, 4);
  EXPECT_EQ(b.rx_errors, 5);
  EXPECT_EQ(b.request_timeouts, 6);
  EXPECT_EQ(b.disconnects, 7);
  EXPECT_DOUBLE_EQ(b.rtt_avg_s, 0.0015);
  EXPECT_DOUBLE_EQ(b.rtt_p99_s, 0.008);
}

TEST(StatsTest, RejectsWhatIsNotAStatisticsDocument) {
  EXPECT_EQ(ParseStats("not json").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStats("[1, 2]").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseStats("{\"name\": \"x\"}").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatsTest, ALiveProducerDeliversParsedStatistics) {
  auto cluster = MockCluster::Create(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::mutex mu;
  std::optional<ClientStats> last;
  ASSERT_TRUE((*cluster)->CreateTopic("t", 1, 1).ok());
  const MockCluster::Broker& broker = (*cluster)->brokers().front();
  auto producer = Producer::Create(
      Properties{{"bootstrap.servers", broker.host + ":" + std::to_string(broker.port)},
                 {"statistics.interval.ms", "100"},
                 {"log_level", "2"}},
      [](const DeliveryReport&) {}, nullptr,
      [&](const ClientStats& s) {
        std::lock_guard<std::mutex> lock(mu);
        last = s;
      });
  ASSERT_TRUE(producer.ok()) << producer.status();
  ProduceRecord r;
  r.topic = "t";
  r.value = "v";
  ASSERT_TRUE((*producer)->Produce(r).ok());
  ASSERT_TRUE((*producer)->Flush(std::chrono::seconds(10)).ok());
  bool broker_up = false;
  for (int i = 0; i < 100 && !broker_up; ++i) {
    (*producer)->Poll(std::chrono::milliseconds(50));
    std::lock_guard<std::mutex> lock(mu);
    broker_up = last && !last->brokers.empty() && last->brokers[0].up;
  }
  ASSERT_TRUE(broker_up);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(last->type, "producer");
  EXPECT_EQ(last->brokers[0].node_id, 1);
}

}  // namespace
}  // namespace kmirror::kafka
