// RAII ownership of one librdkafka mock cluster (rdkafka_mock.h) and the handle that hosts it.
//
// The mock speaks the real Kafka protocol on loopback TCP; lib/sandbox puts a protocol front-end in
// front of it. Broker ids are 1..N. All methods are thread-safe: librdkafka hands each command to
// the mock cluster's own thread and waits for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

typedef struct rd_kafka_s rd_kafka_t;
typedef struct rd_kafka_mock_cluster_s rd_kafka_mock_cluster_t;

namespace kmirror::kafka {

class MockCluster {
 public:
  struct Broker {
    int32_t id;
    std::string host;
    uint16_t port;
  };

  // Starts a mock cluster with `brokers` brokers listening on loopback ephemeral ports.
  static absl::StatusOr<std::unique_ptr<MockCluster>> Create(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // The mock's own listeners, ordered by broker id.
  const std::vector<Broker>& brokers() const { return brokers_; }

  absl::Status CreateTopic(const std::string& topic, int partitions, int replication_factor);
  absl::Status SetBrokerDown(int32_t broker_id);
  absl::Status SetBrokerUp(int32_t broker_id);
  absl::Status SetBrokerRtt(int32_t broker_id, int rtt_ms);
  absl::Status SetPartitionLeader(const std::string& topic, int32_t partition, int32_t broker_id);
  // key_type is "group" or "transaction".
  absl::Status SetCoordinator(const std::string& key_type, const std::string& key,
                              int32_t broker_id);
  // The next errors.size() requests of api_key (cluster-wide) fail with these Kafka error codes.
  void PushRequestErrors(int16_t api_key, const std::vector<int16_t>& errors);
  void ClearRequestErrors(int16_t api_key);
  // Per broker: each entry is (error code, added round-trip time in ms).
  absl::Status PushBrokerRequestErrors(int32_t broker_id, int16_t api_key,
                                       const std::vector<std::pair<int16_t, int>>& errors);

 private:
  MockCluster() = default;

  struct HandleDeleter {
    void operator()(rd_kafka_t* rk) const;
  };
  std::unique_ptr<rd_kafka_t, HandleDeleter> handle_;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;  // owned; destroyed before handle_
  std::vector<Broker> brokers_;
};

}  // namespace kmirror::kafka
