// librdkafka client properties ("bootstrap.servers" -> "host:9092", ...) and their validation.
//
// Properties is a plain ordered map so the config layer can build and print it without librdkafka.
// Secret values (passwords, SASL settings, PEM keys) are masked by Masked()/ToString() and in every
// error message produced here, so properties can be logged as they are.
#pragma once

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"

namespace kmirror::kafka {

// The text that replaces secret values wherever properties are printed.
inline constexpr std::string_view kMaskedValue = "******";

// True when the value of property `key` must never be printed: keys ending in `.password` or
// containing `password`, containing `secret`, ending in `.pem`, any `sasl.*` key (also when
// prefixed, e.g. `source.sasl.jaas.config`), and `ssl_key`. Case-insensitive.
bool IsSecretKey(std::string_view key);

// An ordered map of librdkafka property name -> value. Thread-compatible (a value type).
class Properties {
 public:
  using Map = std::map<std::string, std::string, std::less<>>;

  Properties() = default;
  Properties(std::initializer_list<std::pair<const std::string, std::string>> init);

  // Sets (or replaces) one property. Returns *this for chaining.
  Properties& Set(std::string key, std::string value);
  // Copies every property of `other` over this one (other wins).
  Properties& Merge(const Properties& other);
  bool Erase(std::string_view key);

  std::optional<std::string> Get(std::string_view key) const;
  bool Contains(std::string_view key) const { return map_.find(key) != map_.end(); }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  const Map& map() const { return map_; }
  Map::const_iterator begin() const { return map_.begin(); }
  Map::const_iterator end() const { return map_.end(); }

  // A copy where every secret value (IsSecretKey) is replaced by kMaskedValue.
  Properties Masked() const;
  // "key1=value1, key2=******" in key order, secrets masked. Safe to log.
  std::string ToString() const;

  friend bool operator==(const Properties& a, const Properties& b) { return a.map_ == b.map_; }

 private:
  Map map_;
};

// Checks every property against librdkafka without creating a client: unknown names and invalid
// values are all reported in one kInvalidArgument status, each naming its property and carrying
// librdkafka's explanation (secret values masked).
absl::Status ValidateProperties(const Properties& properties);

}  // namespace kmirror::kafka
