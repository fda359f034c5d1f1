// kmirrorctl import-mm2's converter: what carries over from an MM2 dedicated-mode file, what is
// named as not carried over, and that the result is a configuration kmirrord accepts.
#include "lib/mm2import/mm2_import.h"

#include <algorithm>
#include <fstream>

#include "absl/time/time.h"
#include "daemon/service.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/process.h"

namespace kmirror::mm2import {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

// A typical production MM2 file: active-passive us-east -> us-west, SASL/SCRAM over TLS,
// Connect internals, and a few settings kmirror has no use for.
constexpr char kDrFile[] = R"(# MirrorMaker 2 dedicated mode
clusters = primary, dr
primary.bootstrap.servers = kafka-1.east:9093,kafka-2.east:9093
dr.bootstrap.servers = kafka-1.west:9093

primary->dr.enabled = true
dr->primary.enabled = false
primary->dr.topics = orders.*, payments, audit\\..*
primary->dr.topics.exclude = .*[\\-\\.]internal, .*\\.replica, __.*, tmp-(?=x).*
groups = app-.*
groups.exclude = console-consumer-.*, connect-.*, __.*

replication.policy.class = org.apache.kafka.connect.mirror.IdentityReplicationPolicy
replication.policy.separator = _
replication.factor = 3
refresh.topics.interval.seconds = 30
emit.checkpoints.interval.seconds = 10
emit.heartbeats.interval.seconds = 2
sync.group.offsets.enabled = true
sync.topic.acls.enabled = false
offset.lag.max = 100
tasks.max = 8

primary.security.protocol = SASL_SSL
primary.sasl.mechanism = SCRAM-SHA-512
primary.sasl.jaas.config = org.apache.kafka.common.security.scram.ScramLoginModule required \
    username="mm2" password="s3cret";
primary.ssl.truststore.location = /etc/kafka/truststore.jks
primary.consumer.fetch.max.wait.ms = 250
primary.consumer.auto.offset.reset = latest
dr.producer.linger.ms = 20
dr.producer.compression.type = ZSTD
dr.admin.request.timeout.ms = 60000

config.storage.replication.factor = 3
key.converter = org.apache.kafka.connect.converters.ByteArrayConverter
)";

TEST(PropertiesTest, JavaPropertiesSyntax) {
  auto p = ParseProperties(
      "# comment\n! also a comment\na=1\nb : two words \nc three\n  d=x\\\n    y\n"
      "e\\=f=g\nh=\\u00e9\\t\n\nempty=\n");
  EXPECT_THAT(
      p, ElementsAre(Pair("a", "1"), Pair("b", "two words"), Pair("c", "three"), Pair("d", "xy"),
                     Pair("e=f", "g"), Pair("h", "\xc3\xa9"), Pair("empty", "")));
}

TEST(ConvertTest, CarriesOverFlowsFiltersPolicyIntervalsAndClients) {
  auto c = ConvertMm2(ParseProperties(kDrFile), "mm2.properties");
  ASSERT_TRUE(c.ok()) << c.status();
  config::ConfigErrors errors;
  auto cfg = daemon::ParseConfigText(c->toml, &errors);
  ASSERT_TRUE(cfg.ok()) << errors.ToString() << "\n" << c->toml;

  ASSERT_EQ(cfg->clusters.size(), 2u);
  EXPECT_EQ(cfg->clusters.at("primary").bootstrap_servers, "kafka-1.east:9093,kafka-2.east:9093");
  const auto& primary = cfg->clusters.at("primary").kafka;
  EXPECT_EQ(primary.at("security.protocol"), "sasl_ssl");
  EXPECT_EQ(primary.at("sasl.mechanism"), "SCRAM-SHA-512");
  EXPECT_EQ(primary.at("sasl.username"), "mm2");
  EXPECT_EQ(primary.at("sasl.password"), "s3cret");

  ASSERT_EQ(cfg->flows.size(), 1u) << "dr->primary is disabled";
  const config::FlowConfig& f = cfg->flows[0];
  EXPECT_EQ(f.name(), "primary->dr");
  EXPECT_THAT(f.topics, ElementsAre("orders.*", "payments", "audit\\..*"));
  EXPECT_THAT(f.topics_exclude, ElementsAre(".*[\\-\\.]internal", ".*\\.replica", "__.*"));
  EXPECT_THAT(f.groups, ElementsAre("app-.*"));
  EXPECT_THAT(f.groups_exclude, ElementsAre("console-consumer-.*", "connect-.*", "__.*"));
  EXPECT_EQ(f.replication_policy, config::ReplicationPolicyKind::kIdentity);
  EXPECT_EQ(f.separator, "_");
  EXPECT_EQ(f.replication_factor, 3);
  EXPECT_EQ(f.topic_refresh_interval, absl::Seconds(30));
  EXPECT_EQ(f.checkpoint_interval, absl::Seconds(10));
  EXPECT_EQ(f.heartbeat_interval, absl::Seconds(2));
  EXPECT_TRUE(f.sync_group_offsets);
  EXPECT_FALSE(f.acl_sync);
  EXPECT_EQ(f.start_from, config::StartFrom::kLatest);
  // MM2's default location, so MM2's own tools keep finding the offset syncs.
  EXPECT_EQ(f.offset_syncs_location, config::OffsetSyncsLocation::kSource);
  EXPECT_TRUE(f.mm2_takeover);  // starts after what MM2 copied
  EXPECT_EQ(f.source_kafka.at("fetch.wait.max.ms"), "250");
  EXPECT_EQ(f.target_kafka.at("linger.ms"), "20");
  EXPECT_EQ(f.target_kafka.at("compression.type"), "zstd");
}

TEST(ConvertTest, NamesEverySettingItCouldNotCarryOver) {
  auto c = ConvertMm2(ParseProperties(kDrFile));
  ASSERT_TRUE(c.ok()) << c.status();
  auto named = [&](const std::string& key) {
    return std::any_of(c->not_converted.begin(), c->not_converted.end(),
                       [&](const std::string& n) { return n.rfind(key + ":", 0) == 0; });
  };
  for (const char* key :
       {"primary->dr.topics.exclude", "offset.lag.max", "tasks.max",
        "primary.ssl.truststore.location", "dr.admin.request.timeout.ms",
        "config.storage.replication.factor", "key.converter", "dr->primary.enabled"}) {
    EXPECT_TRUE(named(key)) << key << " not reported; reported:\n"
                            << ::testing::PrintToString(c->not_converted);
  }
  // The lookahead pattern is the one left out of topics_exclude, with RE2's reason.
  EXPECT_THAT(c->not_converted, Contains(HasSubstr("tmp-(?=x).*")));
  // And every one of them is in the TOML as a comment.
  for (const auto& n : c->not_converted) EXPECT_THAT(c->toml, HasSubstr("#   " + n));
  // Settings that were carried over are not reported.
  EXPECT_FALSE(named("primary.sasl.jaas.config"));
  EXPECT_FALSE(named("dr.producer.linger.ms"));
  EXPECT_FALSE(named("emit.checkpoints.interval.seconds"));
}

TEST(ConvertTest, MinimalActiveActiveUsesKmirrorDefaultsAndSharedClientSettings) {
  auto c = ConvertMm2(ParseProperties(
      "clusters=A,B\nA.bootstrap.servers=a:9092\nB.bootstrap.servers=b:9092\n"
      "A->B.enabled=true\nB->A.enabled=true\nconsumer.fetch.min.bytes=1024\n"
      "A->B.emit.heartbeats.enabled=false\n"
      "replication.policy.class=org.apache.kafka.connect.mirror.DefaultReplicationPolicy\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->not_converted, IsEmpty());
  config::ConfigErrors errors;
  auto cfg = daemon::ParseConfigText(c->toml, &errors);
  ASSERT_TRUE(cfg.ok()) << errors.ToString() << "\n" << c->toml;
  ASSERT_EQ(cfg->flows.size(), 2u);
  for (const auto& f : cfg->flows) {
    EXPECT_EQ(f.replication_policy, config::ReplicationPolicyKind::kPrefix);
    EXPECT_THAT(f.topics, ElementsAre(".*"));
    // Global consumer.* settings apply to every flow's source consumer.
    EXPECT_EQ(f.source_kafka.at("fetch.min.bytes"), "1024") << f.name();
    // MM2 does not sync group offsets unless asked; the conversion keeps that.
    EXPECT_FALSE(f.sync_group_offsets);
    EXPECT_EQ(f.emit_heartbeats, f.name() != "A->B");
  }
}

TEST(ConvertTest, OutOfRangeIntervalsAreClampedAndNamed) {
  auto c = ConvertMm2(
      ParseProperties("clusters=A,B\nA.bootstrap.servers=a:9092\nB.bootstrap.servers=b:9092\n"
                      "A->B.enabled=true\nrefresh.topics.interval.seconds=3600\n"
                      "emit.checkpoints.interval.seconds=-1\n"));
  ASSERT_TRUE(c.ok()) << c.status();
  config::ConfigErrors errors;
  auto cfg = daemon::ParseConfigText(c->toml, &errors);
  ASSERT_TRUE(cfg.ok()) << errors.ToString() << "\n" << c->toml;
  EXPECT_EQ(cfg->flows[0].topic_refresh_interval, absl::Minutes(10));
  EXPECT_THAT(c->not_converted, Contains(HasSubstr("refresh.topics.interval.seconds: 3600s")));
  EXPECT_THAT(c->not_converted, Contains(HasSubstr("emit.checkpoints.interval.seconds: -1")));
}

TEST(ConvertTest, RefusesFilesWithoutClustersOrEnabledFlows) {
  EXPECT_EQ(ConvertMm2(ParseProperties("a=b\n")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ConvertMm2(ParseProperties("clusters=A,B\nA.bootstrap.servers=a:1\n"
                                       "B.bootstrap.servers=b:1\nA->B.enabled=false\n"))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// The command itself: TOML on stdout, the list on stderr, and kmirrord accepts the file.
TEST(KmirrorctlTest, ImportMm2WritesAConfigurationKmirrordAccepts) {
  testing::TempDir dir;
  { std::ofstream(dir.File("mm2.properties")) << kDrFile; }
  auto r = testing::RunCommand({testing::BinPath("kmirrorctl"), "import-mm2",
                                dir.File("mm2.properties"), "-o", dir.File("kmirrord.toml")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("offset.lag.max"));
  auto check = testing::RunCommand(
      {testing::BinPath("kmirrord"), "--check-config", dir.File("kmirrord.toml")});
  EXPECT_EQ(check.exit_code, 0) << check.err << testing::ReadFile(dir.File("kmirrord.toml"));

  EXPECT_EQ(testing::RunCommand(
                {testing::BinPath("kmirrorctl"), "import-mm2", dir.File("missing.properties")})
                .exit_code,
            1);
  EXPECT_EQ(testing::RunCommand({testing::BinPath("kmirrorctl")}).exit_code, 64);
}

}  // namespace
}  // namespace kmirror::mm2import
