// SyncAdmin and AclLedger over lib/kafka.
//
// KafkaSyncAdmin: one AdminClient per cluster (thread-safe, as AdminClient is).
// KafkaAclLedger: the ACLs a flow created, kept on the target cluster in the compacted topic
// `kmirror-acl-ledger.internal` (one partition, created on first use), one record per flow
// keyed by the flow name whose value is the JSON list of bindings. Every instance and restart of
// the flow reads the same record. Used from the Syncer's runs only (serialized by the Syncer).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/kafka/admin.h"
#include "lib/kafka/properties.h"
#include "lib/topicsync/admin.h"

namespace kmirror::topicsync {

inline constexpr char kAclLedgerTopic[] = "kmirror-acl-ledger.internal";

class KafkaSyncAdmin : public SyncAdmin {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaSyncAdmin>> Create(const kafka::Properties& source,
                                                                const kafka::Properties& target);
  absl::StatusOr<std::vector<TopicInfo>> ListTopics(Side side) override;
  absl::StatusOr<int> BrokerCount(Side side) override;
  absl::StatusOr<std::vector<kafka::ResourceConfigs>> DescribeTopicConfigs(
      Side side, const std::vector<std::string>& topics) override;
  absl::Status CreateTopic(const kafka::NewTopic& topic) override;
  absl::Status CreatePartitions(const std::string& topic, int32_t new_total) override;
  absl::Status AlterTopicConfigs(const std::string& topic,
                                 const std::map<std::string, std::string>& configs) override;
  absl::StatusOr<std::vector<kafka::AclBinding>> ListAcls(Side side) override;
  absl::StatusOr<std::vector<absl::Status>> CreateAcls(
      const std::vector<kafka::AclBinding>& bindings) override;
  absl::Status DeleteAcl(const kafka::AclBinding& binding) override;

 private:
  KafkaSyncAdmin() = default;
  kafka::AdminClient& On(Side side) { return side == Side::kSource ? *source_ : *target_; }
  std::unique_ptr<kafka::AdminClient> source_;
  std::unique_ptr<kafka::AdminClient> target_;
};

class KafkaAclLedger : public AclLedger {
 public:
  // `target` are client properties for the target cluster; `flow` keys this flow's record.
  KafkaAclLedger(kafka::Properties target, std::string flow,
                 kafka::InternalTopicSettings settings = {});
  absl::StatusOr<std::vector<kafka::AclBinding>> Load() override;
  absl::Status Store(const std::vector<kafka::AclBinding>& owned) override;

 private:
  absl::Status EnsureTopic();
  kafka::Properties target_;
  std::string flow_;
  kafka::InternalTopicSettings settings_;
  bool topic_ready_ = false;
};

// The ledger record's value: a JSON array of bindings (Kafka's enum names), and back.
std::string EncodeLedger(const std::vector<kafka::AclBinding>& bindings);
absl::StatusOr<std::vector<kafka::AclBinding>> DecodeLedger(const std::string& text);

}  // namespace kmirror::topicsync
