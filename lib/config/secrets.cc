#include "lib/config/secrets.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace kmirror::config {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

bool IsSecretKey(std::string_view key) {
  const std::string k = Lower(key);
  const std::string_view v = k;
  return v.ends_with(".password") || v == "password" || v.find("secret") != v.npos ||
         v.ends_with(".pem") || v.starts_with("sasl.") || v.starts_with("ssl.key.") ||
         v.find("token") != v.npos;
}

std::map<std::string, std::string> MaskSecrets(
    const std::map<std::string, std::string>& properties) {
  std::map<std::string, std::string> out = properties;
  for (auto& [key, value] : out) {
    if (IsSecretKey(key)) value = std::string(kMaskedValue);
  }
  return out;
}

absl::StatusOr<std::string> ReadSecret(const SecretRef& ref) {
  std::string value;
  if (ref.kind == SecretRef::Kind::kEnv) {
    const char* env = std::getenv(ref.name.c_str());
    if (env == nullptr) {
      return absl::NotFoundError(fmt::format("environment variable {} is not set", ref.name));
    }
    value = env;
    if (value.empty()) {
      return absl::InvalidArgumentError(fmt::format("environment variable {} is empty", ref.name));
    }
    return value;
  }
  errno = 0;
  std::ifstream in(ref.name, std::ios::binary);
  if (!in) {
    const int err = errno;
    const std::string reason = err != 0 ? std::strerror(err) : "cannot open";
    const absl::StatusCode code = err == EACCES   ? absl::StatusCode::kPermissionDenied
                                  : err == ENOENT ? absl::StatusCode::kNotFound
                                                  : absl::StatusCode::kInvalidArgument;
    return absl::Status(code, fmt::format("cannot read secret file \"{}\": {}", ref.name, reason));
  }
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(
        fmt::format("cannot read secret file \"{}\": read error", ref.name));
  }
  value = content.str();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (value.empty()) {
    return absl::InvalidArgumentError(fmt::format("secret file \"{}\" is empty", ref.name));
  }
  return value;
}

}  // namespace kmirror::config
