// The I/O seam of topic management: what the Syncer asks of the two clusters (SyncAdmin) and where
// it remembers which ACLs it created (AclLedger). kafka_admin.h implements both over lib/kafka;
// unit tests use in-memory fakes.
//
// Implementations must be safe to call from two threads at once (the flow's discovery thread
// creates topics while the sync thread syncs configs and ACLs).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/admin_types.h"

namespace kmirror::topicsync {

enum class Side { kSource, kTarget };

struct TopicInfo {
  std::string name;
  int32_t partitions = 0;
};

class SyncAdmin {
 public:
  virtual ~SyncAdmin() = default;
  virtual absl::StatusOr<std::vector<TopicInfo>> ListTopics(Side side) = 0;
  virtual absl::StatusOr<int> BrokerCount(Side side) = 0;
  // One result per topic, in order, each with its own status.
  virtual absl::StatusOr<std::vector<kafka::ResourceConfigs>> DescribeTopicConfigs(
      Side side, const std::vector<std::string>& topics) = 0;
  // On the target. kAlreadyExists when the topic exists.
  virtual absl::Status CreateTopic(const kafka::NewTopic& topic) = 0;
  virtual absl::Status CreatePartitions(const std::string& topic, int32_t new_total) = 0;
  // Replaces every override of the target topic with `configs` (non-incremental AlterConfigs).
  virtual absl::Status AlterTopicConfigs(const std::string& topic,
                                         const std::map<std::string, std::string>& configs) = 0;
  // Every binding of the cluster.
  virtual absl::StatusOr<std::vector<kafka::AclBinding>> ListAcls(Side side) = 0;
  // On the target; one status per binding.
  virtual absl::StatusOr<std::vector<absl::Status>> CreateAcls(
      const std::vector<kafka::AclBinding>& bindings) = 0;
  // On the target: removes exactly this binding.
  virtual absl::Status DeleteAcl(const kafka::AclBinding& binding) = 0;
};

// The bindings this flow created on the target, kept where every instance of the flow and every
// restart sees them. Store() replaces the whole set.
class AclLedger {
 public:
  virtual ~AclLedger() = default;
  virtual absl::StatusOr<std::vector<kafka::AclBinding>> Load() = 0;
  virtual absl::Status Store(const std::vector<kafka::AclBinding>& owned) = 0;
};

}  // namespace kmirror::topicsync
