// Configuration errors, collected rather than thrown: a bad configuration is reported in full,
// one line per problem, each line starting with the key path ("flows[1].source: ...").
//
// Thread-safety: plain values; not synchronized.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace kmirror::config {

struct ConfigError {
  // Key path in TOML notation: `daemon.log_level`, `flows[1].topics[2]`,
  // `clusters.A.kafka."sasl.mechanism"`. Empty for TOML syntax errors, whose message starts with
  // "line L, column C: ".
  std::string key;
  // What is wrong and, where useful, what is expected. Never contains a secret value.
  std::string message;

  // "<key>: <message>", or just the message when there is no key.
  std::string ToString() const;
  bool operator==(const ConfigError&) const = default;
};

struct ConfigErrors {
  std::vector<ConfigError> errors;

  void Add(std::string key, std::string message);
  bool empty() const { return errors.empty(); }
  size_t size() const { return errors.size(); }
  // All errors, one per line, in the order they were found.
  std::string ToString() const;
  // OkStatus() when empty, else kInvalidArgument with ToString() as the message.
  absl::Status ToStatus() const;
};

}  // namespace kmirror::config
