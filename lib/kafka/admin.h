// AdminClient: Kafka's admin API (topics, configs, ACLs, consumer groups, metadata, offsets) over
// librdkafka, with plain structs from admin_types.h in and out.
//
// Each call is synchronous: it sends the request, waits for the result on a private queue up to
// `timeout`, and reports request-level failures as the returned status and per-item failures
// (one topic, one resource, one ACL filter, one partition) in each item's own status.
//
// librdkafka 2.0.2 bug (fixed upstream in 2.10): the group-coordinator calls
// (DescribeConsumerGroups, DeleteConsumerGroups, DeleteConsumerGroupOffsets) sent to a broker that
// does not implement the request (DescribeGroups/15, DeleteGroups/42, OffsetDelete/47) abort the
// process with an assertion or make the client's destruction hang. Only call them against brokers
// that implement those APIs (Kafka >= 2.4; the sandbox front-end must advertise them). The plain
// librdkafka mock does not.
//
// Two more 2.0.2 crashes are avoided inside this class: group-offset calls answered with
// NOT_COORDINATOR (the group's coordinator moved) crash a producer-type handle, so they use a
// private consumer handle; ListConsumerGroups uses rd_kafka_list_groups() (see admin.cc).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/kafka/admin_types.h"
#include "lib/kafka/handles.h"
#include "lib/kafka/properties.h"
#include "lib/kafka/types.h"

namespace kmirror::kafka {

// Thread-safe: every method may be called from any thread, concurrently (each call has its own
// result queue; librdkafka serializes the rest).
class AdminClient {
 public:
  using Duration = std::chrono::milliseconds;
  static constexpr Duration kDefaultTimeout = std::chrono::seconds(30);

  // Creates a dedicated client handle (producer type, never produces) from `properties`.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(const Properties& properties);
  ~AdminClient();
  AdminClient(const AdminClient&) = delete;
  AdminClient& operator=(const AdminClient&) = delete;

  // ---- Topics ----
  // Results in request order. kAlreadyExists for an existing topic. With validate_only the broker
  // only checks the request.
  absl::StatusOr<std::vector<TopicResult>> CreateTopics(const std::vector<NewTopic>& topics,
                                                        Duration timeout = kDefaultTimeout,
                                                        bool validate_only = false);
  absl::StatusOr<std::vector<TopicResult>> DeleteTopics(const std::vector<std::string>& topics,
                                                        Duration timeout = kDefaultTimeout);
  // Grows each topic to `new_total` partitions.
  absl::StatusOr<std::vector<TopicResult>> CreatePartitions(
      const std::vector<NewPartitions>& partitions, Duration timeout = kDefaultTimeout,
      bool validate_only = false);

  // ---- Configs ----
  absl::StatusOr<std::vector<ResourceConfigs>> DescribeConfigs(
      const std::vector<ConfigResource>& resources, Duration timeout = kDefaultTimeout);
  // Non-incremental AlterConfigs: each resource's dynamic configs are REPLACED by exactly the
  // given set; every dynamic config not listed reverts to its default. Describe first and send
  // the full desired set.
  absl::StatusOr<std::vector<ResourceResult>> AlterConfigs(
      const std::vector<AlterConfigsResource>& resources, Duration timeout = kDefaultTimeout,
      bool validate_only = false);

  // ---- ACLs ----
  // One status per binding, in request order. kInvalidArgument (whole request) if a binding is
  // rejected locally (e.g. a filter-only value such as kAny).
  absl::StatusOr<std::vector<absl::Status>> CreateAcls(const std::vector<AclBinding>& bindings,
                                                       Duration timeout = kDefaultTimeout);
  absl::StatusOr<std::vector<AclBinding>> DescribeAcls(const AclBindingFilter& filter,
                                                       Duration timeout = kDefaultTimeout);
  // One result per filter, in request order, listing the bindings each filter removed.
  absl::StatusOr<std::vector<DeleteAclsResult>> DeleteAcls(
      const std::vector<AclBindingFilter>& filters, Duration timeout = kDefaultTimeout);

  // ---- Consumer groups ----
  // All groups known to all brokers; `states` (if not empty) keeps only groups in those states.
  absl::StatusOr<ListConsumerGroupsResult> ListConsumerGroups(
      Duration timeout = kDefaultTimeout, const std::vector<GroupState>& states = {});
  absl::StatusOr<std::vector<GroupDescription>> DescribeConsumerGroups(
      const std::vector<std::string>& groups, Duration timeout = kDefaultTimeout);
  absl::StatusOr<std::vector<GroupResult>> DeleteConsumerGroups(
      const std::vector<std::string>& groups, Duration timeout = kDefaultTimeout);
  // The group's committed offsets for `partitions` (all partitions with an offset if nullopt),
  // each with offset (kOffsetInvalid when none), metadata and per-partition status. A group-level
  // error is the returned status.
  absl::StatusOr<std::vector<TopicPartitionOffset>> ListConsumerGroupOffsets(
      const std::string& group, const std::optional<std::vector<TopicPartition>>& partitions,
      Duration timeout = kDefaultTimeout, bool require_stable = false);
  // Commits `offsets` for `group`, which must have no active member subscribed to those topics.
  // Per-partition status in the result.
  absl::StatusOr<std::vector<TopicPartitionOffset>> AlterConsumerGroupOffsets(
      const std::string& group, const std::vector<TopicPartitionOffset>& offsets,
      Duration timeout = kDefaultTimeout);
  absl::StatusOr<std::vector<TopicPartitionOffset>> DeleteConsumerGroupOffsets(
      const std::string& group, const std::vector<TopicPartition>& partitions,
      Duration timeout = kDefaultTimeout);

  // ---- Cluster ----
  // Brokers and topics. `topics` nullopt: all topics (internal ones included); otherwise exactly
  // those, a missing one reported with kNotFound in its TopicMeta::status. Never auto-creates.
  absl::StatusOr<ClusterMetadata> Metadata(
      const std::optional<std::vector<std::string>>& topics = std::nullopt,
      Duration timeout = kDefaultTimeout);

  // ---- Offsets ----
  absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                             Duration timeout = kDefaultTimeout);
  // For each element, `offset` holds a timestamp in ms (or kOffsetBeginning / kOffsetEnd for the
  // earliest / latest offset); the result holds the earliest offset whose timestamp is >= it
  // (kOffsetEnd when there is none), with per-partition status.
  absl::StatusOr<std::vector<TopicPartitionOffset>> ListOffsetsForTimes(
      const std::vector<TopicPartitionOffset>& timestamps, Duration timeout = kDefaultTimeout);

  std::string name() const;

 private:
  explicit AdminClient(HandlePtr rk) : rk_(std::move(rk)) {}
  // The consumer handle the group-offsets calls use (created on first use; see admin.cc).
  absl::StatusOr<rd_kafka_t*> GroupOffsetsHandle();

  Properties properties_;
  std::mutex group_mu_;
  HandlePtr group_rk_;  // guarded by group_mu_ until set; destroyed after rk_
  HandlePtr rk_;
};

// Replication settings of kmirror's own topics (state, offset syncs, checkpoints, heartbeats,
// ACL ledger). -1: min(3, brokers) replicas, and min.insync.replicas one less (at least 1).
struct InternalTopicSettings {
  int replication_factor = -1;
  int min_insync_replicas = -1;
};

// The one-partition topic `name` as kmirror creates it, with `settings` resolved against the
// brokers `admin` sees.
absl::StatusOr<NewTopic> InternalTopic(AdminClient& admin, const std::string& name, bool compacted,
                                       const InternalTopicSettings& settings);

}  // namespace kmirror::kafka
