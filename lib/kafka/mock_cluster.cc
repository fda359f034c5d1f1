#include "lib/kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/kafka/error.h"

namespace kmirror::kafka {

void MockCluster::HandleDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Create(int brokers) {
  if (brokers < 1 || brokers > 64) {
    return absl::InvalidArgumentError(absl::StrCat("broker count must be 1..64, got ", brokers));
  }
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The hosting handle never connects anywhere; it only owns the mock cluster's thread.
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(absl::StrCat("cannot create mock host handle: ", errstr));
  }
  std::unique_ptr<MockCluster> mc(new MockCluster());
  mc->handle_.reset(rk);
  mc->cluster_ = rd_kafka_mock_cluster_new(rk, brokers);
  if (mc->cluster_ == nullptr) return absl::InternalError("rd_kafka_mock_cluster_new failed");

  // Bootstraps are "host:port,..." in broker id order (ids 1..N).
  int32_t id = 1;
  for (absl::string_view addr :
       absl::StrSplit(rd_kafka_mock_cluster_bootstraps(mc->cluster_), ',')) {
    auto colon = addr.rfind(':');
    uint32_t port = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(addr.substr(colon + 1), &port)) {
      return absl::InternalError(absl::StrCat("unparsable mock bootstrap address ", addr));
    }
    mc->brokers_.push_back(
        Broker{id++, std::string(addr.substr(0, colon)), static_cast<uint16_t>(port)});
  }
  return mc;
}

MockCluster::~MockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

absl::Status MockCluster::CreateTopic(const std::string& topic, int partitions,
                                      int replication_factor) {
  return ErrorStatus(
      rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, replication_factor),
      absl::StrCat("mock create topic ", topic));
}

absl::Status MockCluster::SetBrokerDown(int32_t broker_id) {
  return ErrorStatus(rd_kafka_mock_broker_set_down(cluster_, broker_id),
                     absl::StrCat("mock broker ", broker_id, " down"));
}

absl::Status MockCluster::SetBrokerUp(int32_t broker_id) {
  return ErrorStatus(rd_kafka_mock_broker_set_up(cluster_, broker_id),
                     absl::StrCat("mock broker ", broker_id, " up"));
}

absl::Status MockCluster::SetBrokerRtt(int32_t broker_id, int rtt_ms) {
  return ErrorStatus(rd_kafka_mock_broker_set_rtt(cluster_, broker_id, rtt_ms),
                     absl::StrCat("mock broker ", broker_id, " rtt"));
}

absl::Status MockCluster::SetPartitionLeader(const std::string& topic, int32_t partition,
                                             int32_t broker_id) {
  return ErrorStatus(
      rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker_id),
      absl::StrCat("mock leader ", topic, "-", partition));
}

absl::Status MockCluster::SetCoordinator(const std::string& key_type, const std::string& key,
                                         int32_t broker_id) {
  return ErrorStatus(
      rd_kafka_mock_coordinator_set(cluster_, key_type.c_str(), key.c_str(), broker_id),
      absl::StrCat("mock coordinator ", key_type, " ", key));
}

void MockCluster::PushRequestErrors(int16_t api_key, const std::vector<int16_t>& errors) {
  std::vector<rd_kafka_resp_err_t> errs;
  errs.reserve(errors.size());
  for (int16_t e : errors) errs.push_back(static_cast<rd_kafka_resp_err_t>(e));
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errs.size(), errs.data());
}

void MockCluster::ClearRequestErrors(int16_t api_key) {
  rd_kafka_mock_clear_request_errors(cluster_, api_key);
}

absl::Status MockCluster::PushBrokerRequestErrors(
    int32_t broker_id, int16_t api_key, const std::vector<std::pair<int16_t, int>>& errors) {
  // The C API is variadic: (err, rtt) pairs. Push them one at a time.
  for (const auto& [err, rtt] : errors) {
    absl::Status s = ErrorStatus(
        rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker_id, api_key, 1,
                                                     static_cast<rd_kafka_resp_err_t>(err), rtt),
        absl::StrCat("mock broker ", broker_id, " request errors"));
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace kmirror::kafka
