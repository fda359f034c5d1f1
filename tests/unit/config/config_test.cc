#include "lib/config/config.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kmirror::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kMinimal[] = R"(
[clusters.A]
bootstrap_servers = "a1:9092"
[clusters.B]
bootstrap_servers = "b1:9092"
[[flows]]
source = "A"
target = "B"
)";

Config MustParse(std::string_view text, const LoadOptions& options = {}) {
  ConfigErrors errors;
  absl::StatusOr<Config> config = ParseConfig(text, options, &errors);
  EXPECT_TRUE(config.ok()) << config.status();
  if (!config.ok()) return Config{};
  return *std::move(config);
}

std::string HostName() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

TEST(ConfigTest, MinimalConfigGetsEveryDefault) {
  const Config config = MustParse(kMinimal);
  EXPECT_EQ(config.daemon.log_level, "info");
  EXPECT_EQ(config.daemon.instance_id, HostName());
  EXPECT_EQ(config.daemon.drain_timeout, absl::Seconds(30));

  ASSERT_EQ(config.clusters.size(), 2u);
  const ClusterConfig& a = config.clusters.at("A");
  EXPECT_EQ(a.alias, "A");
  EXPECT_EQ(a.bootstrap_servers, "a1:9092");
  EXPECT_THAT(a.kafka, IsEmpty());

  ASSERT_EQ(config.flows.size(), 1u);
  const FlowConfig& f = config.flows[0];
  EXPECT_EQ(f.name(), "A->B");
  EXPECT_EQ(f.source, "A");
  EXPECT_EQ(f.target, "B");
  EXPECT_TRUE(f.enabled);
  EXPECT_THAT(f.topics, ElementsAre(".*"));
  EXPECT_THAT(f.topics_exclude, ElementsAre(".*[\\-\\.]internal", ".*\\.replica", "__.*"));
  EXPECT_THAT(f.groups, ElementsAre(".*"));
  EXPECT_THAT(f.groups_exclude, ElementsAre("console-consumer-.*", "connect-.*", "__.*"));
  EXPECT_EQ(f.replication_policy, ReplicationPolicyKind::kPrefix);
  EXPECT_EQ(f.separator, ".");
  EXPECT_EQ(f.start_from, StartFrom::kEarliest);
  EXPECT_EQ(f.group_id, "kmirror.A-B");
  EXPECT_EQ(f.topic_refresh_interval, absl::Seconds(10));
  EXPECT_TRUE(f.provenance);
  EXPECT_EQ(f.on_retention_loss, RetentionLossPolicy::kContinue);
  EXPECT_EQ(f.max_in_flight_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(f.replication_factor, -1);
  EXPECT_EQ(f.checkpoint_interval, absl::Seconds(5));
  EXPECT_EQ(f.heartbeat_interval, absl::Seconds(1));
  EXPECT_TRUE(f.sync_group_offsets);
  EXPECT_THAT(f.source_kafka, IsEmpty());
  EXPECT_THAT(f.target_kafka, IsEmpty());

  EXPECT_EQ(config.metrics.listen, "127.0.0.1:9464");
  EXPECT_EQ(config.metrics.host, "127.0.0.1");
  EXPECT_EQ(config.metrics.port, 9464);
  EXPECT_TRUE(config.metrics.enabled());
  EXPECT_EQ(config.control.socket, "/run/kmirror/kmirrord.sock");
}

constexpr char kFull[] = R"(
[daemon]
log_level = "debug"
instance_id = "dr-host-1"
drain_timeout = "45s"

[clusters.A]
bootstrap_servers = "a1:9092,a2:9092"
[clusters.A.kafka]
"security.protocol" = "SSL"
"socket.keepalive.enable" = true
"message.max.bytes" = 2000000
client.rack = "eu-1a"

[clusters.B]
bootstrap_servers = "b1:9092"

[[flows]]
source = "A"
target = "B"
enabled = false
topics = ["orders.*", "payments"]
topics_exclude = ["audit\\..*"]
groups = ["billing-.*"]
groups_exclude = []
replication_policy = "identity"
separator = "_"
start_from = "latest"
group_id = "mirror-ab"
topic_refresh_interval = 2500
provenance = false
on_retention_loss = "stop"
max_in_flight_bytes = 1048576
replication_factor = 3
checkpoint_interval = "1m"
heartbeat_interval = "250ms"
sync_group_offsets = false
[flows.source_kafka]
"fetch.max.bytes" = "10485760"
[flows.target_kafka]
"linger.ms" = 5
"client.rack" = "eu-1b"

[metrics]
listen = "[::1]:0"

[control]
socket = "/tmp/k.sock"
socket_group = "kmirror-ops"
tcp_listen = "127.0.0.1:9465"
token_file = "/etc/kmirror/control.token"
)";

TEST(ConfigTest, EveryFieldIsRead) {
  const Config config = MustParse(kFull);
  EXPECT_EQ(config.daemon.log_level, "debug");
  EXPECT_EQ(config.daemon.instance_id, "dr-host-1");
  EXPECT_EQ(config.daemon.drain_timeout, absl::Seconds(45));
  const ClusterConfig& a = config.clusters.at("A");
  EXPECT_EQ(a.bootstrap_servers, "a1:9092,a2:9092");
  EXPECT_EQ(a.kafka, (ClientProperties{{"security.protocol", "SSL"},
                                       {"socket.keepalive.enable", "true"},
                                       {"message.max.bytes", "2000000"},
                                       {"client.rack", "eu-1a"}}));
  const FlowConfig& f = config.flows.at(0);
  EXPECT_FALSE(f.enabled);
  EXPECT_THAT(f.topics, ElementsAre("orders.*", "payments"));
  EXPECT_THAT(f.topics_exclude, ElementsAre("audit\\..*"));
  EXPECT_THAT(f.groups, ElementsAre("billing-.*"));
  EXPECT_THAT(f.groups_exclude, IsEmpty());
  EXPECT_EQ(f.replication_policy, ReplicationPolicyKind::kIdentity);
  EXPECT_EQ(f.separator, "_");
  EXPECT_EQ(f.start_from, StartFrom::kLatest);
  EXPECT_EQ(f.group_id, "mirror-ab");
  EXPECT_EQ(f.topic_refresh_interval, absl::Milliseconds(2500));
  EXPECT_FALSE(f.provenance);
  EXPECT_EQ(f.on_retention_loss, RetentionLossPolicy::kStop);
  EXPECT_EQ(f.max_in_flight_bytes, 1048576);
  EXPECT_EQ(f.replication_factor, 3);
  EXPECT_EQ(f.checkpoint_interval, absl::Minutes(1));
  EXPECT_EQ(f.heartbeat_interval, absl::Milliseconds(250));
  EXPECT_FALSE(f.sync_group_offsets);
  EXPECT_EQ(f.source_kafka, (ClientProperties{{"fetch.max.bytes", "10485760"}}));
  EXPECT_EQ(f.target_kafka, (ClientProperties{{"linger.ms", "5"}, {"client.rack", "eu-1b"}}));
  EXPECT_EQ(config.metrics.host, "::1");
  EXPECT_EQ(config.metrics.port, 0);
  EXPECT_EQ(config.control.socket, "/tmp/k.sock");
  EXPECT_EQ(config.control.socket_group, "kmirror-ops");
  EXPECT_EQ(config.control.tcp_listen, "127.0.0.1:9465");
  EXPECT_EQ(config.control.token_file, "/etc/kmirror/control.token");
}

TEST(ConfigTest, DescribeRoundTripsToAnEqualConfig) {
  for (const char* text : {kMinimal, kFull}) {
    const Config config = MustParse(text);
    const std::string described = config.Describe();
    EXPECT_EQ(described, config.ToMaskedString());
    const Config again = MustParse(described);
    EXPECT_EQ(again, config) << described;
  }
}

TEST(ConfigTest, DescribeShowsDefaultsAsDocumented) {
  const std::string described = MustParse(kMinimal).Describe();
  for (const FieldDoc& doc : DescribeFields()) {
    if (doc.default_value == "required" || doc.default_value.starts_with("(") ||
        doc.default_value == "{}" || doc.key == "group_id") {
      continue;
    }
    EXPECT_THAT(described, HasSubstr("\n" + doc.key + " = " + doc.default_value + "\n"))
        << doc.section << "." << doc.key;
  }
}

TEST(ConfigTest, SourceAndTargetPropertiesMergeClusterBootstrapAndFlowOverrides) {
  const Config config = MustParse(kFull);
  const FlowConfig& f = config.flows[0];
  EXPECT_EQ(SourceProperties(config, f), (ClientProperties{{"bootstrap.servers", "a1:9092,a2:9092"},
                                                           {"security.protocol", "SSL"},
                                                           {"socket.keepalive.enable", "true"},
                                                           {"message.max.bytes", "2000000"},
                                                           {"client.rack", "eu-1a"},
                                                           {"fetch.max.bytes", "10485760"}}));
  EXPECT_EQ(TargetProperties(config, f),
            (ClientProperties{
                {"bootstrap.servers", "b1:9092"}, {"linger.ms", "5"}, {"client.rack", "eu-1b"}}));
}

TEST(ConfigTest, DurationsAndSizesAcceptEveryDocumentedForm) {
  std::string text = std::string(kMinimal) + R"(
topic_refresh_interval = "1m30s"
checkpoint_interval = 1500
heartbeat_interval = "100ms"
max_in_flight_bytes = "1GB"
[daemon]
drain_timeout = 0
)";
  const Config config = MustParse(text);
  EXPECT_EQ(config.flows[0].topic_refresh_interval, absl::Seconds(90));
  EXPECT_EQ(config.flows[0].checkpoint_interval, absl::Milliseconds(1500));
  EXPECT_EQ(config.flows[0].heartbeat_interval, absl::Milliseconds(100));
  EXPECT_EQ(config.flows[0].max_in_flight_bytes, 1000 * 1000 * 1000);
  EXPECT_EQ(config.daemon.drain_timeout, absl::ZeroDuration());
}

TEST(ConfigTest, EmptyMetricsListenDisablesMetrics) {
  const Config config = MustParse(std::string(kMinimal) + "[metrics]\nlisten = \"\"\n");
  EXPECT_FALSE(config.metrics.enabled());
}

TEST(ConfigTest, ActiveActiveWithTwoFlows) {
  const Config config = MustParse(std::string(kMinimal) + R"(
[[flows]]
source = "B"
target = "A"
)");
  ASSERT_EQ(config.flows.size(), 2u);
  EXPECT_EQ(config.flows[1].name(), "B->A");
  EXPECT_EQ(config.flows[1].group_id, "kmirror.B-A");
}

TEST(ConfigTest, LoadConfigFileReadsAFileAndReportsAMissingOne) {
  const std::string path = ::testing::TempDir() + "/kmirror_config_test.toml";
  {
    FILE* f = fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(kMinimal, f);
    fclose(f);
  }
  absl::StatusOr<Config> config = LoadConfigFile(path);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->flows.size(), 1u);
  unlink(path.c_str());

  absl::StatusOr<Config> missing = LoadConfigFile(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path));
}

}  // namespace
}  // namespace kmirror::config
