// Replication policies: how a topic is named on the target cluster, and how a remote topic's
// origin is recovered from its name. Semantics follow Apache Kafka MirrorMaker 2
// (DefaultReplicationPolicy / IdentityReplicationPolicy) so that MM2's tools read kmirror's
// topic names, internal topics included.
//
// Thread-safety: policies are immutable after construction; all methods are const and safe to call
// from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kmirror::policy {

// MM2's ReplicationPolicy. Implementations must be stateless after construction.
class ReplicationPolicy {
 public:
  virtual ~ReplicationPolicy() = default;

  // Name on the target cluster of `topic` replicated from `source_alias`.
  virtual std::string FormatRemoteTopic(std::string_view source_alias,
                                        std::string_view topic) const = 0;

  // The cluster alias a remote topic was replicated from ("A" for "A.orders"), or nullopt when the
  // name does not say (not a remote topic).
  virtual std::optional<std::string> TopicSource(std::string_view topic) const = 0;

  // The topic's name one hop upstream ("A.orders" for "B.A.orders"), or nullopt when the topic is
  // not a remote topic. May return `topic` itself when names do not change (identity policy).
  virtual std::optional<std::string> UpstreamTopic(std::string_view topic) const = 0;

  // The name in the cluster where the topic originated, through every hop: "B.A.orders" ->
  // "orders". Returns `topic` when it is not a remote topic.
  std::string OriginalTopic(std::string_view topic) const;

  // "heartbeats": the topic heartbeat records are written to on every cluster.
  std::string HeartbeatsTopic() const { return "heartbeats"; }
  // "<alias>.checkpoints.internal" (separator-aware, see PrefixPolicy).
  virtual std::string CheckpointsTopic(std::string_view cluster_alias) const;
  // "mm2-offset-syncs.<alias>.internal" (separator-aware, see PrefixPolicy).
  virtual std::string OffsetSyncsTopic(std::string_view cluster_alias) const;

  // True for "heartbeats" and its replicas ("A.heartbeats", "B.A.heartbeats").
  bool IsHeartbeatsTopic(std::string_view topic) const;
  // True for "<alias>.checkpoints.internal".
  virtual bool IsCheckpointsTopic(std::string_view topic) const;
  // True for MM2's own internal topics (checkpoints, offset syncs: "*.internal").
  virtual bool IsMm2InternalTopic(std::string_view topic) const;
  // Never replicated: MM2 internal topics, Kafka internal topics ("__*", ".*") and Kafka Connect's
  // ("*-internal", "*.internal").
  bool IsInternalTopic(std::string_view topic) const;
};

// MM2's DefaultReplicationPolicy: remote topics are "<source><separator><topic>", so a name
// records every hop ("B.A.orders" was copied from A to B, then from B to C).
//
// Like MM2 (internal.topic.separator.enabled=true, its default), the separator is also used in
// internal topic names: with separator "_", checkpoints go to "A_checkpoints_internal".
class PrefixPolicy final : public ReplicationPolicy {
 public:
  // `separator` must not be empty.
  explicit PrefixPolicy(std::string separator = ".");

  std::string FormatRemoteTopic(std::string_view source_alias,
                                std::string_view topic) const override;
  // The text before the first separator. Like MM2 (Java's String.split drops trailing empty
  // parts), a name whose remainder after the first separator is only separators ("A." or "A..")
  // is not remote. Deviation: an empty prefix (".orders") is not remote either, since no cluster
  // alias is empty.
  std::optional<std::string> TopicSource(std::string_view topic) const override;
  std::optional<std::string> UpstreamTopic(std::string_view topic) const override;
  std::string CheckpointsTopic(std::string_view cluster_alias) const override;
  std::string OffsetSyncsTopic(std::string_view cluster_alias) const override;
  bool IsCheckpointsTopic(std::string_view topic) const override;
  bool IsMm2InternalTopic(std::string_view topic) const override;

  const std::string& separator() const { return separator_; }

 private:
  std::string separator_;
};

// MM2's IdentityReplicationPolicy: topics keep their names on the target ("orders" -> "orders"),
// except heartbeats, which are named like the prefix policy does ("heartbeats" -> "A.heartbeats")
// so that heartbeats still trace the replication topology and cannot loop.
//
// Because names carry no history, TopicSource() answers the configured source alias for every
// non-heartbeat topic (nullopt when none was given), UpstreamTopic() returns the topic itself and
// cycle detection by name is impossible: kmirror prevents active-active loops under identity
// naming with the per-record provenance header instead (see lib/replication).
//
// Choice: MM2 treats any name ending in "heartbeats" as a heartbeat topic (so "app-heartbeats"
// would be renamed "A.app-heartbeats"). kmirror only treats "heartbeats" and names ending in
// "<separator>heartbeats" that way, so user topics never get renamed by accident; for the real
// heartbeat topics the names are identical to MM2's.
class IdentityPolicy final : public ReplicationPolicy {
 public:
  explicit IdentityPolicy(std::string source_alias = "", std::string separator = ".");

  std::string FormatRemoteTopic(std::string_view source_alias,
                                std::string_view topic) const override;
  std::optional<std::string> TopicSource(std::string_view topic) const override;
  std::optional<std::string> UpstreamTopic(std::string_view topic) const override;
  std::string CheckpointsTopic(std::string_view cluster_alias) const override;
  std::string OffsetSyncsTopic(std::string_view cluster_alias) const override;
  bool IsCheckpointsTopic(std::string_view topic) const override;
  bool IsMm2InternalTopic(std::string_view topic) const override;

 private:
  bool LooksLikeHeartbeats(std::string_view topic) const;

  std::string source_alias_;
  PrefixPolicy prefix_;
};

}  // namespace kmirror::policy
