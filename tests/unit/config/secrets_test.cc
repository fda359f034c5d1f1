// Secrets: references to files and environment variables, and masking everywhere configuration
// is printed or reported.
#include "lib/config/secrets.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/config/config.h"

namespace kmirror::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kFileSecret[] = "s3cr3t-from-file";
constexpr char kEnvSecret[] = "s3cr3t-from-env";

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "/kmirror_secret_" + std::to_string(getpid());
    FILE* f = fopen(path_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fprintf(f, "%s\n", kFileSecret);  // the trailing newline is stripped
    fclose(f);
    setenv("KMIRROR_TEST_SECRET", kEnvSecret, 1);
    unsetenv("KMIRROR_TEST_UNSET");
  }
  void TearDown() override {
    unlink(path_.c_str());
    unsetenv("KMIRROR_TEST_SECRET");
  }

  std::string Config(const std::string& kafka) const {
    return R"(
[clusters.A]
bootstrap_servers = "a:9092"
[clusters.A.kafka]
)" + kafka +
           R"(
[clusters.B]
bootstrap_servers = "b:9092"
[[flows]]
source = "A"
target = "B"
[flows.target_kafka]
"ssl.keystore.location" = { env = "KMIRROR_TEST_SECRET" }
)";
  }

  std::string path_;
};

TEST_F(SecretsTest, ReadFromFileAndEnvironment) {
  absl::StatusOr<kmirror::config::Config> config =
      ParseConfig(Config("\"sasl.password\" = { file = \"" + path_ +
                         "\" }\n\"ssl.key.password\" = { env = \"KMIRROR_TEST_SECRET\" }\n"
                         "\"sasl.username\" = \"alice\"\n"));
  ASSERT_TRUE(config.ok()) << config.status();
  const ClusterConfig& a = config->clusters.at("A");
  EXPECT_EQ(a.kafka.at("sasl.password"), kFileSecret);
  EXPECT_EQ(a.kafka.at("ssl.key.password"), kEnvSecret);
  EXPECT_EQ(a.kafka.at("sasl.username"), "alice");
  EXPECT_EQ(config->flows[0].target_kafka.at("ssl.keystore.location"), kEnvSecret);

  // Secrets are masked in the printed configuration, including values that came from a secret
  // reference under a name that does not look secret.
  const std::string described = config->ToMaskedString();
  EXPECT_THAT(described, Not(HasSubstr(kFileSecret)));
  EXPECT_THAT(described, Not(HasSubstr(kEnvSecret)));
  EXPECT_THAT(described, Not(HasSubstr("alice")));
  EXPECT_THAT(described, HasSubstr("\"sasl.password\" = \"******\""));
  EXPECT_THAT(described, HasSubstr("\"ssl.keystore.location\" = \"******\""));
  EXPECT_THAT(described, HasSubstr("bootstrap_servers = \"a:9092\""));
}

TEST_F(SecretsTest, MissingFileAndUnsetVariableAreErrorsWithTheirKeyPath) {
  ConfigErrors errors;
  absl::StatusOr<kmirror::config::Config> config =
      ParseConfig(Config("\"sasl.password\" = { file = \"/nonexistent/kmirror.pass\" }\n"
                         "\"ssl.key.password\" = { env = \"KMIRROR_TEST_UNSET\" }\n"
                         "\"sasl.oauthbearer.client.secret\" = { file = \"x\", env = \"Y\" }\n"),
                  {}, &errors);
  ASSERT_FALSE(config.ok());
  ASSERT_EQ(errors.size(), 3u) << errors.ToString();
  EXPECT_EQ(errors.errors[0].ToString(),
            "clusters.A.kafka.\"sasl.oauthbearer.client.secret\": a secret reference takes "
            "exactly one key: { file = \"...\" } or { env = \"...\" }");
  EXPECT_EQ(errors.errors[1].ToString(),
            "clusters.A.kafka.\"sasl.password\": cannot read secret file "
            "\"/nonexistent/kmirror.pass\": No such file or directory");
  EXPECT_EQ(errors.errors[2].ToString(),
            "clusters.A.kafka.\"ssl.key.password\": environment variable KMIRROR_TEST_UNSET is "
            "not set");
}

TEST_F(SecretsTest, ErrorsNeverShowSecretValues) {
  LoadOptions options;
  // A validator that, like librdkafka, quotes the offending value.
  options.validate_client_property = [](const std::string& name,
                                        const std::string& value) -> std::optional<std::string> {
    if (name == "sasl.mechanism" || name == "sasl.password" || name == "ssl.keystore.location") {
      return "Invalid value \"" + value + "\" for configuration property \"" + name + "\"";
    }
    return std::nullopt;
  };
  absl::StatusOr<kmirror::config::Config> config =
      ParseConfig(Config("\"sasl.password\" = { file = \"" + path_ +
                         "\" }\n\"sasl.mechanism\" = \"TOPSECRETMECH\"\n"),
                  options);
  ASSERT_FALSE(config.ok());
  const std::string message(config.status().message());
  EXPECT_THAT(message, Not(HasSubstr(kFileSecret)));
  EXPECT_THAT(message, Not(HasSubstr(kEnvSecret)));
  EXPECT_THAT(message, Not(HasSubstr("TOPSECRETMECH")));
  EXPECT_THAT(message, HasSubstr("clusters.A.kafka.\"sasl.password\": Invalid value \"******\""));
  EXPECT_THAT(
      message,
      HasSubstr("flows[0].target_kafka.\"ssl.keystore.location\": Invalid value \"******\""));
}

TEST_F(SecretsTest, ReadSecretHookReplacesFilesAndEnvironment) {
  LoadOptions options;
  std::vector<SecretRef> asked;
  options.read_secret = [&asked](const SecretRef& ref) -> absl::StatusOr<std::string> {
    asked.push_back(ref);
    return "stand-in";
  };
  absl::StatusOr<kmirror::config::Config> config =
      ParseConfig(Config("\"sasl.password\" = { file = \"/etc/kmirror/a.pass\" }\n"), options);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->clusters.at("A").kafka.at("sasl.password"), "stand-in");
  EXPECT_THAT(asked, ::testing::UnorderedElementsAre(
                         SecretRef{SecretRef::Kind::kFile, "/etc/kmirror/a.pass"},
                         SecretRef{SecretRef::Kind::kEnv, "KMIRROR_TEST_SECRET"}));
}

TEST(SecretKeyTest, LibrdkafkaSecretProperties) {
  for (const char* key : {"sasl.password", "ssl.key.password", "ssl.keystore.password",
                          "ssl.key.pem", "ssl.certificate.pem", "sasl.username",
                          "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                          "ssl.key.location", "SASL.PASSWORD", "my.token.file", "client.secret"}) {
    EXPECT_TRUE(IsSecretKey(key)) << key;
  }
  for (const char* key : {"bootstrap.servers", "security.protocol", "ssl.ca.location", "linger.ms",
                          "client.id", "ssl.keystore.location"}) {
    EXPECT_FALSE(IsSecretKey(key)) << key;
  }
}

TEST(SecretKeyTest, MaskSecrets) {
  EXPECT_EQ(MaskSecrets({{"sasl.password", "p"}, {"linger.ms", "5"}}),
            (std::map<std::string, std::string>{{"sasl.password", "******"}, {"linger.ms", "5"}}));
}

TEST(ReadSecretTest, StripsTrailingNewlinesAndRejectsEmpty) {
  const std::string path =
      ::testing::TempDir() + "/kmirror_secret_crlf_" + std::to_string(getpid());
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("pa ss\r\n\n", f);
  fclose(f);
  EXPECT_EQ(*ReadSecret({SecretRef::Kind::kFile, path}), "pa ss");
  f = fopen(path.c_str(), "w");
  fputs("\n", f);
  fclose(f);
  EXPECT_EQ(ReadSecret({SecretRef::Kind::kFile, path}).status().code(),
            absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
  EXPECT_EQ(ReadSecret({SecretRef::Kind::kFile, path}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace kmirror::config
