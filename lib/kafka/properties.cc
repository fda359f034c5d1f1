#include "lib/kafka/properties.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "lib/common/status.h"
#include "lib/kafka/conf.h"

namespace kmirror::kafka {

using ::kmirror::common::ToAbsl;

bool IsSecretKey(std::string_view key) {
  const std::string k = absl::AsciiStrToLower(ToAbsl(key));
  return absl::StrContains(k, "password") || absl::StrContains(k, "secret") ||
         absl::EndsWith(k, ".pem") || absl::StartsWith(k, "sasl.") ||
         absl::StrContains(k, ".sasl.") || absl::StrContains(k, "ssl_key");
}

Properties::Properties(std::initializer_list<std::pair<const std::string, std::string>> init)
    : map_(init.begin(), init.end()) {}

Properties& Properties::Set(std::string key, std::string value) {
  map_.insert_or_assign(std::move(key), std::move(value));
  return *this;
}

Properties& Properties::Merge(const Properties& other) {
  for (const auto& [key, value] : other.map_) map_.insert_or_assign(key, value);
  return *this;
}

bool Properties::Erase(std::string_view key) {
  auto it = map_.find(key);
  if (it == map_.end()) return false;
  map_.erase(it);
  return true;
}

std::optional<std::string> Properties::Get(std::string_view key) const {
  auto it = map_.find(key);
  if (it == map_.end()) return std::nullopt;
  return it->second;
}

Properties Properties::Masked() const {
  Properties masked;
  for (const auto& [key, value] : map_) {
    masked.map_.emplace(key, IsSecretKey(key) ? std::string(kMaskedValue) : value);
  }
  return masked;
}

std::string Properties::ToString() const {
  std::vector<std::string> parts;
  parts.reserve(map_.size());
  for (const auto& [key, value] : map_) {
    parts.push_back(
        absl::StrCat(key, "=", IsSecretKey(key) ? ToAbsl(kMaskedValue) : absl::string_view(value)));
  }
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<ConfPtr> BuildConf(const Properties& properties) {
  ConfPtr conf(rd_kafka_conf_new());
  std::vector<std::string> errors;
  for (const auto& [key, value] : properties) {
    char errstr[512] = {0};
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) ==
        RD_KAFKA_CONF_OK) {
      continue;
    }
    std::string reason = errstr;
    // librdkafka quotes the offending value in some messages; never echo a secret.
    if (IsSecretKey(key) && !value.empty()) {
      reason = absl::StrReplaceAll(reason, {{value, ToAbsl(kMaskedValue)}});
    }
    errors.push_back(absl::StrCat("property '", key, "': ", reason));
  }
  if (!errors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(errors.size(), " invalid librdkafka propert",
                                                   errors.size() == 1 ? "y" : "ies", ": ",
                                                   absl::StrJoin(errors, "; ")));
  }
  return conf;
}

absl::Status ValidateProperties(const Properties& properties) {
  return BuildConf(properties).status();
}

}  // namespace kmirror::kafka
