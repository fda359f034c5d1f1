// Secrets in client properties: which librdkafka properties are secret, how a secret reference
// ({ file = "..." } / { env = "..." }) is read, and masking for anything printed or logged.
//
// Thread-safety: IsSecretKey and MaskSecrets are pure. ReadSecret reads the file system or the
// process environment (std::getenv): do not call it while another thread calls setenv.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kmirror::config {

// What replaces a secret value wherever configuration is printed.
inline constexpr std::string_view kMaskedValue = "******";

// True for librdkafka property names whose values must never be printed: "*.password",
// "*secret*", "*.pem", "sasl.*", "ssl.key.*", "*token*" (case-insensitive).
bool IsSecretKey(std::string_view key);

// A copy of `properties` with every secret value (IsSecretKey) replaced by kMaskedValue.
std::map<std::string, std::string> MaskSecrets(
    const std::map<std::string, std::string>& properties);

// Where a secret value comes from.
struct SecretRef {
  enum class Kind { kFile, kEnv };
  Kind kind = Kind::kFile;
  std::string name;  // file path, or environment variable name

  bool operator==(const SecretRef&) const = default;
};

// Reads a secret: the file's content with trailing "\n" / "\r\n" stripped, or the environment
// variable's value. Fails with kNotFound / kPermissionDenied / kInvalidArgument (empty secret);
// messages name the file or variable, never the value.
absl::StatusOr<std::string> ReadSecret(const SecretRef& ref);

}  // namespace kmirror::config
