// StateStore on a Kafka cluster: the compacted topic kmirror-state.internal (one partition) on the
// flow's target cluster, read incrementally into a key -> newest value map.
//
// A flow's state changes by compare-and-set that holds across instances: SaveFlow first takes the
// flow's transactional id (kmirror-state.<flow>), which fences any other instance's writer in the
// middle of its own SaveFlow, then checks the version and writes in that transaction. Of two
// instances racing, the one fenced fails its commit and is told the state changed.
//
// Thread-safe: reads and writes each have their own lock (the clients underneath are not
// thread-safe); the value map has a third, never held during network I/O.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/dr/state.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/properties.h"
#include "lib/offsets/kafka_io.h"

namespace kmirror::dr {

class KafkaStateStore final : public StateStore {
 public:
  // `properties` address the cluster (bootstrap.servers and security settings).
  static absl::StatusOr<std::unique_ptr<KafkaStateStore>> Create(
      const kafka::Properties& properties, kafka::InternalTopicSettings settings = {},
      std::string topic = kStateTopic);

  absl::StatusOr<std::optional<FlowState>> LoadFlow(const std::string& flow) override;
  absl::Status SaveFlow(const FlowState& next) override;
  absl::Status Append(const std::string& key, const nlohmann::json& value) override;
  absl::StatusOr<std::vector<nlohmann::json>> List(const std::string& prefix,
                                                   size_t limit) override;

  // Tests: runs between SaveFlow's version check and its write (another instance acting then).
  void SetBeforeWriteForTest(std::function<void()> hook) { before_write_ = std::move(hook); }

 private:
  KafkaStateStore() = default;
  // Creates the topic once. Requires read_mu_.
  absl::Status EnsureTopicLocked();
  // EnsureTopicLocked under read_mu_, unless the topic is known to exist.
  absl::Status EnsureTopic();
  // Reads what is new into values_.
  absl::Status Refresh();
  // Writes one record (acknowledged on return) and remembers it. Requires write_mu_.
  absl::Status Write(const std::string& key, const std::string& value);

  std::string topic_;
  // Network I/O never happens under mu_: a cluster that is down must not block the others.
  std::mutex read_mu_;   // reader_, topics_, topic_ready_
  std::mutex write_mu_;  // writer_ (Append)
  std::mutex save_mu_;   // SaveFlow: one transaction at a time from this store
  std::mutex mu_;        // values_
  std::atomic<bool> topic_ready_{false};
  std::map<std::string, std::string> values_;  // key -> newest value
  std::unique_ptr<kafka::AdminClient> admin_;
  std::unique_ptr<offsets::KafkaTopicAdmin> topics_;
  std::unique_ptr<offsets::KafkaRecordWriter> writer_;
  std::unique_ptr<offsets::KafkaTopicReader> reader_;
  kafka::Properties properties_;  // for SaveFlow's transactional writers
  std::function<void()> before_write_;
};

}  // namespace kmirror::dr
