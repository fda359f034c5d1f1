// Topic and broker configuration as a Kafka 3.x broker reports it, for DescribeConfigs,
// AlterConfigs and CreateTopics in the sandbox.
//
// Each topic config has a documented default, a type, a validator and its broker synonym. Like a
// stock broker started from the shipped server.properties, log.retention.hours=168 and
// log.segment.bytes=1073741824 are static broker settings, so retention.ms and segment.bytes report
// source STATIC_BROKER_CONFIG; everything else not overridden reports DEFAULT_CONFIG. Pure
// functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kmirror::sandbox {

// DescribeConfigs ConfigSource wire values.
enum class ConfigSource : int8_t {
  kUnknown = 0,
  kDynamicTopic = 1,
  kDynamicBroker = 2,
  kDynamicDefaultBroker = 3,
  kStaticBroker = 4,
  kDefault = 5,
  kDynamicBrokerLogger = 6,
};
// DescribeConfigs v3 ConfigType wire values.
enum class ConfigType : int8_t {
  kUnknown = 0,
  kBoolean = 1,
  kString = 2,
  kInt = 3,
  kShort = 4,
  kLong = 5,
  kDouble = 6,
  kList = 7,
  kClass = 8,
  kPassword = 9,
};

struct ConfigSynonym {
  std::string name;
  std::optional<std::string> value;
  ConfigSource source;
};

struct DescribedConfig {
  std::string name;
  std::optional<std::string> value;  // null for sensitive configs
  bool read_only = false;
  ConfigSource source = ConfigSource::kDefault;
  bool sensitive = false;
  ConfigType type = ConfigType::kString;
  std::string documentation;
  std::vector<ConfigSynonym> synonyms;
};

// Validates one topic config: nullopt if fine, else the message a broker gives for INVALID_CONFIG.
std::optional<std::string> ValidateTopicConfig(const std::string& name,
                                               const std::optional<std::string>& value);

// All topic configs (sorted by name) given the topic's dynamic overrides.
std::vector<DescribedConfig> DescribeTopicConfigs(
    const std::map<std::string, std::string>& overrides);

// The broker's configs as a stock broker reports them (read-only and sensitive flags included).
std::vector<DescribedConfig> DescribeBrokerConfigs(int32_t broker_id, const std::string& listener,
                                                   bool auto_create_topics,
                                                   int default_replication_factor);

}  // namespace kmirror::sandbox
