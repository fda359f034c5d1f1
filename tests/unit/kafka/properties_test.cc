// Properties: validation against librdkafka (every bad property named, all collected at once) and
// secret masking wherever properties are printed.
#include "lib/kafka/properties.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/conf.h"

namespace kmirror::kafka {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(PropertiesTest, SetGetMergeEraseKeepKeysOrdered) {
  Properties props{{"b.key", "2"}, {"a.key", "1"}};
  props.Set("c.key", "3").Set("a.key", "one");
  EXPECT_EQ(props.Get("a.key"), "one");
  EXPECT_EQ(props.Get("missing"), std::nullopt);
  EXPECT_TRUE(props.Contains("b.key"));

  Properties overrides{{"b.key", "two"}, {"d.key", "4"}};
  props.Merge(overrides);
  EXPECT_EQ(props.Get("b.key"), "two");
  EXPECT_EQ(props.size(), 4u);
  EXPECT_TRUE(props.Erase("d.key"));
  EXPECT_FALSE(props.Erase("d.key"));
  EXPECT_EQ(props.ToString(), "a.key=one, b.key=two, c.key=3");
}

TEST(PropertiesTest, ValidPropertiesBuildAConf) {
  Properties props{{"bootstrap.servers", "localhost:9092"},
                   {"enable.idempotence", "true"},
                   {"linger.ms", "5"},
                   {"client.id", "kmirror-test"}};
  EXPECT_TRUE(ValidateProperties(props).ok());
  absl::StatusOr<ConfPtr> conf = BuildConf(props);
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_NE(conf->get(), nullptr);
}

TEST(PropertiesTest, UnknownPropertyIsNamedInTheError) {
  absl::Status status =
      ValidateProperties({{"bootstrap.servers", "localhost:9092"}, {"no.such.property", "1"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr("'no.such.property'"));
  // librdkafka's own explanation is kept.
  EXPECT_THAT(Message(status), HasSubstr("No such configuration property"));
  EXPECT_THAT(Message(status), Not(HasSubstr("bootstrap.servers")));
}

TEST(PropertiesTest, AllBadPropertiesAreCollectedInOneError) {
  absl::Status status = ValidateProperties({{"acks", "banana"},
                                            {"bootstrap.servers", "localhost:9092"},
                                            {"linger.ms", "-5"},
                                            {"unknown.one", "x"},
                                            {"unknown.two", "y"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status),
              AllOf(HasSubstr("4 invalid"), HasSubstr("'acks'"), HasSubstr("'linger.ms'"),
                    HasSubstr("'unknown.one'"), HasSubstr("'unknown.two'")));
}

TEST(PropertiesTest, InvalidSecretValueIsNotEchoedInTheError) {
  // An enum-valued SASL property: librdkafka quotes the rejected value in its message.
  absl::Status status = ValidateProperties({{"sasl.oauthbearer.method", "hunter2-secret-value"}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(status), HasSubstr("sasl.oauthbearer.method"));
  EXPECT_THAT(Message(status), Not(HasSubstr("hunter2-secret-value")));
}

TEST(IsSecretKeyTest, MatchesPasswordsSecretsPemAndSasl) {
  for (const char* key : {"ssl.key.password", "ssl.keystore.password", "ssl.truststore.password",
                          "ssl.key.pem", "ssl.certificate.pem", "ssl_key", "sasl.password",
                          "sasl.username", "sasl.jaas.config", "sasl.oauthbearer.client.secret",
                          "sasl.mechanism", "source.sasl.password", "clusters.a.sasl.jaas.config",
                          "my.client.secret.file", "SASL.PASSWORD", "target.ssl.key.password"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"bootstrap.servers", "ssl.key.location", "security.protocol",
                          "ssl.ca.location", "client.id", "group.id", "acks"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(PropertiesTest, ToStringAndMaskedNeverShowSecretValues) {
  Properties props{{"bootstrap.servers", "broker-1:9093"},
                   {"sasl.jaas.config", "org.apache.kafka.Plain username=\"u\" password=\"pw1\""},
                   {"sasl.password", "pw2"},
                   {"sasl.username", "alice-user"},
                   {"ssl.key.password", "pw3"},
                   {"ssl.keystore.password", "pw4"},
                   {"ssl.key.pem", "-----BEGIN PRIVATE KEY-----pw5"},
                   {"ssl_key", "pw6"},
                   {"app.secret.token", "pw7"}};
  const std::string printed = props.ToString();
  EXPECT_THAT(printed, HasSubstr("bootstrap.servers=broker-1:9093"));
  EXPECT_THAT(printed, HasSubstr("sasl.password=******"));
  EXPECT_THAT(printed, HasSubstr("ssl.key.pem=******"));
  for (const char* secret :
       {"pw1", "pw2", "alice-user", "pw3", "pw4", "pw5", "pw6", "pw7", "PRIVATE KEY"}) {
    EXPECT_THAT(printed, Not(HasSubstr(secret))) << secret;
  }

  Properties masked = props.Masked();
  EXPECT_EQ(masked.Get("bootstrap.servers"), "broker-1:9093");
  EXPECT_EQ(masked.Get("sasl.password"), std::string(kMaskedValue));
  EXPECT_EQ(masked.Get("ssl.key.pem"), std::string(kMaskedValue));
  EXPECT_EQ(masked.size(), props.size());
  // The original keeps its real values: masking is for printing only.
  EXPECT_EQ(props.Get("sasl.password"), "pw2");
}

}  // namespace
}  // namespace kmirror::kafka
