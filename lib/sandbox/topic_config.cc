#include "lib/sandbox/topic_config.h"

#include <cerrno>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace kmirror::sandbox {
namespace {

constexpr const char* kLongMax = "9223372036854775807";

struct TopicConfigDef {
  const char* name;
  const char* default_value;
  ConfigType type;
  const char* broker_synonym;        // nullptr when the broker has none
  int64_t min;                       // for numeric types
  std::vector<std::string> allowed;  // for enumerated strings and list items
  const char* doc;
};

// A stock broker's static settings (server.properties) that topic configs inherit.
struct StaticBrokerSetting {
  const char* topic_config;
  const char* broker_name;
  const char* broker_value;
  const char* topic_value;
};
const StaticBrokerSetting kStaticBroker[] = {
    {"retention.ms", "log.retention.hours", "168", "604800000"},
    {"segment.bytes", "log.segment.bytes", "1073741824", "1073741824"},
};

const std::vector<TopicConfigDef>& Defs() {
  static const auto* defs = new std::vector<TopicConfigDef>{
      {"cleanup.policy",
       "delete",
       ConfigType::kList,
       "log.cleanup.policy",
       0,
       {"delete", "compact"},
       "The retention policy to use on log segments: delete, compact, or both."},
      {"compression.type",
       "producer",
       ConfigType::kString,
       "compression.type",
       0,
       {"uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"},
       "Final compression type for the topic."},
      {"delete.retention.ms",
       "86400000",
       ConfigType::kLong,
       "log.cleaner.delete.retention.ms",
       0,
       {},
       "How long delete tombstones are retained for compacted topics."},
      {"file.delete.delay.ms",
       "60000",
       ConfigType::kLong,
       "log.segment.delete.delay.ms",
       0,
       {},
       "Time to wait before deleting a file from the filesystem."},
      {"flush.messages",
       kLongMax,
       ConfigType::kLong,
       "log.flush.interval.messages",
       1,
       {},
       "Messages written before forcing an fsync."},
      {"flush.ms",
       kLongMax,
       ConfigType::kLong,
       "log.flush.interval.ms",
       0,
       {},
       "Time before forcing an fsync."},
      {"follower.replication.throttled.replicas",
       "",
       ConfigType::kList,
       nullptr,
       0,
       {},
       "Replicas whose follower replication is throttled."},
      {"index.interval.bytes",
       "4096",
       ConfigType::kInt,
       "log.index.interval.bytes",
       0,
       {},
       "How often an index entry is added."},
      {"leader.replication.throttled.replicas",
       "",
       ConfigType::kList,
       nullptr,
       0,
       {},
       "Replicas whose leader replication is throttled."},
      {"local.retention.bytes",
       "-2",
       ConfigType::kLong,
       "log.local.retention.bytes",
       -2,
       {},
       "Local retention size before tiering."},
      {"local.retention.ms",
       "-2",
       ConfigType::kLong,
       "log.local.retention.ms",
       -2,
       {},
       "Local retention time before tiering."},
      {"max.compaction.lag.ms",
       kLongMax,
       ConfigType::kLong,
       "log.cleaner.max.compaction.lag.ms",
       1,
       {},
       "Maximum time a message remains uncompacted."},
      {"max.message.bytes",
       "1048588",
       ConfigType::kInt,
       "message.max.bytes",
       0,
       {},
       "Largest record batch size allowed."},
      {"message.downconversion.enable",
       "true",
       ConfigType::kBoolean,
       "log.message.downconversion.enable",
       0,
       {},
       "Whether down-conversion is enabled."},
      {"message.format.version",
       "3.0-IV1",
       ConfigType::kString,
       "log.message.format.version",
       0,
       {},
       "Deprecated message format version."},
      {"message.timestamp.difference.max.ms",
       kLongMax,
       ConfigType::kLong,
       "log.message.timestamp.difference.max.ms",
       0,
       {},
       "Maximum difference between broker and record timestamps."},
      {"message.timestamp.type",
       "CreateTime",
       ConfigType::kString,
       "log.message.timestamp.type",
       0,
       {"CreateTime", "LogAppendTime"},
       "Whether record timestamps are create or append time."},
      {"min.cleanable.dirty.ratio",
       "0.5",
       ConfigType::kDouble,
       "log.cleaner.min.cleanable.ratio",
       0,
       {},
       "Dirty ratio that triggers compaction."},
      {"min.compaction.lag.ms",
       "0",
       ConfigType::kLong,
       "log.cleaner.min.compaction.lag.ms",
       0,
       {},
       "Minimum time a message remains uncompacted."},
      {"min.insync.replicas",
       "1",
       ConfigType::kInt,
       "min.insync.replicas",
       1,
       {},
       "Minimum in-sync replicas for acks=all writes."},
      {"preallocate",
       "false",
       ConfigType::kBoolean,
       "log.preallocate",
       0,
       {},
       "Preallocate segment files."},
      {"remote.storage.enable",
       "false",
       ConfigType::kBoolean,
       nullptr,
       0,
       {},
       "Tiered storage for this topic."},
      {"retention.bytes",
       "-1",
       ConfigType::kLong,
       "log.retention.bytes",
       -1,
       {},
       "Maximum partition size before old segments are discarded."},
      {"retention.ms",
       "604800000",
       ConfigType::kLong,
       "log.retention.ms",
       -1,
       {},
       "Maximum time a log is retained before old segments are discarded."},
      {"segment.bytes",
       "1073741824",
       ConfigType::kInt,
       "log.segment.bytes",
       14,
       {},
       "Segment file size."},
      {"segment.index.bytes",
       "10485760",
       ConfigType::kInt,
       "log.index.size.max.bytes",
       4,
       {},
       "Offset index size."},
      {"segment.jitter.ms",
       "0",
       ConfigType::kLong,
       "log.roll.jitter.ms",
       0,
       {},
       "Maximum random jitter subtracted from segment.ms."},
      {"segment.ms",
       "604800000",
       ConfigType::kLong,
       "log.roll.ms",
       1,
       {},
       "Time after which a segment is rolled."},
      {"unclean.leader.election.enable",
       "false",
       ConfigType::kBoolean,
       "unclean.leader.election.enable",
       0,
       {},
       "Allow out-of-sync replicas to become leader."},
  };
  return *defs;
}

const TopicConfigDef* FindDef(const std::string& name) {
  for (const auto& d : Defs()) {
    if (name == d.name) return &d;
  }
  return nullptr;
}

const StaticBrokerSetting* FindStatic(const std::string& topic_config) {
  for (const auto& s : kStaticBroker) {
    if (topic_config == s.topic_config) return &s;
  }
  return nullptr;
}

bool Allowed(const TopicConfigDef& d, std::string_view v) {
  if (d.allowed.empty()) return true;
  for (const auto& a : d.allowed) {
    if (a == v) return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> ValidateTopicConfig(const std::string& name,
                                               const std::optional<std::string>& value) {
  const TopicConfigDef* d = FindDef(name);
  if (d == nullptr) return absl::StrCat("Unknown topic config name: ", name);
  if (!value) return absl::StrCat("Null value not supported for topic config: ", name);
  const std::string& v = *value;
  auto invalid = [&](const std::string& why) {
    return absl::StrCat("Invalid value ", v, " for configuration ", name, ": ", why);
  };
  switch (d->type) {
    case ConfigType::kInt: {
      int32_t n;
      if (!absl::SimpleAtoi(v, &n)) return invalid("Not a number of type INT");
      if (n < d->min) return invalid(absl::StrCat("Value must be at least ", d->min));
      break;
    }
    case ConfigType::kLong: {
      int64_t n;
      if (!absl::SimpleAtoi(v, &n)) return invalid("Not a number of type LONG");
      if (n < d->min) return invalid(absl::StrCat("Value must be at least ", d->min));
      break;
    }
    case ConfigType::kDouble: {
      double x;
      if (!absl::SimpleAtod(v, &x)) return invalid("Not a number of type DOUBLE");
      if (x < 0 || x > 1) return invalid("Value must be between 0 and 1");
      break;
    }
    case ConfigType::kBoolean: {
      std::string lower = absl::AsciiStrToLower(v);
      if (lower != "true" && lower != "false")
        return invalid("Expected value to be either true or false");
      break;
    }
    case ConfigType::kList:
      for (absl::string_view item : absl::StrSplit(v, ',', absl::SkipWhitespace())) {
        absl::string_view trimmed = absl::StripAsciiWhitespace(item);
        if (!Allowed(*d, std::string_view(trimmed.data(), trimmed.size()))) {
          return invalid(absl::StrCat("String must be one of: ", absl::StrJoin(d->allowed, ", ")));
        }
      }
      break;
    default:
      if (!Allowed(*d, v)) {
        return invalid(absl::StrCat("String must be one of: ", absl::StrJoin(d->allowed, ", ")));
      }
  }
  return std::nullopt;
}

std::vector<DescribedConfig> DescribeTopicConfigs(
    const std::map<std::string, std::string>& overrides) {
  std::vector<DescribedConfig> out;
  out.reserve(Defs().size());
  for (const auto& d : Defs()) {
    DescribedConfig c;
    c.name = d.name;
    c.type = d.type;
    c.documentation = d.doc;
    auto it = overrides.find(d.name);
    const StaticBrokerSetting* st = FindStatic(d.name);
    if (it != overrides.end()) {
      c.value = it->second;
      c.source = ConfigSource::kDynamicTopic;
      c.synonyms.push_back({d.name, it->second, ConfigSource::kDynamicTopic});
    } else if (st != nullptr) {
      c.value = st->topic_value;
      c.source = ConfigSource::kStaticBroker;
    } else {
      c.value = d.default_value;
      c.source = ConfigSource::kDefault;
    }
    if (st != nullptr) {
      c.synonyms.push_back({st->broker_name, st->broker_value, ConfigSource::kStaticBroker});
    }
    if (d.broker_synonym != nullptr) {
      c.synonyms.push_back({d.broker_synonym, d.default_value, ConfigSource::kDefault});
    }
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<DescribedConfig> DescribeBrokerConfigs(int32_t broker_id, const std::string& listener,
                                                   bool auto_create_topics,
                                                   int default_replication_factor) {
  auto entry = [](std::string name, std::optional<std::string> value, ConfigSource source,
                  bool read_only, bool sensitive, ConfigType type) {
    DescribedConfig c;
    c.name = std::move(name);
    c.value = sensitive ? std::nullopt : value;
    c.source = source;
    c.read_only = read_only;
    c.sensitive = sensitive;
    c.type = type;
    c.synonyms.push_back({c.name, c.value, source});
    return c;
  };
  std::string rf = absl::StrCat(default_replication_factor);
  return {
      entry("advertised.listeners", absl::StrCat("PLAINTEXT://", listener),
            ConfigSource::kStaticBroker, true, false, ConfigType::kString),
      entry("auto.create.topics.enable", auto_create_topics ? "true" : "false",
            ConfigSource::kStaticBroker, true, false, ConfigType::kBoolean),
      entry("broker.id", absl::StrCat(broker_id), ConfigSource::kStaticBroker, true, false,
            ConfigType::kInt),
      entry("default.replication.factor", rf, ConfigSource::kStaticBroker, true, false,
            ConfigType::kInt),
      entry("log.retention.hours", "168", ConfigSource::kStaticBroker, true, false,
            ConfigType::kInt),
      entry("log.segment.bytes", "1073741824", ConfigSource::kStaticBroker, false, false,
            ConfigType::kInt),
      entry("message.max.bytes", "1048588", ConfigSource::kDefault, false, false, ConfigType::kInt),
      entry("min.insync.replicas", "1", ConfigSource::kDefault, false, false, ConfigType::kInt),
      entry("num.partitions", "1", ConfigSource::kStaticBroker, false, false, ConfigType::kInt),
      entry("sasl.jaas.config", std::nullopt, ConfigSource::kDefault, false, true,
            ConfigType::kPassword),
      entry("ssl.keystore.password", "secret", ConfigSource::kStaticBroker, false, true,
            ConfigType::kPassword),
  };
}

}  // namespace kmirror::sandbox
