// The field tables: every configuration key, declared once.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>

#include "fmt/format.h"
#include "lib/common/status.h"
#include "lib/config/fields_internal.h"
#include "lib/config/units.h"
#include "re2/re2.h"

namespace kmirror::config {
namespace internal {

// ---------------------------------------------------------------------------------------------
// Helpers shared with config.cc.

namespace {

bool IsBareKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Optimal string alignment distance: Levenshtein plus adjacent transpositions ("kafak").
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string QuoteKey(std::string_view key) {
  if (!key.empty() && std::all_of(key.begin(), key.end(), IsBareKeyChar)) return std::string(key);
  return TomlString(key);
}

std::string Join(const std::string& path, std::string_view key) {
  if (path.empty()) return QuoteKey(key);
  return path + "." + QuoteKey(key);
}

std::string Index(const std::string& path, size_t index) {
  return fmt::format("{}[{}]", path, index);
}

std::string TomlString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

std::string TypeName(const Value& v) {
  switch (v.type()) {
    case toml::value_t::boolean:
      return "boolean";
    case toml::value_t::integer:
      return "integer";
    case toml::value_t::floating:
      return "float";
    case toml::value_t::string:
      return "string";
    case toml::value_t::offset_datetime:
    case toml::value_t::local_datetime:
      return "datetime";
    case toml::value_t::local_date:
      return "date";
    case toml::value_t::local_time:
      return "time";
    case toml::value_t::array:
      return "array";
    case toml::value_t::table:
      return "table";
    case toml::value_t::empty:
      break;
  }
  return "nothing";
}

std::string Expected(std::string_view what, const Value& v) {
  return fmt::format("expected {}, got {}", what, TypeName(v));
}

std::string UnknownKeyMessage(std::string_view key, const std::vector<std::string>& known,
                              bool nested) {
  const size_t max_distance = key.size() <= 3 ? 1 : key.size() <= 8 ? 2 : 3;
  const std::string* best = nullptr;
  size_t best_distance = max_distance + 1;
  for (const std::string& candidate : known) {
    const size_t d = EditDistance(key, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = &candidate;
    }
  }
  if (best != nullptr) return fmt::format("unknown key (did you mean {}?)", *best);
  if (nested) {
    for (std::string_view section : {"daemon", "clusters", "flows", "metrics", "control"}) {
      if (key == section) {
        return "unknown key (a top-level key written after a [table] header belongs to that "
               "table: move it above the first header)";
      }
    }
  }
  return "unknown key";
}

// ---------------------------------------------------------------------------------------------
// Codecs: how a TOML value becomes a T, and how a T is printed back as a TOML literal.

namespace {

template <typename T>
struct Codec {
  std::string type;  // FieldDoc::type
  std::function<std::optional<T>(Context&, const std::string& path, const Value&)> decode;
  std::function<std::string(const T&)> encode;
};

// Returns an error message, or nullopt when the value is acceptable.
template <typename T>
using Validator = std::function<std::optional<std::string>(const T&)>;

// A validator and, for bounds a reader should know, the sentence it adds to the description.
template <typename T>
struct Check {
  Validator<T> fn;
  std::string doc;

  Check() = default;
  template <typename F>
  requires std::is_invocable_r_v < std::optional<std::string>, F,
  const T& > Check(F f, std::string d = "")
      : fn(std::move(f)),
  doc(std::move(d)) {}  // NOLINT: implicit
};

Codec<std::string> StringCodec() {
  return {"string",
          [](Context& ctx, const std::string& path, const Value& v) -> std::optional<std::string> {
            if (!v.is_string()) {
              ctx.Error(path, Expected("string", v));
              return std::nullopt;
            }
            return v.as_string().str;
          },
          [](const std::string& s) { return TomlString(s); }};
}

Codec<bool> BoolCodec() {
  return {"boolean",
          [](Context& ctx, const std::string& path, const Value& v) -> std::optional<bool> {
            if (!v.is_boolean()) {
              ctx.Error(path, Expected("boolean", v));
              return std::nullopt;
            }
            return v.as_boolean();
          },
          [](const bool& b) { return std::string(b ? "true" : "false"); }};
}

Codec<int> IntCodec() {
  return {"integer",
          [](Context& ctx, const std::string& path, const Value& v) -> std::optional<int> {
            if (!v.is_integer()) {
              ctx.Error(path, Expected("integer", v));
              return std::nullopt;
            }
            const int64_t i = v.as_integer();
            if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max()) {
              ctx.Error(path, fmt::format("{} is out of range", i));
              return std::nullopt;
            }
            return static_cast<int>(i);
          },
          [](const int& i) { return std::to_string(i); }};
}

Codec<absl::Duration> DurationCodec() {
  return {
      "duration",
      [](Context& ctx, const std::string& path, const Value& v) -> std::optional<absl::Duration> {
        absl::StatusOr<absl::Duration> d;
        if (v.is_string()) {
          d = ParseDuration(v.as_string().str);
        } else if (v.is_integer()) {
          d = DurationFromMillis(v.as_integer());
        } else {
          ctx.Error(path, Expected("duration (a string like \"10s\" or an integer number of "
                                   "milliseconds)",
                                   v));
          return std::nullopt;
        }
        if (!d.ok()) {
          ctx.Error(path, std::string(common::ToStd(d.status().message())));
          return std::nullopt;
        }
        return *d;
      },
      [](const absl::Duration& d) { return TomlString(DurationToString(d)); }};
}

Codec<int64_t> SizeCodec() {
  return {"size",
          [](Context& ctx, const std::string& path, const Value& v) -> std::optional<int64_t> {
            if (v.is_integer()) {
              if (v.as_integer() < 0) {
                ctx.Error(path,
                          fmt::format("invalid size {}: must not be negative", v.as_integer()));
                return std::nullopt;
              }
              return v.as_integer();
            }
            if (!v.is_string()) {
              ctx.Error(path, Expected("size (an integer number of bytes or a string like "
                                       "\"64MiB\")",
                                       v));
              return std::nullopt;
            }
            absl::StatusOr<int64_t> size = ParseByteSize(v.as_string().str);
            if (!size.ok()) {
              ctx.Error(path, std::string(common::ToStd(size.status().message())));
              return std::nullopt;
            }
            return *size;
          },
          [](const int64_t& bytes) { return TomlString(ByteSizeToString(bytes)); }};
}

std::optional<std::vector<std::string>> DecodeStringList(Context& ctx, const std::string& path,
                                                         const Value& v) {
  if (!v.is_array()) {
    ctx.Error(path, Expected("array of strings", v));
    return std::nullopt;
  }
  std::vector<std::string> out;
  bool ok = true;
  const auto& array = v.as_array();
  for (size_t i = 0; i < array.size(); ++i) {
    if (!array[i].is_string()) {
      ctx.Error(Index(path, i), Expected("string", array[i]));
      ok = false;
      continue;
    }
    out.push_back(array[i].as_string().str);
  }
  if (!ok) return std::nullopt;
  return out;
}

std::string EncodeStringList(const std::vector<std::string>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ", ";
    out += TomlString(values[i]);
  }
  return out + "]";
}

// RE2 full-match patterns, each compiled here so that a bad one is reported with its index.
// (Same RE2 defaults as lib/policy's NameFilter, which compiles them for real; config does not
// depend on policy.)
Codec<std::vector<std::string>> PatternListCodec() {
  return {"array of RE2 patterns",
          [](Context& ctx, const std::string& path,
             const Value& v) -> std::optional<std::vector<std::string>> {
            std::optional<std::vector<std::string>> patterns = DecodeStringList(ctx, path, v);
            if (!patterns.has_value()) return std::nullopt;
            bool ok = true;
            RE2::Options options;
            options.set_log_errors(false);
            for (size_t i = 0; i < patterns->size(); ++i) {
              const RE2 re((*patterns)[i], options);
              if (!re.ok()) {
                ctx.Error(Index(path, i), fmt::format("invalid RE2 pattern {}: {}",
                                                      TomlString((*patterns)[i]), re.error()));
                ok = false;
              }
            }
            if (!ok) return std::nullopt;
            return patterns;
          },
          EncodeStringList};
}

template <typename T>
Codec<T> EnumCodec(std::vector<std::pair<std::string, T>> choices) {
  std::string names;
  for (const auto& [name, value] : choices) names += (names.empty() ? "" : ", ") + name;
  return {
      "string: " + names,
      [choices, names](Context& ctx, const std::string& path, const Value& v) -> std::optional<T> {
        if (!v.is_string()) {
          ctx.Error(path, Expected("string", v));
          return std::nullopt;
        }
        for (const auto& [name, value] : choices) {
          if (name == v.as_string().str) return value;
        }
        ctx.Error(path,
                  fmt::format("expected one of {}; got {}", names, TomlString(v.as_string().str)));
        return std::nullopt;
      },
      [choices](const T& value) {
        for (const auto& [name, v] : choices) {
          if (v == value) return TomlString(name);
        }
        return std::string("\"?\"");
      }};
}

// ---------------------------------------------------------------------------------------------
// Defaults.

struct Default {
  enum class Kind { kRequired, kLiteral, kComputed };
  Kind kind;
  // kLiteral: a TOML literal, parsed through the field's codec (so the documented text IS the
  // default). kComputed: what the documentation says; the value is filled in by config.cc.
  std::string text;
};
Default Required() { return {Default::Kind::kRequired, "required"}; }
Default Literal(std::string toml) { return {Default::Kind::kLiteral, std::move(toml)}; }
Default Computed(std::string doc) { return {Default::Kind::kComputed, std::move(doc)}; }

template <typename T>
T DecodeLiteral(const Codec<T>& codec, const std::string& literal) {
  std::istringstream in("v = " + literal);
  const Value doc = toml::parse<toml::discard_comments, std::map, std::vector>(in, "default");
  ConfigErrors errors;
  LoadOptions options;
  Context ctx(options, errors);
  std::optional<T> value = codec.decode(ctx, "default", doc.as_table().at("v"));
  KM_CHECK_MSG(value.has_value() && errors.empty(), errors.ToString());
  return *value;
}

template <typename S, typename T>
Field<S> Def(std::string key, T S::*member, const Codec<T>& codec, const Default& def,
             std::string description, std::type_identity_t<Check<T>> check = {}) {
  Field<S> field;
  if (!check.doc.empty()) description += " " + check.doc;
  field.doc = FieldDoc{"", std::move(key), codec.type, def.text, std::move(description)};
  Validator<T> validate = std::move(check.fn);
  std::optional<T> default_value;
  if (def.kind == Default::Kind::kLiteral) default_value = DecodeLiteral(codec, def.text);
  const bool required = def.kind == Default::Kind::kRequired;
  field.read = [member, codec, default_value, required, validate](
                   Context& ctx, const std::string& path, const Value* value, S& out) {
    if (value == nullptr) {
      if (required) ctx.Error(path, "required");
      if (default_value.has_value()) out.*member = *default_value;
      return;
    }
    std::optional<T> decoded = codec.decode(ctx, path, *value);
    if (!decoded.has_value()) return;
    if (validate) {
      if (std::optional<std::string> problem = validate(*decoded)) {
        ctx.Error(path, *std::move(problem));
        return;
      }
    }
    out.*member = *std::move(decoded);
  };
  field.format = [member, codec](const S& in) { return codec.encode(in.*member); };
  return field;
}

// ---------------------------------------------------------------------------------------------
// Validators.

std::optional<std::string> NotEmpty(const std::string& s) {
  if (s.empty()) return "must not be empty";
  return std::nullopt;
}

std::optional<std::string> AtLeastOnePattern(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return "must list at least one pattern (\".*\" selects everything)";
  return std::nullopt;
}

Check<absl::Duration> DurationBetween(absl::Duration min, absl::Duration max) {
  return Check<absl::Duration>(
      [min, max](const absl::Duration& d) -> std::optional<std::string> {
        if (d < min || d > max) {
          return fmt::format("must be between {} and {}, got {}", DurationToString(min),
                             DurationToString(max), DurationToString(d));
        }
        return std::nullopt;
      },
      fmt::format("Range: {} to {}.", DurationToString(min), DurationToString(max)));
}

Check<int64_t> SizeBetween(int64_t min, int64_t max) {
  return Check<int64_t>(
      [min, max](const int64_t& bytes) -> std::optional<std::string> {
        if (bytes < min || bytes > max) {
          return fmt::format("must be between {} and {}, got {}", ByteSizeToString(min),
                             ByteSizeToString(max), ByteSizeToString(bytes));
        }
        return std::nullopt;
      },
      fmt::format("Range: {} to {}.", ByteSizeToString(min), ByteSizeToString(max)));
}

std::optional<std::string> ReplicationFactor(const int& rf) {
  if (rf == -1 || (rf >= 1 && rf <= 32767)) return std::nullopt;
  return fmt::format("must be -1 (the target broker's default) or between 1 and 32767, got {}", rf);
}

std::optional<std::string> AutoOrCount(const int& n) {
  if (n == -1 || (n >= 1 && n <= 32767)) return std::nullopt;
  return fmt::format("must be -1 (automatic) or between 1 and 32767, got {}", n);
}

std::optional<std::string> BootstrapServers(const std::string& s) {
  if (s.empty()) return "must not be empty";
  size_t start = 0;
  while (true) {
    const size_t comma = s.find(',', start);
    std::string_view item = std::string_view(s).substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) return "expected a comma-separated list of host:port, found an empty entry";
    if (comma == std::string::npos) return std::nullopt;
    start = comma + 1;
  }
}

std::optional<std::string> ListenAddress(const std::string& s) {
  if (s.empty()) return std::nullopt;  // metrics disabled
  if (!SplitHostPort(s).has_value()) {
    return fmt::format("expected host:port (e.g. \"127.0.0.1:9464\", \"[::1]:9464\"), got {}",
                       TomlString(s));
  }
  return std::nullopt;
}

// The control API's TCP listener: an IP literal on the loopback interface (the bearer token is sent
// in clear text, so it must never cross a network).
std::optional<std::string> LoopbackListenAddress(const std::string& s) {
  if (s.empty()) return std::nullopt;  // TCP listener disabled
  const auto host_port = SplitHostPort(s);
  if (!host_port.has_value()) {
    return fmt::format("expected host:port (e.g. \"127.0.0.1:9465\", \"[::1]:9465\"), got {}",
                       TomlString(s));
  }
  const std::string& host = host_port->first;
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) == 127) return std::nullopt;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return std::nullopt;
  } else {
    return fmt::format("expected an IP address, got host {} (use 127.0.0.1 or [::1])",
                       TomlString(host));
  }
  return fmt::format(
      "must be a loopback address (127.0.0.0/8 or [::1]), got {}: the control API's token "
      "travels in clear text",
      TomlString(host));
}

std::optional<std::string> SocketPath(const std::string& s) {
  if (s.empty()) return "must not be empty";
  // sockaddr_un::sun_path holds 108 bytes including the terminating NUL.
  if (s.size() > 107) return fmt::format("must be at most 107 bytes, got {}", s.size());
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Client property tables.

// Property names kmirror sets itself, with where to set them instead.
using Reserved = std::map<std::string, std::string>;

std::string MaskIn(std::string message, const std::string& secret) {
  if (secret.empty()) return message;
  size_t pos = 0;
  while ((pos = message.find(secret, pos)) != std::string::npos) {
    message.replace(pos, secret.size(), kMaskedValue);
    pos += kMaskedValue.size();
  }
  return message;
}

void StoreProperty(Context& ctx, const std::string& table_path, const Reserved& reserved,
                   const std::string& name, std::string value, bool from_secret,
                   ClientProperties& values, std::set<std::string>& secret_refs) {
  const std::string path = Join(table_path, name);
  if (auto it = reserved.find(name); it != reserved.end()) {
    ctx.Error(path, it->second);
    return;
  }
  if (values.count(name) > 0) {
    ctx.Error(path, "set twice (as a quoted key and as a dotted key)");
    return;
  }
  if (std::optional<std::string> problem = ctx.ValidateProperty(name, value)) {
    const bool secret = from_secret || IsSecretKey(name);
    ctx.Error(path, secret ? MaskIn(*std::move(problem), value) : *std::move(problem));
    return;
  }
  values[name] = std::move(value);
  if (from_secret) secret_refs.insert(name);
}

// Reads a [*.kafka] table. Bare dotted keys (security.protocol = "SSL") arrive as nested tables
// and are flattened back to property names; a table with a `file` or `env` key is a secret
// reference.
void ReadProperties(Context& ctx, const std::string& table_path, const std::string& prefix,
                    const Table& table, const Reserved& reserved, ClientProperties& values,
                    std::set<std::string>& secret_refs) {
  for (const auto& [key, v] : table) {
    const std::string name = prefix.empty() ? key : prefix + "." + key;
    const std::string path = Join(table_path, name);
    if (v.is_table()) {
      const Table& sub = v.as_table();
      const bool is_file = sub.count("file") > 0;
      const bool is_env = sub.count("env") > 0;
      if (!is_file && !is_env) {
        ReadProperties(ctx, table_path, name, sub, reserved, values, secret_refs);
        continue;
      }
      if (sub.size() != 1) {
        ctx.Error(path,
                  "a secret reference takes exactly one key: { file = \"...\" } or "
                  "{ env = \"...\" }");
        continue;
      }
      const Value& where = is_file ? sub.at("file") : sub.at("env");
      if (!where.is_string() || where.as_string().str.empty()) {
        ctx.Error(Join(path, is_file ? "file" : "env"),
                  where.is_string() ? "must not be empty" : Expected("string", where));
        continue;
      }
      SecretRef ref{is_file ? SecretRef::Kind::kFile : SecretRef::Kind::kEnv,
                    where.as_string().str};
      absl::StatusOr<std::string> secret = ctx.ReadSecret(ref);
      if (!secret.ok()) {
        ctx.Error(path, std::string(common::ToStd(secret.status().message())));
        continue;
      }
      StoreProperty(ctx, table_path, reserved, name, *std::move(secret), true, values, secret_refs);
      continue;
    }
    std::string value;
    if (v.is_string()) {
      value = v.as_string().str;
    } else if (v.is_integer()) {
      value = std::to_string(v.as_integer());
    } else if (v.is_boolean()) {
      value = v.as_boolean() ? "true" : "false";
    } else {
      ctx.Error(path, Expected("string, integer, boolean or a secret reference "
                               "({ file = \"...\" } or { env = \"...\" })",
                               v));
      continue;
    }
    StoreProperty(ctx, table_path, reserved, name, std::move(value), false, values, secret_refs);
  }
}

template <typename S>
Field<S> PropertiesDef(std::string key, ClientProperties S::*values,
                       std::set<std::string> S::*secret_refs, Reserved reserved,
                       std::string description) {
  Field<S> field;
  field.doc =
      FieldDoc{"", std::move(key), "table of librdkafka properties", "{}", std::move(description)};
  field.is_table = true;
  field.read = [values, secret_refs, reserved](Context& ctx, const std::string& path,
                                               const Value* value, S& out) {
    (out.*values).clear();
    (out.*secret_refs).clear();
    if (value == nullptr) return;
    if (!value->is_table()) {
      ctx.Error(path, Expected("table", *value));
      return;
    }
    ReadProperties(ctx, path, "", value->as_table(), reserved, out.*values, out.*secret_refs);
  };
  field.format = [values, secret_refs](const S& in) {
    std::string out;
    for (const auto& [name, value] : in.*values) {
      const bool secret = IsSecretKey(name) || (in.*secret_refs).count(name) > 0;
      out += QuoteKey(name) + " = " + TomlString(secret ? kMaskedValue : value) + "\n";
    }
    return out;
  };
  return field;
}

template <typename S>
Section<S> MakeSection(std::string name, std::vector<Field<S>> fields) {
  for (Field<S>& f : fields) f.doc.section = name;
  return Section<S>{std::move(name), std::move(fields)};
}

// Producer settings kmirror decides itself: with any other value a refused or timed-out record
// could leave a gap on the target or a record written twice (docs/replication.md, "No gap").
Reserved WithManagedProducerKeys(Reserved reserved) {
  const std::string why =
      "kmirror sets this producer property itself (idempotence with acks=all, the gapless "
      "guarantee, no delivery timeout, no transactions): another value could leave a silent gap "
      "on the target (docs/replication.md)";
  for (const char* key : {"enable.idempotence", "enable.gapless.guarantee", "acks",
                          "request.required.acks", "message.timeout.ms", "delivery.timeout.ms",
                          "transactional.id", "retries", "message.send.max.retries"}) {
    reserved.emplace(key, why);
  }
  return reserved;
}

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

}  // namespace

std::optional<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view s) {
  std::string_view host;
  std::string_view port;
  if (s.starts_with("[")) {
    const size_t close = s.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  return std::make_pair(std::string(host), static_cast<uint16_t>(value));
}

// ---------------------------------------------------------------------------------------------
// The tables.

const Section<DaemonConfig>& DaemonSection() {
  using S = DaemonConfig;
  static const auto* section = new Section<S>(MakeSection<S>(
      "daemon",
      {
          Def<S>("log_level", &S::log_level,
                 EnumCodec<std::string>({{"trace", "trace"},
                                         {"debug", "debug"},
                                         {"info", "info"},
                                         {"warn", "warn"},
                                         {"error", "error"}}),
                 Literal("\"info\""), "Least severe level logged (to stderr, key=value lines)."),
          Def<S>("instance_id", &S::instance_id, StringCodec(), Computed("(the host name)"),
                 "Names this kmirrord in logs, metrics and the partition-assignment group.",
                 NotEmpty),
          Def<S>("drain_timeout", &S::drain_timeout, DurationCodec(), Literal("\"30s\""),
                 "On SIGTERM, time allowed to deliver in-flight records and record progress.",
                 DurationBetween(absl::ZeroDuration(), absl::Hours(1))),
          Def<S>("internal_replication_factor", &S::internal_replication_factor, IntCodec(),
                 Literal("-1"),
                 "Replication factor of the topics kmirror creates for itself (state, offset "
                 "syncs, checkpoints, heartbeats, ACL ledger); -1: min(3, the cluster's brokers).",
                 AutoOrCount),
          Def<S>("internal_min_insync_replicas", &S::internal_min_insync_replicas, IntCodec(),
                 Literal("-1"),
                 "min.insync.replicas of those topics; -1: their replication factor - 1, at "
                 "least 1.",
                 AutoOrCount),
      }));
  return *section;
}

const Section<ClusterConfig>& ClusterSection() {
  using S = ClusterConfig;
  static const auto* section = new Section<S>(MakeSection<S>(
      "clusters.<alias>",
      {
          Def<S>("bootstrap_servers", &S::bootstrap_servers, StringCodec(), Required(),
                 "Comma-separated host:port list of the cluster's brokers.", BootstrapServers),
          PropertiesDef<S>(
              "kafka", &S::kafka, &S::kafka_secret_refs,
              WithManagedProducerKeys(
                  {{"bootstrap.servers", "set bootstrap_servers in the cluster's table instead"},
                   {"group.id", "set group_id in [[flows]] instead"}}),
              "librdkafka properties for every client of this cluster; values may be "
              "{ file = \"path\" } or { env = \"NAME\" }."),
      }));
  return *section;
}

const Section<FlowConfig>& FlowSection() {
  using S = FlowConfig;
  static const auto* section = new Section<S>(MakeSection<S>(
      "flows",
      {
          Def<S>("source", &S::source, StringCodec(), Required(),
                 "Alias of the cluster to copy from.", NotEmpty),
          Def<S>("target", &S::target, StringCodec(), Required(),
                 "Alias of the cluster to copy to; must differ from source.", NotEmpty),
          Def<S>("enabled", &S::enabled, BoolCodec(), Literal("true"),
                 "A disabled flow is validated but not started."),
          Def<S>("topics", &S::topics, PatternListCodec(), Literal("[\".*\"]"),
                 "Topics to replicate: RE2 patterns, each matching the whole topic name.",
                 AtLeastOnePattern),
          Def<S>("topics_exclude", &S::topics_exclude, PatternListCodec(),
                 Literal(R"([".*[\\-\\.]internal", ".*\\.replica", "__.*"])"),
                 "Topics never replicated, even if listed in topics (MirrorMaker 2's default)."),
          Def<S>("groups", &S::groups, PatternListCodec(), Literal("[\".*\"]"),
                 "Consumer groups whose offsets are checkpointed to the target.",
                 AtLeastOnePattern),
          Def<S>("groups_exclude", &S::groups_exclude, PatternListCodec(),
                 Literal(R"(["console-consumer-.*", "connect-.*", "__.*"])"),
                 "Consumer groups never checkpointed (MirrorMaker 2's default)."),
          Def<S>("replication_policy", &S::replication_policy,
                 EnumCodec<ReplicationPolicyKind>({{"prefix", ReplicationPolicyKind::kPrefix},
                                                   {"identity", ReplicationPolicyKind::kIdentity}}),
                 Literal("\"prefix\""),
                 "Remote topic names: prefix (orders -> A.orders) or identity (orders -> orders)."),
          Def<S>("separator", &S::separator, StringCodec(), Literal("\".\""),
                 "Separator between source alias and topic name in remote topic names.", NotEmpty),
          Def<S>("start_from", &S::start_from,
                 EnumCodec<StartFrom>(
                     {{"earliest", StartFrom::kEarliest}, {"latest", StartFrom::kLatest}}),
                 Literal("\"earliest\""),
                 "Where a partition with no replication progress yet starts."),
          Def<S>(
              "group_id", &S::group_id, StringCodec(), Computed(R"("kmirror.<source>-<target>")"),
              "Source-cluster consumer group that splits partitions between instances.", NotEmpty),
          Def<S>("topic_refresh_interval", &S::topic_refresh_interval, DurationCodec(),
                 Literal("\"10s\""), "How often new topics and partitions are picked up.",
                 DurationBetween(absl::Seconds(1), absl::Minutes(10))),
          Def<S>("provenance", &S::provenance, BoolCodec(), Literal("true"),
                 "Per-record provenance header: exact resume, exact offsets, loop prevention."),
          Def<S>("on_retention_loss", &S::on_retention_loss,
                 EnumCodec<RetentionLossPolicy>({{"continue", RetentionLossPolicy::kContinue},
                                                 {"stop", RetentionLossPolicy::kStop}}),
                 Literal("\"continue\""),
                 "What a partition does after records expired before being copied."),
          Def<S>("max_in_flight_bytes", &S::max_in_flight_bytes, SizeCodec(), Literal("\"64MiB\""),
                 "Bound on record bytes held between source fetch and target ack, per flow.",
                 SizeBetween(kMiB, 64 * kGiB)),
          Def<S>("replication_factor", &S::replication_factor, IntCodec(), Literal("-1"),
                 "Replication factor of created remote topics; -1: the target broker's default.",
                 ReplicationFactor),
          // Offsets, checkpoints, heartbeats (lib/offsets).
          Def<S>("emit_checkpoints", &S::emit_checkpoints, BoolCodec(), Literal("true"),
                 "Translate the selected groups' offsets into MirrorMaker 2 checkpoints on the "
                 "target (<source>.checkpoints.internal)."),
          Def<S>("emit_heartbeats", &S::emit_heartbeats, BoolCodec(), Literal("true"),
                 "Write MirrorMaker 2 heartbeats to the source's heartbeats topic (replicated as "
                 "<source>.heartbeats)."),
          Def<S>("offset_syncs_location", &S::offset_syncs_location,
                 EnumCodec<OffsetSyncsLocation>({{"target", OffsetSyncsLocation::kTarget},
                                                 {"source", OffsetSyncsLocation::kSource}}),
                 Literal("\"target\""),
                 "Cluster holding the MirrorMaker 2 offset syncs: target "
                 "(mm2-offset-syncs.<source>.internal) or source "
                 "(mm2-offset-syncs.<target>.internal)."),
          Def<S>("checkpoint_interval", &S::checkpoint_interval, DurationCodec(), Literal("\"5s\""),
                 "How often consumer-group checkpoints are emitted.",
                 DurationBetween(absl::Milliseconds(100), absl::Hours(1))),
          Def<S>("heartbeat_interval", &S::heartbeat_interval, DurationCodec(), Literal("\"1s\""),
                 "How often heartbeats are emitted.",
                 DurationBetween(absl::Milliseconds(100), absl::Hours(1))),
          Def<S>("sync_group_offsets", &S::sync_group_offsets, BoolCodec(), Literal("true"),
                 "Write translated offsets into target consumer groups that have no members."),
          Def<S>("mm2_takeover", &S::mm2_takeover, BoolCodec(), Literal("false"),
                 "Taking over from MirrorMaker 2: a partition whose remote copy holds MM2's "
                 "records (no provenance) starts after the last one MM2 wrote, found through "
                 "MM2's offset syncs and the records' content; one MM2 never wrote to starts at "
                 "the earliest record."),
          Def<S>("config_sync", &S::config_sync, BoolCodec(), Literal("true"),
                 "Keep remote topic configs equal to the source's (at creation and periodically)."),
          Def<S>("config_sync_interval", &S::config_sync_interval, DurationCodec(),
                 Literal("\"30s\""), "How often remote topic configs are compared and synced.",
                 DurationBetween(absl::Seconds(1), absl::Hours(24))),
          Def<S>("config_exclude", &S::config_exclude, PatternListCodec(),
                 Literal(R"(["follower\\.replication\\.throttled\\.replicas", )"
                         R"("leader\\.replication\\.throttled\\.replicas", )"
                         R"("message\\.timestamp\\.difference\\.max\\.ms", )"
                         R"("message\\.timestamp\\.type", "unclean\\.leader\\.election\\.enable", )"
                         R"("min\\.insync\\.replicas"])"),
                 "Topic configs never copied (RE2, whole name); a target override of one is kept. "
                 "Default: MirrorMaker 2's list."),
          Def<S>("config_use_defaults_from", &S::config_use_defaults_from,
                 EnumCodec<ConfigDefaultsFrom>({{"target", ConfigDefaultsFrom::kTarget},
                                                {"source", ConfigDefaultsFrom::kSource}}),
                 Literal("\"target\""),
                 "A config at its default on the source: target resets it to the target's default, "
                 "source sets the source's default value."),
          Def<S>("acl_sync", &S::acl_sync, BoolCodec(), Literal("true"),
                 "Mirror topic and consumer-group ACLs onto the target (periodically)."),
          Def<S>("acl_sync_interval", &S::acl_sync_interval, DurationCodec(), Literal("\"30s\""),
                 "How often ACLs are compared and synced.",
                 DurationBetween(absl::Seconds(1), absl::Hours(24))),
          Def<S>("acl_copy_write", &S::acl_copy_write, BoolCodec(), Literal("false"),
                 "Copy ALLOW WRITE topic ACLs (off: only kmirror writes remote topics)."),
          Def<S>("acl_downgrade_all", &S::acl_downgrade_all, BoolCodec(), Literal("true"),
                 "Copy ALLOW ALL topic ACLs as ALLOW READ."),
          Def<S>("acl_copy_deny", &S::acl_copy_deny, BoolCodec(), Literal("true"),
                 "Copy DENY ACLs."),
          Def<S>("acl_sync_groups", &S::acl_sync_groups, BoolCodec(), Literal("true"),
                 "Copy ACLs of consumer groups selected by groups/groups_exclude."),
          Def<S>("acl_remove_stale", &S::acl_remove_stale, BoolCodec(), Literal("true"),
                 "Remove ACLs kmirror created once they no longer follow from the source."),
          PropertiesDef<S>(
              "source_kafka", &S::source_kafka, &S::source_kafka_secret_refs,
              {{"bootstrap.servers", "set bootstrap_servers in the source cluster's table instead"},
               {"group.id", "set this flow's group_id instead"}},
              "librdkafka properties for this flow's consumers; override the cluster's."),
          PropertiesDef<S>(
              "target_kafka", &S::target_kafka, &S::target_kafka_secret_refs,
              WithManagedProducerKeys({{"bootstrap.servers",
                                        "set bootstrap_servers in the target cluster's table "
                                        "instead"}}),
              "librdkafka properties for this flow's producers; override the cluster's."),
      }));
  return *section;
}

const Section<MetricsConfig>& MetricsSection() {
  using S = MetricsConfig;
  static const auto* section = new Section<S>(MakeSection<S>(
      "metrics",
      {
          Def<S>("listen", &S::listen, StringCodec(), Literal("\"127.0.0.1:9464\""),
                 "Prometheus endpoint host:port (port 0: any); empty disables it.", ListenAddress),
      }));
  return *section;
}

const Section<ControlConfig>& ControlSection() {
  using S = ControlConfig;
  static const auto* section = new Section<S>(MakeSection<S>(
      "control",
      {
          Def<S>("socket", &S::socket, StringCodec(), Literal("\"/run/kmirror/kmirrord.sock\""),
                 "Unix socket of the control API used by kmirrorctl.", SocketPath),
          Def<S>("socket_group", &S::socket_group, StringCodec(), Literal("\"\""),
                 "Group owning the socket; its members may use the control API (root and the "
                 "daemon's user always may). Empty: the daemon's group."),
          Def<S>("tcp_listen", &S::tcp_listen, StringCodec(), Literal("\"\""),
                 "Optional loopback host:port (port 0: any) also serving the control API, with a "
                 "bearer token; empty disables it.",
                 LoopbackListenAddress),
          Def<S>("token_file", &S::token_file, StringCodec(), Literal("\"\""),
                 "File holding the bearer token TCP clients must send; required with tcp_listen."),
      }));
  return *section;
}

}  // namespace internal

std::vector<FieldDoc> DescribeFields() {
  std::vector<FieldDoc> out;
  auto add = [&out](const auto& section) {
    for (const auto& field : section.fields) out.push_back(field.doc);
  };
  add(internal::DaemonSection());
  add(internal::ClusterSection());
  add(internal::FlowSection());
  add(internal::MetricsSection());
  add(internal::ControlSection());
  return out;
}

}  // namespace kmirror::config
