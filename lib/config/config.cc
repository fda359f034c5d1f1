#include "lib/config/config.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/common/status.h"
#include "lib/config/fields_internal.h"

namespace kmirror::config {

std::string_view ToString(ReplicationPolicyKind kind) {
  return kind == ReplicationPolicyKind::kPrefix ? "prefix" : "identity";
}
std::string_view ToString(StartFrom start) {
  return start == StartFrom::kEarliest ? "earliest" : "latest";
}
std::string_view ToString(RetentionLossPolicy policy) {
  return policy == RetentionLossPolicy::kContinue ? "continue" : "stop";
}

namespace {

using internal::Context;
using internal::Expected;
using internal::Index;
using internal::Join;
using internal::Table;
using internal::TomlString;
using internal::Value;

const std::vector<std::string>& RootKeys() {
  static const auto* keys =
      new std::vector<std::string>{"daemon", "clusters", "flows", "metrics", "control"};
  return *keys;
}

// toml11's what() is "[error] toml::parse_xxx: <what>" followed by an annotated excerpt of the
// source. Only the first line is kept: the excerpt could show a secret written inline. Line and
// column come from the excerpt's caret ("^---" / "~~~"), which is more precise than location().
std::string SyntaxErrorMessage(const std::string& what, size_t fallback_line,
                               size_t fallback_column) {
  std::vector<std::string> lines;
  std::istringstream in(what);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::string message = lines.empty() ? "invalid TOML" : lines[0];
  if (message.starts_with("[error] ")) message.erase(0, 8);
  if (message.starts_with("toml::")) {
    const size_t colon = message.find(": ");
    if (colon != std::string::npos) message.erase(0, colon + 2);
  }
  size_t line_no = fallback_line;
  size_t column = fallback_column;
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::string& src = lines[i];
    const std::string& marks = lines[i + 1];
    const size_t bar = src.find(" | ");
    if (bar == std::string::npos || marks.size() <= bar + 3 || marks.compare(bar, 3, " | ") != 0) {
      continue;
    }
    size_t number = 0;
    bool digits = false;
    for (size_t k = 0; k < bar; ++k) {
      if (src[k] == ' ') continue;
      if (src[k] < '0' || src[k] > '9') {
        digits = false;
        break;
      }
      number = number * 10 + static_cast<size_t>(src[k] - '0');
      digits = true;
    }
    const size_t mark = marks.find_first_of("^~", bar + 3);
    if (!digits || mark == std::string::npos) continue;
    line_no = number;
    column = mark - (bar + 3) + 1;
  }
  return fmt::format("line {}, column {}: {}", line_no, column, message);
}

std::optional<Value> ParseToml(std::string_view text, ConfigErrors& errors) {
  std::istringstream in{std::string(text)};
  try {
    return toml::parse<toml::discard_comments, std::map, std::vector>(in, "kmirrord.toml");
  } catch (const toml::syntax_error& e) {
    errors.Add("", SyntaxErrorMessage(e.what(), e.location().line(), e.location().column()));
  } catch (const std::exception& e) {
    errors.Add("", SyntaxErrorMessage(e.what(), 0, 0));
  }
  return std::nullopt;
}

bool IsValidAlias(std::string_view alias) {
  if (alias.empty()) return false;
  for (char c : alias) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "kmirrord";
  return name;
}

// Returns the table at `key` of `root`, reporting a wrong type; null when absent or wrong.
const Table* SubTable(Context& ctx, const Table& root, const std::string& key) {
  auto it = root.find(key);
  if (it == root.end()) return nullptr;
  if (!it->second.is_table()) {
    ctx.Error(Join("", key), Expected("table", it->second));
    return nullptr;
  }
  return &it->second.as_table();
}

void ReadClusters(Context& ctx, const Table& root, Config& config) {
  auto it = root.find("clusters");
  if (it == root.end()) {
    ctx.Error("clusters", "at least one cluster is required ([clusters.<alias>])");
    return;
  }
  if (!it->second.is_table()) {
    ctx.Error("clusters", Expected("table of clusters ([clusters.<alias>])", it->second));
    return;
  }
  if (it->second.as_table().empty()) {
    ctx.Error("clusters", "at least one cluster is required ([clusters.<alias>])");
  }
  for (const auto& [alias, value] : it->second.as_table()) {
    const std::string path = Join("clusters", alias);
    if (!value.is_table()) {
      ctx.Error(path, Expected("table ([clusters.<alias>])", value));
      continue;
    }
    if (!IsValidAlias(alias)) {
      ctx.Error(path, fmt::format("invalid cluster alias {}: use letters, digits, '_' and '-'",
                                  TomlString(alias)));
    }
    ClusterConfig cluster;
    cluster.alias = alias;
    internal::ReadSection(ctx, path, value.as_table(), internal::ClusterSection(), cluster);
    config.clusters[alias] = std::move(cluster);
  }
}

void ReadFlows(Context& ctx, const Table& root, Config& config) {
  auto it = root.find("flows");
  if (it == root.end()) {
    ctx.Error("flows", "at least one flow is required ([[flows]])");
    return;
  }
  if (!it->second.is_array()) {
    ctx.Error("flows", Expected("array of tables ([[flows]])", it->second));
    return;
  }
  const auto& array = it->second.as_array();
  if (array.empty()) ctx.Error("flows", "at least one flow is required ([[flows]])");
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string path = Index("flows", i);
    FlowConfig flow;
    if (!array[i].is_table()) {
      ctx.Error(path, Expected("table ([[flows]])", array[i]));
    } else {
      internal::ReadSection(ctx, path, array[i].as_table(), internal::FlowSection(), flow);
    }
    config.flows.push_back(std::move(flow));
  }
}

std::string DefinedAliases(const Config& config) {
  std::string out;
  for (const auto& [alias, cluster] : config.clusters) out += (out.empty() ? "" : ", ") + alias;
  return out.empty() ? "none" : out;
}

// Rules spanning several keys or sections. Values that failed to parse are empty and skipped:
// their own error has been reported.
void CheckFlows(Context& ctx, Config& config) {
  for (size_t i = 0; i < config.flows.size(); ++i) {
    FlowConfig& flow = config.flows[i];
    const std::string path = Index("flows", i);
    bool aliases_ok = true;
    for (const auto& [key, alias] :
         {std::pair<const char*, const std::string&>{"source", flow.source},
          {"target", flow.target}}) {
      if (alias.empty()) {
        aliases_ok = false;
      } else if (config.clusters.count(alias) == 0) {
        ctx.Error(Join(path, key), fmt::format("unknown cluster alias {} (defined: {})",
                                               TomlString(alias), DefinedAliases(config)));
        aliases_ok = false;
      }
    }
    if (!flow.source.empty() && flow.source == flow.target) {
      ctx.Error(path, "a flow cannot replicate a cluster to itself");
      aliases_ok = false;
    }
    if (flow.group_id.empty() && !flow.source.empty() && !flow.target.empty()) {
      flow.group_id = fmt::format("kmirror.{}-{}", flow.source, flow.target);
    }
    for (size_t j = 0; j < i; ++j) {
      const FlowConfig& other = config.flows[j];
      if (flow.source.empty() || flow.target.empty()) break;
      if (other.source == flow.source && other.target == flow.target) {
        ctx.Error(path, fmt::format("duplicate flow {} (also {})", flow.name(), Index("flows", j)));
      } else if (other.source == flow.source && other.group_id == flow.group_id) {
        ctx.Error(Join(path, "group_id"),
                  fmt::format("{} is already used by {} on the same source cluster {}",
                              TomlString(flow.group_id), Index("flows", j), flow.source));
      }
    }
    if (aliases_ok && flow.replication_policy == ReplicationPolicyKind::kPrefix &&
        !flow.separator.empty()) {
      for (const std::string* alias : {&flow.source, &flow.target}) {
        if (alias->find(flow.separator) != std::string::npos) {
          ctx.Error(Join(path, "separator"),
                    fmt::format("{} occurs in cluster alias {}: remote topic names would be "
                                "ambiguous",
                                TomlString(flow.separator), TomlString(*alias)));
        }
      }
    }
  }
  // Identity naming both ways: names cannot show where a record came from, only the provenance
  // header can stop records from looping A -> B -> A.
  for (size_t i = 0; i < config.flows.size(); ++i) {
    const FlowConfig& flow = config.flows[i];
    if (flow.replication_policy != ReplicationPolicyKind::kIdentity || flow.provenance) continue;
    for (const FlowConfig& other : config.flows) {
      if (other.source == flow.target && other.target == flow.source && !flow.source.empty() &&
          other.replication_policy == ReplicationPolicyKind::kIdentity) {
        ctx.Error(Join(Index("flows", i), "provenance"),
                  fmt::format("must be true: flows {} and {} both use identity naming, and only "
                              "provenance stops records from looping between them",
                              flow.name(), other.name()));
        break;
      }
    }
  }
}

void ReadRoot(Context& ctx, const Value& document, Config& config) {
  const Table& root = document.as_table();
  for (const auto& [key, value] : root) {
    bool known = false;
    for (const std::string& k : RootKeys()) known = known || k == key;
    if (!known) ctx.Error(Join("", key), internal::UnknownKeyMessage(key, RootKeys(), false));
  }
  static const Table kEmpty;
  const Table* daemon = SubTable(ctx, root, "daemon");
  internal::ReadSection(ctx, "daemon", daemon ? *daemon : kEmpty, internal::DaemonSection(),
                        config.daemon);
  if (config.daemon.instance_id.empty() &&
      (daemon == nullptr || daemon->count("instance_id") == 0)) {
    config.daemon.instance_id = HostName();
  }
  ReadClusters(ctx, root, config);
  ReadFlows(ctx, root, config);
  const Table* metrics = SubTable(ctx, root, "metrics");
  internal::ReadSection(ctx, "metrics", metrics ? *metrics : kEmpty, internal::MetricsSection(),
                        config.metrics);
  if (auto host_port = internal::SplitHostPort(config.metrics.listen)) {
    config.metrics.host = host_port->first;
    config.metrics.port = host_port->second;
  }
  const Table* control = SubTable(ctx, root, "control");
  internal::ReadSection(ctx, "control", control ? *control : kEmpty, internal::ControlSection(),
                        config.control);
  if (!config.control.tcp_listen.empty() && config.control.token_file.empty()) {
    ctx.Error("control.token_file",
              "required when control.tcp_listen is set (TCP clients authenticate with the token "
              "it holds)");
  }
  CheckFlows(ctx, config);
}

ClientProperties Merge(const Config& config, const std::string& alias,
                       const ClientProperties& overrides) {
  auto it = config.clusters.find(alias);
  KM_CHECK_MSG(it != config.clusters.end(), alias);
  ClientProperties out = it->second.kafka;
  out["bootstrap.servers"] = it->second.bootstrap_servers;
  for (const auto& [key, value] : overrides) out[key] = value;
  return out;
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view toml_text, const LoadOptions& options,
                                   ConfigErrors* errors) {
  ConfigErrors found;
  Config config;
  if (std::optional<Value> document = ParseToml(toml_text, found)) {
    Context ctx(options, found);
    ReadRoot(ctx, *document, config);
  }
  if (errors != nullptr) *errors = found;
  if (!found.empty()) return found.ToStatus();
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path, const LoadOptions& options,
                                      ConfigErrors* errors) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    const int err = errno;
    const absl::StatusCode code = err == ENOENT   ? absl::StatusCode::kNotFound
                                  : err == EACCES ? absl::StatusCode::kPermissionDenied
                                                  : absl::StatusCode::kInvalidArgument;
    return absl::Status(code, fmt::format("cannot read configuration file \"{}\": {}", path,
                                          err != 0 ? std::strerror(err) : "read error"));
  }
  return ParseConfig(text.str(), options, errors);
}

std::string Config::ToMaskedString() const {
  std::string out = "# kmirrord effective configuration; secrets are shown as \"******\"\n\n";
  out += internal::FormatSection("[daemon]", "daemon", daemon, internal::DaemonSection());
  for (const auto& [alias, cluster] : clusters) {
    const std::string path = Join("clusters", alias);
    out +=
        "\n" + internal::FormatSection("[" + path + "]", path, cluster, internal::ClusterSection());
  }
  for (const FlowConfig& flow : flows) {
    out += "\n" + internal::FormatSection("[[flows]]", "flows", flow, internal::FlowSection());
  }
  out +=
      "\n" + internal::FormatSection("[metrics]", "metrics", metrics, internal::MetricsSection());
  out +=
      "\n" + internal::FormatSection("[control]", "control", control, internal::ControlSection());
  return out;
}

ClientProperties SourceProperties(const Config& config, const FlowConfig& flow) {
  return Merge(config, flow.source, flow.source_kafka);
}

ClientProperties TargetProperties(const Config& config, const FlowConfig& flow) {
  return Merge(config, flow.target, flow.target_kafka);
}

}  // namespace kmirror::config
