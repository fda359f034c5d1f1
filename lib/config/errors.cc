#include "lib/config/errors.h"

#include <utility>

#include "lib/common/status.h"

namespace kmirror::config {

std::string ConfigError::ToString() const {
  if (key.empty()) return message;
  return key + ": " + message;
}

void ConfigErrors::Add(std::string key, std::string message) {
  errors.push_back(ConfigError{std::move(key), std::move(message)});
}

std::string ConfigErrors::ToString() const {
  std::string out;
  for (const ConfigError& e : errors) {
    if (!out.empty()) out += '\n';
    out += e.ToString();
  }
  return out;
}

absl::Status ConfigErrors::ToStatus() const {
  if (errors.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(common::ToAbsl(ToString()));
}

}  // namespace kmirror::config
