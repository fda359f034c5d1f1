// StateStore on a Kafka cluster: the compacted topic kmirror-state.internal (one partition) on the
// flow's target cluster, read incrementally into a key -> newest value map.
//
// Thread-safe: one mutex serialises reads and writes (the clients underneath are not).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/control/state.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/properties.h"
#include "lib/offsets/kafka_io.h"

namespace kmirror::control {

class KafkaStateStore final : public StateStore {
 public:
  // `properties` address the cluster (bootstrap.servers and security settings).
  static absl::StatusOr<std::unique_ptr<KafkaStateStore>> Create(
      const kafka::Properties& properties, std::string topic = kStateTopic);

  absl::StatusOr<std::optional<FlowState>> LoadFlow(const std::string& flow) override;
  absl::Status SaveFlow(const FlowState& next) override;
  absl::Status Append(const std::string& key, const nlohmann::json& value) override;
  absl::StatusOr<std::vector<nlohmann::json>> List(const std::string& prefix,
                                                   size_t limit) override;

 private:
  KafkaStateStore() = default;
  // Creates the topic once, then reads what is new into values_. Requires mu_.
  absl::Status RefreshLocked();
  absl::Status WriteLocked(const std::string& key, const std::string& value);

  std::string topic_;
  std::mutex mu_;
  bool topic_ready_ = false;
  std::map<std::string, std::string> values_;  // key -> newest value
  std::unique_ptr<kafka::AdminClient> admin_;
  std::unique_ptr<offsets::KafkaTopicAdmin> topics_;
  std::unique_ptr<offsets::KafkaRecordWriter> writer_;
  std::unique_ptr<offsets::KafkaTopicReader> reader_;
};

}  // namespace kmirror::control
