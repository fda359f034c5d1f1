// Embedded Kafka clusters for tests, benchmarks and the demo: each cluster is a librdkafka mock
// cluster behind a protocol front-end (one listener per broker) that clients see as a normal
// cluster with topic, config, ACL and group administration.
//
// Fault injection (brokers down/up, round-trip time, request errors, leader moves) is available
// in-process here and from other processes through ControlServer. Thread-safety: all public
// methods are thread-safe. The daemon never depends on this library to talk to real clusters.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/sandbox/cluster_state.h"

namespace kmirror::kafka {
class MockCluster;
}

namespace kmirror::sandbox {

class BrokerFrontend;
class Handlers;
class MockWaker;

class Cluster {
 public:
  static absl::StatusOr<std::unique_ptr<Cluster>> Start(ClusterOptions options,
                                                        const std::string& host = "127.0.0.1");
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  const std::string& name() const { return options_.name; }
  // "127.0.0.1:P1,127.0.0.1:P2,..." of the front-end listeners (all brokers, up or not).
  std::string bootstrap() const;
  std::vector<int32_t> broker_ids() const;
  std::string cluster_id() const;

  absl::Status SetBrokerUp(int32_t broker_id, bool up);
  absl::Status SetBrokerRtt(int32_t broker_id, int rtt_ms);
  // The next requests of api_key fail with these error codes, in order. Applies to every broker
  // unless broker_id is given (forwarded APIs only).
  absl::Status InjectErrors(int16_t api_key, const std::vector<int16_t>& errors,
                            std::optional<int32_t> broker_id = std::nullopt);
  absl::Status MoveLeader(const std::string& topic, int32_t partition, int32_t broker_id);
  // The next Produce requests carrying records for topic[partition] are refused for that
  // partition with these error codes, in order (e.g. 10 MESSAGE_TOO_LARGE, 32 INVALID_TIMESTAMP).
  absl::Status InjectProduceErrors(const std::string& topic, int32_t partition,
                                   const std::vector<int16_t>& errors);
  // Removes records from the middle of a partition as compaction does: their offsets stay taken,
  // readers skip them. Offsets must be below the end and not transaction markers; records in
  // compressed batches cannot be removed (an error says so).
  absl::Status DeleteRecords(const std::string& topic, int32_t partition,
                             const std::vector<int64_t>& offsets);
  // Creates a topic as CreateTopics would (configs validated); for fixtures and the demo.
  absl::Status CreateTopic(const std::string& topic, int32_t partitions, int16_t rf = -1,
                           const std::map<std::string, std::string>& configs = {});

 private:
  Cluster() = default;
  void StopAll();

  ClusterOptions options_;
  std::unique_ptr<kafka::MockCluster> mock_;
  std::unique_ptr<MockWaker> waker_;  // see sandbox.cc: every mock command runs under it
  std::unique_ptr<MockBackend> backend_;
  std::unique_ptr<ClusterState> state_;
  std::unique_ptr<Handlers> handlers_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::vector<std::unique_ptr<BrokerFrontend>> frontends_;
  std::thread io_thread_;
};

// A set of named clusters.
class Sandbox {
 public:
  static absl::StatusOr<std::unique_ptr<Sandbox>> Start(const std::vector<ClusterOptions>& clusters,
                                                        const std::string& host = "127.0.0.1");
  Cluster* cluster(const std::string& name) const;
  std::vector<std::string> names() const;
  // {"clusters":{"A":{"bootstrap":"...","cluster_id":"...","brokers":[1,2,3]},...}}
  std::string DescribeJson() const;

 private:
  std::map<std::string, std::unique_ptr<Cluster>> clusters_;
};

// Parses "NAME:BROKERS" (e.g. "A:3"); BROKERS defaults to 3 when omitted.
absl::StatusOr<ClusterOptions> ParseClusterSpec(const std::string& spec);

}  // namespace kmirror::sandbox
