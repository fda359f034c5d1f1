// kmirrord's configuration: a TOML file parsed into plain structs, validated as a whole before
// anything connects anywhere. Every field is declared once (key, type, default, validator,
// description) in fields.cc; that table drives parsing, defaults, validation, Describe() and
// DescribeFields(), from which docs/configuration.md is written.
//
// Thread-safety: the structs are plain values. ParseConfig / LoadConfigFile are reentrant but read
// the process environment for { env = "..." } secrets (see secrets.h).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/config/errors.h"
#include "lib/config/secrets.h"

namespace kmirror::config {

enum class ReplicationPolicyKind { kPrefix, kIdentity };
enum class StartFrom { kEarliest, kLatest };
enum class RetentionLossPolicy { kContinue, kStop };
// Which cluster holds a flow's MM2 offset-syncs topic (MM2's offset-syncs.topic.location).
enum class OffsetSyncsLocation { kTarget, kSource };

std::string_view ToString(ReplicationPolicyKind kind);  // "prefix" | "identity"
std::string_view ToString(StartFrom start);             // "earliest" | "latest"
std::string_view ToString(RetentionLossPolicy policy);  // "continue" | "stop"

// librdkafka properties by name, values as strings, secrets already resolved.
using ClientProperties = std::map<std::string, std::string>;

// Members have no in-class defaults on purpose: defaults live in the field table only (a parsed
// Config always has every field set).
struct DaemonConfig {
  std::string log_level;  // trace | debug | info | warn | error
  std::string instance_id;
  absl::Duration drain_timeout;
  int internal_replication_factor = -1;   // kmirror's own topics; -1: min(3, brokers)
  int internal_min_insync_replicas = -1;  // -1: replication factor - 1, at least 1

  bool operator==(const DaemonConfig&) const = default;
};

struct ClusterConfig {
  std::string alias;              // the key in [clusters.<alias>]
  std::string bootstrap_servers;  // "host:port,..."
  ClientProperties kafka;         // [clusters.<alias>.kafka], passed to librdkafka verbatim
  // Properties whose value came from { file } / { env }: masked when printed even if their name
  // does not look secret (IsSecretKey).
  std::set<std::string> kafka_secret_refs;

  bool operator==(const ClusterConfig&) const = default;
};

// Where a topic config that is back at its default on the source takes its target value from:
// the target's own default (the override is removed) or the source's default value (set as an
// override). MM2's use.defaults.from.
enum class ConfigDefaultsFrom { kTarget, kSource };

struct FlowConfig {
  std::string source;  // cluster alias
  std::string target;  // cluster alias, != source
  bool enabled = false;
  std::vector<std::string> topics;  // RE2 full-match patterns
  std::vector<std::string> topics_exclude;
  std::vector<std::string> groups;
  std::vector<std::string> groups_exclude;
  ReplicationPolicyKind replication_policy = ReplicationPolicyKind::kPrefix;
  std::string separator;
  StartFrom start_from = StartFrom::kEarliest;
  std::string group_id;  // source-cluster group splitting partitions between instances
  absl::Duration topic_refresh_interval;
  bool provenance = false;
  RetentionLossPolicy on_retention_loss = RetentionLossPolicy::kContinue;
  int64_t max_in_flight_bytes = 0;
  int replication_factor = 0;  // -1: the target broker's default
  // Offsets, checkpoints, heartbeats (lib/offsets).
  bool emit_checkpoints = true;
  bool emit_heartbeats = true;
  OffsetSyncsLocation offset_syncs_location = OffsetSyncsLocation::kTarget;
  absl::Duration checkpoint_interval;
  absl::Duration heartbeat_interval;
  bool sync_group_offsets = false;
  bool mm2_takeover = false;  // start after MirrorMaker 2's last copy (lib/dr/mm2_takeover.h)
  // Remote topic management (lib/topicsync).
  bool config_sync = true;
  absl::Duration config_sync_interval;
  std::vector<std::string> config_exclude;  // RE2 full-match patterns of config names
  ConfigDefaultsFrom config_use_defaults_from = ConfigDefaultsFrom::kTarget;
  bool acl_sync = true;
  absl::Duration acl_sync_interval;
  bool acl_copy_write = false;
  bool acl_downgrade_all = true;
  bool acl_copy_deny = true;
  bool acl_sync_groups = true;
  bool acl_remove_stale = true;
  ClientProperties source_kafka;  // overrides for this flow's consumers
  ClientProperties target_kafka;  // overrides for this flow's producers
  std::set<std::string> source_kafka_secret_refs;
  std::set<std::string> target_kafka_secret_refs;

  // "A->B".
  std::string name() const { return source + "->" + target; }
  bool operator==(const FlowConfig&) const = default;
};

struct MetricsConfig {
  std::string listen;  // "host:port"; empty: no metrics endpoint
  std::string host;    // from listen, without IPv6 brackets
  uint16_t port = 0;   // from listen; 0 lets the kernel choose

  bool enabled() const { return !listen.empty(); }
  bool operator==(const MetricsConfig&) const = default;
};

struct ControlConfig {
  std::string socket;        // Unix socket path of the control API
  std::string socket_group;  // group the socket is chown'ed to (its members may use it); "": none
  std::string tcp_listen;    // loopback "host:port" for the TCP listener; "": no TCP listener
  std::string token_file;    // file holding the bearer token TCP clients must send

  bool operator==(const ControlConfig&) const = default;
};

struct Config {
  DaemonConfig daemon;
  std::map<std::string, ClusterConfig> clusters;  // by alias
  std::vector<FlowConfig> flows;
  MetricsConfig metrics;
  ControlConfig control;

  // The effective configuration (defaults filled in) as TOML, every secret value replaced by
  // "******". Safe to log. With no secrets in it, ParseConfig reads it back to an equal Config.
  std::string ToMaskedString() const;
  // Same text as ToMaskedString(); the name the daemon and control API use.
  std::string Describe() const { return ToMaskedString(); }

  bool operator==(const Config&) const = default;
};

// The properties for a flow's source-side clients (consumers, admin): the source cluster's
// [kafka] table, bootstrap.servers, then the flow's source_kafka overrides. `flow.source` must
// name a cluster of `config` (always true for a parsed Config).
ClientProperties SourceProperties(const Config& config, const FlowConfig& flow);
// Same for the target side: target cluster's [kafka], bootstrap.servers, flow's target_kafka.
ClientProperties TargetProperties(const Config& config, const FlowConfig& flow);

struct LoadOptions {
  // Validates one librdkafka property (the daemon wires librdkafka's own checks here; config does
  // not depend on lib/kafka). Returns an error message, or nullopt when the property is fine.
  // Called with resolved secret values; a message is reported with any occurrence of a secret
  // value masked.
  std::function<std::optional<std::string>(const std::string& property, const std::string& value)>
      validate_client_property;
  // Reads { file = "..." } / { env = "..." } references. Default (empty): ReadSecret.
  std::function<absl::StatusOr<std::string>(const SecretRef& ref)> read_secret;
};

// Parses and validates a whole configuration. On failure returns kInvalidArgument whose message
// lists every problem, one per line, each starting with its key path; `errors`, when given,
// receives the same list as structured values.
absl::StatusOr<Config> ParseConfig(std::string_view toml_text, const LoadOptions& options = {},
                                   ConfigErrors* errors = nullptr);

// Reads `path` and calls ParseConfig. A file that cannot be read fails with kNotFound /
// kPermissionDenied / kInvalidArgument ("cannot read configuration file ...").
absl::StatusOr<Config> LoadConfigFile(const std::string& path, const LoadOptions& options = {},
                                      ConfigErrors* errors = nullptr);

// One configuration key, for documentation (docs/configuration.md is written from these).
struct FieldDoc {
  std::string section;        // "daemon", "clusters.<alias>", "flows", "metrics", "control"
  std::string key;            // "drain_timeout"
  std::string type;           // "duration", "string: prefix, identity", ...
  std::string default_value;  // TOML literal ("\"30s\""), "required", or "(computed: ...)"
  std::string description;    // one line

  bool operator==(const FieldDoc&) const = default;
};

// Every key of every section, in declaration order.
std::vector<FieldDoc> DescribeFields();

}  // namespace kmirror::config
