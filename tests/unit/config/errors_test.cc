// Every kind of configuration error, and that all of them are reported in one call.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/config/config.h"

namespace kmirror::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kClusters[] = R"(
[clusters.A]
bootstrap_servers = "a1:9092"
[clusters.B]
bootstrap_servers = "b1:9092"
)";

// Parses `text`, expects failure, and returns the errors as "key: message" lines.
std::vector<std::string> Errors(const std::string& text, const LoadOptions& options = {}) {
  ConfigErrors errors;
  absl::StatusOr<Config> config = ParseConfig(text, options, &errors);
  EXPECT_FALSE(config.ok());
  std::vector<std::string> lines;
  for (const ConfigError& e : errors.errors) lines.push_back(e.ToString());
  if (!config.ok()) {
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    // The status message is exactly the list, one error per line.
    EXPECT_EQ(std::string(config.status().message()), errors.ToString());
  }
  return lines;
}

std::string Flow(const std::string& body) {
  return std::string(kClusters) + "[[flows]]\nsource = \"A\"\ntarget = \"B\"\n" + body;
}

TEST(ConfigErrorsTest, UnknownClusterAliasListsDefinedOnes) {
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[[flows]]
source = "A"
target = "B"
[[flows]]
source = "C"
target = "B"
)"),
              ElementsAre(R"(flows[1].source: unknown cluster alias "C" (defined: A, B))"));
}

TEST(ConfigErrorsTest, RequiredKeys) {
  EXPECT_THAT(Errors(R"(
[clusters.A]
[clusters.B]
bootstrap_servers = "b:9092"
[[flows]]
target = "B"
)"),
              ElementsAre("clusters.A.bootstrap_servers: required", "flows[0].source: required"));
  EXPECT_THAT(Errors(""), ElementsAre("clusters: at least one cluster is required "
                                      "([clusters.<alias>])",
                                      "flows: at least one flow is required ([[flows]])"));
}

TEST(ConfigErrorsTest, InvalidPatternNamesItsIndex) {
  std::vector<std::string> errors = Errors(Flow(R"(topics = ["orders", "pay.*", "orders["])"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith(R"(flows[0].topics[2]: invalid RE2 pattern "orders[": )"));
  EXPECT_THAT(errors[0], HasSubstr("missing ]"));
}

TEST(ConfigErrorsTest, FlowToItself) {
  EXPECT_THAT(Errors(std::string(kClusters) + "[[flows]]\nsource = \"A\"\ntarget = \"A\"\n"),
              ElementsAre("flows[0]: a flow cannot replicate a cluster to itself"));
}

TEST(ConfigErrorsTest, MetricsListenMustBeHostPort) {
  for (const char* bad :
       {"9464", "localhost", ":9464", "host:", "host:99999", "::1:9464", "host:12ab"}) {
    std::vector<std::string> errors =
        Errors(Flow("") + "[metrics]\nlisten = \"" + std::string(bad) + "\"\n");
    ASSERT_EQ(errors.size(), 1u) << bad;
    EXPECT_THAT(errors[0], StartsWith("metrics.listen: expected host:port")) << bad;
  }
}

TEST(ConfigErrorsTest, ControlTcpListenIsLoopbackOnlyAndNeedsATokenFile) {
  const std::string token = "token_file = \"/etc/kmirror/control.token\"\n";
  for (const char* good : {"127.0.0.1:9465", "127.1.2.3:0", "[::1]:9465"}) {
    ConfigErrors errors;
    EXPECT_TRUE(
        ParseConfig(Flow("") + "[control]\ntcp_listen = \"" + good + "\"\n" + token, {}, &errors)
            .ok())
        << good << ": " << errors.ToString();
  }
  for (const char* remote : {"0.0.0.0:9465", "10.1.2.3:9465", "[::]:9465", "[2001:db8::1]:1"}) {
    std::vector<std::string> errors =
        Errors(Flow("") + "[control]\ntcp_listen = \"" + remote + "\"\n" + token);
    ASSERT_EQ(errors.size(), 1u) << remote;
    EXPECT_THAT(errors[0], StartsWith("control.tcp_listen: must be a loopback address")) << remote;
  }
  EXPECT_THAT(Errors(Flow("") + "[control]\ntcp_listen = \"localhost:9465\"\n" + token),
              ElementsAre(StartsWith("control.tcp_listen: expected an IP address")));
  EXPECT_THAT(Errors(Flow("") + "[control]\ntcp_listen = \"9465\"\n" + token),
              ElementsAre(StartsWith("control.tcp_listen: expected host:port")));
  EXPECT_THAT(Errors(Flow("") + "[control]\ntcp_listen = \"127.0.0.1:9465\"\n"),
              ElementsAre(StartsWith("control.token_file: required when control.tcp_listen")));
}

TEST(ConfigErrorsTest, UnknownKeysSuggestTheClosestKnownOne) {
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[clusters.A.kafak]
"x" = "y"
[[flows]]
source = "A"
target = "B"
topic = ["orders"]
provenence = true
colour = "blue"
[metricz]
listen = ""
)"),
              ElementsAre("metricz: unknown key (did you mean metrics?)",
                          "clusters.A.kafak: unknown key (did you mean kafka?)",
                          "flows[0].colour: unknown key",
                          "flows[0].provenence: unknown key (did "
                          "you mean provenance?)",
                          "flows[0].topic: unknown key (did you mean topics?)"));
}

TEST(ConfigErrorsTest, WrongTypes) {
  EXPECT_THAT(
      Errors(Flow(R"(
provenance = "yes"
topics = "orders"
groups = ["a", 1]
max_in_flight_bytes = true
topic_refresh_interval = 1.5
replication_factor = "3"
)")),
      ElementsAre(
          "flows[0].topics: expected array of strings, got string",
          "flows[0].groups[1]: expected string, got integer",
          "flows[0].topic_refresh_interval: expected duration (a string like \"10s\" or an "
          "integer number of milliseconds), got float",
          "flows[0].provenance: expected boolean, got string",
          "flows[0].max_in_flight_bytes: expected size (an integer number of bytes or a string "
          "like \"64MiB\"), got boolean",
          "flows[0].replication_factor: expected integer, got string"));
  EXPECT_THAT(Errors("daemon = 1\n" + Flow("")),
              ElementsAre("daemon: expected table, got integer"));
  EXPECT_THAT(Errors(std::string(kClusters) + "[flows]\nsource = \"A\"\n"),
              ElementsAre("flows: expected array of tables ([[flows]]), got table"));
}

TEST(ConfigErrorsTest, BadValues) {
  EXPECT_THAT(
      Errors(Flow(R"(
replication_policy = "mirror"
start_from = "newest"
separator = ""
topics = []
topic_refresh_interval = "20m"
checkpoint_interval = "soon"
heartbeat_interval = "-1s"
max_in_flight_bytes = "10XB"
replication_factor = 0
)") + "[daemon]\nlog_level = \"verbose\"\n[control]\nsocket = \"\"\n"),
      ElementsAre(
          R"(daemon.log_level: expected one of trace, debug, info, warn, error; got "verbose")",
          R"(flows[0].topics: must list at least one pattern (".*" selects everything))",
          R"(flows[0].replication_policy: expected one of prefix, identity; got "mirror")",
          "flows[0].separator: must not be empty",
          R"(flows[0].start_from: expected one of earliest, latest; got "newest")",
          "flows[0].topic_refresh_interval: must be between 1s and 10m, got 20m",
          R"(flows[0].max_in_flight_bytes: invalid size "10XB": unknown unit "XB"; use an )"
          R"(integer number of bytes, or an integer with a unit: B, KiB, MiB, GiB, TiB, KB, MB, )"
          R"(GB, TB (e.g. "64MiB"))",
          "flows[0].replication_factor: must be -1 (the target broker's default) or between 1 "
          "and 32767, got 0",
          R"(flows[0].checkpoint_interval: invalid duration "soon": use a number with a unit: )"
          R"(ms, s, m, h (e.g. "250ms", "10s", "1h30m") or an integer number of milliseconds)",
          R"(flows[0].heartbeat_interval: invalid duration "-1s": must be finite and not )"
          "negative",
          "control.socket: must not be empty"));
}

TEST(ConfigErrorsTest, TomlSyntaxErrorHasLineAndColumnAndNoSourceText) {
  std::vector<std::string> errors =
      Errors("[daemon]\nlog_level = \"info\"\n\"sasl.password\" = \"hunter2\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("line 3, column 19: "));
  EXPECT_THAT(errors[0], Not(HasSubstr("hunter2")));

  errors = Errors("[daemon]\nlog_level = \"info\"\nlog_level = \"debug\"\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], StartsWith("line 3, column "));
  EXPECT_THAT(errors[0], HasSubstr("already exists"));
}

TEST(ConfigErrorsTest, ClusterAndFlowConsistency) {
  EXPECT_THAT(
      Errors(R"(
[clusters."dc.1"]
bootstrap_servers = "a:9092"
[clusters.dc-2]
bootstrap_servers = "b:9092,,c:9092"
[clusters.B]
bootstrap_servers = "b:9092"
[[flows]]
source = "dc-2"
target = "B"
separator = "-"
[[flows]]
source = "dc-2"
target = "B"
group_id = "g"
[[flows]]
source = "dc-2"
target = "dc.1"
group_id = "g"
)"),
      ElementsAre("clusters.dc-2.bootstrap_servers: expected a comma-separated list of "
                  "host:port, found an empty entry",
                  "clusters.\"dc.1\": invalid cluster alias \"dc.1\": use letters, digits, '_' "
                  "and '-'",
                  "flows[0].separator: \"-\" occurs in cluster alias \"dc-2\": remote topic names "
                  "would be ambiguous",
                  "flows[1]: duplicate flow dc-2->B (also flows[0])",
                  "flows[2].group_id: \"g\" is already used by flows[1] on the same source "
                  "cluster dc-2",
                  "flows[2].separator: \".\" occurs in cluster alias \"dc.1\": remote topic "
                  "names would be ambiguous"));
}

TEST(ConfigErrorsTest, IdentityBothWaysNeedsProvenance) {
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[[flows]]
source = "A"
target = "B"
replication_policy = "identity"
provenance = false
[[flows]]
source = "B"
target = "A"
replication_policy = "identity"
)"),
              ElementsAre("flows[0].provenance: must be true: flows A->B and B->A both use "
                          "identity naming, and only provenance stops records from looping "
                          "between them"));
}

TEST(ConfigErrorsTest, ReservedClientProperties) {
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[clusters.A.kafka]
"bootstrap.servers" = "x:1"
[[flows]]
source = "A"
target = "B"
[flows.source_kafka]
"group.id" = "mine"
)"),
              ElementsAre(R"(clusters.A.kafka."bootstrap.servers": set bootstrap_servers in the )"
                          "cluster's table instead",
                          R"(flows[0].source_kafka."group.id": set this flow's group_id instead)"));
}

TEST(ConfigErrorsTest, ClientPropertyValidatorErrorsCarryTheirPath) {
  LoadOptions options;
  options.validate_client_property = [](const std::string& name,
                                        const std::string& value) -> std::optional<std::string> {
    if (name == "sasl.mechanism" && value != "PLAIN") {
      return "Unsupported value \"" + value + "\" for configuration property \"" + name + "\"";
    }
    if (name == "no.such") return "No such configuration property: \"no.such\"";
    return std::nullopt;
  };
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[clusters.A.kafka]
"sasl.mechanism" = "FOO"
"linger.ms" = 5
[[flows]]
source = "A"
target = "B"
[flows.target_kafka]
"no.such" = 1
)",
                     options),
              ElementsAre(R"(clusters.A.kafka."sasl.mechanism": Unsupported value "******" for )"
                          R"(configuration property "sasl.mechanism")",
                          R"(flows[0].target_kafka."no.such": No such configuration property: )"
                          R"("no.such")"));
}

TEST(ConfigErrorsTest, StructuralErrors) {
  EXPECT_THAT(Errors("clusters = {}\nflows = []\n"),
              ElementsAre("clusters: at least one cluster is required ([clusters.<alias>])",
                          "flows: at least one flow is required ([[flows]])"));
  EXPECT_THAT(Errors("flows = [1]\n" + std::string(kClusters)),
              ElementsAre("flows[0]: expected table ([[flows]]), got integer"));
  // TOML scoping: a key after [clusters.B] belongs to clusters.B.
  EXPECT_THAT(Errors(std::string(kClusters) + "flows = []\n"),
              ElementsAre("clusters.B.flows: unknown key (a top-level key written after a "
                          "[table] header belongs to that table: move it above the first header)",
                          "flows: at least one flow is required ([[flows]])"));
  EXPECT_THAT(Errors(std::string(kClusters) + R"(
[clusters.A.kafka]
x = { file = 1 }
y = 1.5
z = { env = "" }
[[flows]]
source = "A"
target = "B"
)"),
              ElementsAre("clusters.A.kafka.x.file: expected string, got integer",
                          "clusters.A.kafka.y: expected string, integer, boolean or a secret "
                          "reference ({ file = \"...\" } or { env = \"...\" }), got float",
                          "clusters.A.kafka.z.env: must not be empty"));
}

TEST(ConfigErrorsTest, ManyErrorsAreReportedTogether) {
  ConfigErrors errors;
  absl::StatusOr<Config> config = ParseConfig(R"(
[daemon]
log_level = "loud"
[clusters.A]
[[flows]]
source = "A"
target = "C"
topics = ["("]
[metrics]
listen = "nope"
)",
                                              {}, &errors);
  ASSERT_FALSE(config.ok());
  std::vector<std::string> keys;
  for (const ConfigError& e : errors.errors) keys.push_back(e.key);
  EXPECT_THAT(keys, ElementsAre("daemon.log_level", "clusters.A.bootstrap_servers",
                                "flows[0].topics[0]", "metrics.listen", "flows[0].target"));
  // One line per error in the status message.
  const std::string message(config.status().message());
  EXPECT_EQ(std::count(message.begin(), message.end(), '\n'), 4);
}

TEST(ConfigErrorsTest, ProducerSettingsThatCouldLeaveAGapAreRefusedWithTheirKey) {
  auto errors = Errors(Flow(R"(
[flows.target_kafka]
acks = "1"
"message.timeout.ms" = 30000
"enable.gapless.guarantee" = false
)") + R"(
[clusters.B.kafka]
"enable.idempotence" = false
)");
  ASSERT_EQ(errors.size(), 4u);
  EXPECT_THAT(errors[0], StartsWith(R"(clusters.B.kafka."enable.idempotence": kmirror sets this)"));
  EXPECT_THAT(errors, ::testing::Contains(StartsWith("flows[0].target_kafka.acks: kmirror sets")));
  EXPECT_THAT(errors, ::testing::Contains(StartsWith(
                          R"(flows[0].target_kafka."message.timeout.ms": kmirror sets)")));
  EXPECT_THAT(errors, ::testing::Contains(HasSubstr("silent gap")));
}

}  // namespace
}  // namespace kmirror::config
