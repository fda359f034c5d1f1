// The shipped examples and the reference documentation cannot drift from the code: every
// configs/*.toml must parse, and docs/configuration.md must contain the reference tables exactly
// as DescribeFields() renders them.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/config/config.h"

namespace kmirror::config {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("KMIRROR_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir)
                        : std::filesystem::path(KMIRROR_SOURCE_DIR_DEFAULT);
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(ExampleConfigsTest, EveryExampleParses) {
  const std::filesystem::path dir = SourceDir() / "configs";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir << " (set KMIRROR_SOURCE_DIR)";
  // The examples read secrets from files and environment variables that exist on a real host,
  // not here. A stand-in answers every reference, so each example is still parsed and validated
  // in full; reading real files and variables is covered by secrets_test.cc.
  LoadOptions options;
  options.read_secret = [](const SecretRef& ref) -> absl::StatusOr<std::string> {
    if (ref.name.empty()) return absl::InvalidArgumentError("empty secret reference");
    return "example-secret";
  };
  int parsed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".toml") continue;
    ConfigErrors errors;
    absl::StatusOr<Config> config = LoadConfigFile(entry.path().string(), options, &errors);
    EXPECT_TRUE(config.ok()) << entry.path() << ":\n" << config.status().message();
    if (config.ok()) {
      EXPECT_THAT(config->ToMaskedString(), ::testing::Not(::testing::HasSubstr("example-secret")))
          << entry.path();
    }
    ++parsed;
  }
  EXPECT_GE(parsed, 4);
}

std::string Heading(const std::string& section) {
  if (section == "flows") return "### `[[flows]]`";
  return "### `[" + section + "]`";
}

// The Markdown reference for one section, as docs/configuration.md must contain it.
std::string RenderSection(const std::string& section) {
  std::string out =
      Heading(section) + "\n\n| Key | Type | Default | Description |\n|---|---|---|---|\n";
  for (const FieldDoc& doc : DescribeFields()) {
    if (doc.section != section) continue;
    const bool literal = doc.default_value != "required" && !doc.default_value.starts_with("(");
    const std::string def = literal ? "`" + doc.default_value + "`" : doc.default_value;
    out += "| `" + doc.key + "` | " + doc.type + " | " + def + " | " + doc.description + " |\n";
  }
  return out;
}

TEST(ConfigurationDocTest, ReferenceTablesMatchTheFieldTable) {
  const std::string doc = ReadFile(SourceDir() / "docs" / "configuration.md");
  ASSERT_FALSE(doc.empty()) << "docs/configuration.md not found (set KMIRROR_SOURCE_DIR)";
  for (const char* section : {"daemon", "clusters.<alias>", "flows", "metrics", "control"}) {
    const std::string expected = RenderSection(section);
    EXPECT_NE(doc.find(expected), std::string::npos)
        << "docs/configuration.md is out of date; its section must read:\n\n"
        << expected;
  }
  // Every key is documented (implied by the tables above; kept as the stated contract).
  for (const FieldDoc& field : DescribeFields()) {
    EXPECT_NE(doc.find("`" + field.key + "`"), std::string::npos) << field.key;
  }
}

TEST(ConfigurationDocTest, FieldDocsAreComplete) {
  std::vector<FieldDoc> fields = DescribeFields();
  EXPECT_EQ(fields.size(), 5u + 2u + 36u + 1u + 4u);
  for (const FieldDoc& f : fields) {
    EXPECT_FALSE(f.type.empty()) << f.key;
    EXPECT_FALSE(f.default_value.empty()) << f.key;
    EXPECT_FALSE(f.description.empty()) << f.key;
    EXPECT_EQ(f.description.find('|'), std::string::npos) << f.key;
    EXPECT_EQ(f.description.find('\n'), std::string::npos) << f.key;
  }
}

}  // namespace
}  // namespace kmirror::config
