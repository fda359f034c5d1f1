// PRIVATE to lib/config (includes toml11; never include it from outside this folder).
//
// The machinery behind "configuration is declared once": a Field<S> couples a key of section S
// with its documentation, its reader (type check, default, validation) and its printer. The tables
// of fields live in fields.cc; config.cc walks the document and cross-checks sections.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/config/config.h"
#include "toml.hpp"

namespace kmirror::config::internal {

// std::map tables: keys are visited in a stable (sorted) order, so errors are deterministic.
using Value = toml::basic_value<toml::discard_comments, std::map, std::vector>;
using Table = Value::table_type;

// Reading state: where errors go and the caller's hooks.
class Context {
 public:
  Context(const LoadOptions& options, ConfigErrors& errors) : options_(options), errors_(errors) {}

  void Error(std::string path, std::string message) {
    errors_.Add(std::move(path), std::move(message));
  }
  absl::StatusOr<std::string> ReadSecret(const SecretRef& ref) const {
    return options_.read_secret ? options_.read_secret(ref) : config::ReadSecret(ref);
  }
  std::optional<std::string> ValidateProperty(const std::string& name,
                                              const std::string& value) const {
    if (!options_.validate_client_property) return std::nullopt;
    return options_.validate_client_property(name, value);
  }

 private:
  const LoadOptions& options_;
  ConfigErrors& errors_;
};

// A TOML key, bare when it can be ("kafka"), quoted otherwise ("\"sasl.mechanism\"").
std::string QuoteKey(std::string_view key);
// "a.b" + "c" -> "a.b.c"; "" + "daemon" -> "daemon"; quotes `key` when needed.
std::string Join(const std::string& path, std::string_view key);
// "flows" + 2 -> "flows[2]".
std::string Index(const std::string& path, size_t index);
// A TOML basic string literal with escapes: "a\"b".
std::string TomlString(std::string_view s);
// "string", "integer", "table", ... as a user would call the TOML type of `v`.
std::string TypeName(const Value& v);
// "expected <what>, got <type of v>".
std::string Expected(std::string_view what, const Value& v);
// "host:port" or "[v6addr]:port" -> (host without brackets, port); nullopt when malformed.
std::optional<std::pair<std::string, uint16_t>> SplitHostPort(std::string_view s);
// "unknown key" plus " (did you mean <closest>?)" when a known key is a few edits away. In a
// nested table (`nested`), a top-level section name gets a hint about TOML's table scoping.
std::string UnknownKeyMessage(std::string_view key, const std::vector<std::string>& known,
                              bool nested);

template <typename S>
struct Field {
  FieldDoc doc;  // doc.section is filled by the section table
  // Printed as its own [sub.table] after the scalar keys (client property tables).
  bool is_table = false;
  // Reads the value (`value` is null when the key is absent: apply the default or report
  // "required") into `out`, reporting problems at `path`.
  std::function<void(Context& ctx, const std::string& path, const Value* value, S& out)> read;
  // Scalar fields: the TOML literal of the current value. Table fields: its "key = value" lines
  // (secrets masked), empty when the table is empty.
  std::function<std::string(const S& in)> format;
};

template <typename S>
struct Section {
  std::string name;  // FieldDoc::section
  std::vector<Field<S>> fields;

  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    for (const Field<S>& f : fields) keys.push_back(f.doc.key);
    return keys;
  }
};

const Section<DaemonConfig>& DaemonSection();
const Section<ClusterConfig>& ClusterSection();
const Section<FlowConfig>& FlowSection();
const Section<MetricsConfig>& MetricsSection();
const Section<ControlConfig>& ControlSection();

// Reads every field of `section` from `table` into `out` (defaults for absent keys) and reports
// keys the section does not know.
template <typename S>
void ReadSection(Context& ctx, const std::string& path, const Table& table,
                 const Section<S>& section, S& out) {
  for (const Field<S>& field : section.fields) {
    auto it = table.find(field.doc.key);
    field.read(ctx, Join(path, field.doc.key), it == table.end() ? nullptr : &it->second, out);
  }
  const std::vector<std::string> known = section.Keys();
  for (const auto& [key, value] : table) {
    bool found = false;
    for (const std::string& k : known) found = found || k == key;
    if (!found) ctx.Error(Join(path, key), UnknownKeyMessage(key, known, !path.empty()));
  }
}

// Prints `in` as TOML: `header` ("[daemon]", "[[flows]]"), the scalar keys, then each non-empty
// table field as "[<table_prefix>.<key>]".
template <typename S>
std::string FormatSection(std::string_view header, const std::string& table_prefix, const S& in,
                          const Section<S>& section) {
  std::string out(header);
  out += '\n';
  for (const Field<S>& field : section.fields) {
    if (field.is_table) continue;
    out += QuoteKey(field.doc.key) + " = " + field.format(in) + "\n";
  }
  for (const Field<S>& field : section.fields) {
    if (!field.is_table) continue;
    const std::string body = field.format(in);
    if (body.empty()) continue;
    out += "\n[" + Join(table_prefix, field.doc.key) + "]\n" + body;
  }
  return out;
}

}  // namespace kmirror::config::internal
