#include "lib/mm2import/mm2_import.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace kmirror::mm2import {
namespace {

// ---- java.util.Properties ------------------------------------------------------------------

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\f'; }

// Joins continued lines into logical lines; comment lines dropped.
std::vector<std::string> LogicalLines(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  bool continuing = false;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t b = 0;
    while (b < line.size() && IsSpace(line[b])) ++b;
    line.remove_prefix(b);
    if (!continuing && (line.empty() || line[0] == '#' || line[0] == '!')) continue;
    // An odd number of trailing backslashes continues the line.
    size_t slashes = 0;
    while (slashes < line.size() && line[line.size() - 1 - slashes] == '\\') ++slashes;
    continuing = slashes % 2 == 1;
    if (continuing) line.remove_suffix(1);
    current.append(line.data(), line.size());
    if (!continuing) {
      out.push_back(std::move(current));
      current.clear();
    }
  }
  if (!current.empty()) out.push_back(std::move(current));
  return out;
}

std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    switch (c) {
      case 't':
        out += '\t';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        uint32_t cp = 0;
        if (i + 4 < s.size()) {
          std::string hex(s.substr(i + 1, 4));
          cp = static_cast<uint32_t>(std::strtoul(hex.c_str(), nullptr, 16));
          i += 4;
        }
        // UTF-8 encode (BMP only, as Java's \u escapes are UTF-16 code units).
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
        break;
      }
      default:
        out += c;
    }
  }
  return out;
}

// ---- TOML output -----------------------------------------------------------------------------

std::string TomlString(absl::string_view s) {
  // Literal strings keep regular expressions readable; basic strings otherwise.
  if (s.find('\'') == absl::string_view::npos && s.find('\n') == absl::string_view::npos) {
    return absl::StrCat("'", s, "'");
  }
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string TomlKey(absl::string_view k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-';
  });
  return bare ? std::string(k) : absl::StrCat("\"", k, "\"");
}

std::string TomlList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const auto& i : items) quoted.push_back(TomlString(i));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

// ---- client properties -----------------------------------------------------------------------

enum class Client { kAny, kConsumer, kProducer };

// Java client property -> librdkafka property (same name unless given).
struct ClientProperty {
  Client client;
  std::string librdkafka;
};
const std::map<std::string, ClientProperty>& ClientProperties() {
  static const auto* table = new std::map<std::string, ClientProperty>{
      {"security.protocol", {Client::kAny, ""}},
      {"sasl.mechanism", {Client::kAny, ""}},
      {"sasl.kerberos.service.name", {Client::kAny, ""}},
      {"client.id", {Client::kAny, ""}},
      {"client.rack", {Client::kAny, ""}},
      {"ssl.endpoint.identification.algorithm", {Client::kAny, ""}},
      {"ssl.keystore.location", {Client::kAny, ""}},
      {"ssl.keystore.password", {Client::kAny, ""}},
      {"ssl.key.password", {Client::kAny, ""}},
      {"reconnect.backoff.ms", {Client::kAny, ""}},
      {"reconnect.backoff.max.ms", {Client::kAny, ""}},
      {"retry.backoff.ms", {Client::kAny, ""}},
      {"metadata.max.age.ms", {Client::kAny, ""}},
      {"connections.max.idle.ms", {Client::kAny, ""}},
      {"socket.connection.setup.timeout.ms", {Client::kAny, ""}},
      {"receive.buffer.bytes", {Client::kAny, "socket.receive.buffer.bytes"}},
      {"send.buffer.bytes", {Client::kAny, "socket.send.buffer.bytes"}},
      {"fetch.min.bytes", {Client::kConsumer, ""}},
      {"fetch.max.bytes", {Client::kConsumer, ""}},
      {"max.partition.fetch.bytes", {Client::kConsumer, ""}},
      {"fetch.max.wait.ms", {Client::kConsumer, "fetch.wait.max.ms"}},
      {"session.timeout.ms", {Client::kConsumer, ""}},
      {"heartbeat.interval.ms", {Client::kConsumer, ""}},
      {"max.poll.interval.ms", {Client::kConsumer, ""}},
      {"isolation.level", {Client::kConsumer, ""}},
      {"linger.ms", {Client::kProducer, ""}},
      {"batch.size", {Client::kProducer, ""}},
      {"compression.type", {Client::kProducer, ""}},
      {"acks", {Client::kProducer, ""}},
      {"request.timeout.ms", {Client::kProducer, ""}},
      {"delivery.timeout.ms", {Client::kProducer, ""}},
      {"max.request.size", {Client::kProducer, "message.max.bytes"}},
      {"enable.idempotence", {Client::kProducer, ""}},
      {"max.in.flight.requests.per.connection", {Client::kProducer, "max.in.flight"}},
  };
  return *table;
}

// Kafka Connect worker settings that MM2's dedicated mode needs and kmirror does not.
bool IsConnectInternal(absl::string_view key) {
  for (absl::string_view p :
       {"config.storage.", "offset.storage.", "status.storage.", "key.converter", "value.converter",
        "header.converter", "dedicated.mode.", "listeners", "rest.", "plugin.path", "tasks.max",
        "group.id", "offset.flush.", "task.shutdown.", "connector.class", "name",
        "consumer.client.id", "producer.client.id"}) {
    if (key == p || absl::StartsWith(key, p)) return true;
  }
  return false;
}

// ---- the converter ---------------------------------------------------------------------------

struct ClusterOut {
  std::string bootstrap;
  std::vector<std::pair<std::string, std::string>> kafka;  // librdkafka name, value
};

struct FlowOut {
  std::string source, target;
  std::vector<std::string> lines;  // `key = value` lines of [[flows]]
  std::vector<std::pair<std::string, std::string>> source_kafka, target_kafka;
};

class Converter {
 public:
  explicit Converter(const Properties& p) {
    for (const auto& [k, v] : p) {
      if (!values_.count(k)) order_.push_back(k);
      values_[k] = v;
    }
  }

  absl::StatusOr<Conversion> Run(const std::string& source_name);

 private:
  std::optional<std::string> Get(const std::string& key) {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    handled_.insert(key);
    return it->second;
  }
  // A flow setting: `A->B.key`, else the global `key`.
  // `last_key_` names the property that supplied the value, for reports.
  std::optional<std::string> FlowGet(const FlowOut& f, const std::string& key) {
    const std::string own_key = absl::StrCat(f.source, "->", f.target, ".", key);
    auto own = Get(own_key);
    auto global = Get(key);
    last_key_ = own ? own_key : key;
    return own ? own : global;
  }
  void NotConverted(const std::string& key, const std::string& reason) {
    handled_.insert(key);
    if (reported_.insert(key).second) not_converted_.push_back(absl::StrCat(key, ": ", reason));
  }

  std::vector<std::string> Patterns(const std::string& key, const std::string& value);
  void Interval(FlowOut& f, const std::string& mm2_key, const std::string& key, int64_t min_ms,
                int64_t max_ms);
  void Bool(FlowOut& f, const std::string& mm2_key, const std::string& key,
            std::optional<bool> mm2_default = std::nullopt);
  void ClientProps(const std::string& prefix, Client client,
                   std::vector<std::pair<std::string, std::string>>* out);
  void Jaas(const std::string& key, const std::string& value,
            std::vector<std::pair<std::string, std::string>>* out);

  std::map<std::string, std::string> values_;
  std::vector<std::string> order_;
  std::set<std::string> handled_;   // used or reported
  std::set<std::string> reported_;  // named in not_converted_
  std::vector<std::string> not_converted_;
  std::string last_key_;
};

std::vector<std::string> Converter::Patterns(const std::string& key, const std::string& value) {
  // MM2: a comma-separated list of Java regular expressions, each matching the whole name, as
  // kmirror's RE2 patterns do. Java-only syntax (lookaround, backreferences, possessive
  // quantifiers) has no RE2 equivalent: such a pattern is reported, not guessed.
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    std::string p(absl::StripAsciiWhitespace(part));
    if (p.empty()) continue;
    RE2 re(p, RE2::Quiet);
    if (!re.ok()) {
      not_converted_.push_back(
          absl::StrCat(key, ": pattern \"", p, "\" is not valid RE2 (", re.error(), "); left out"));
      continue;
    }
    out.push_back(p);
  }
  return out;
}

void Converter::Interval(FlowOut& f, const std::string& mm2_key, const std::string& key,
                         int64_t min_ms, int64_t max_ms) {
  auto v = FlowGet(f, mm2_key);
  if (!v) return;
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(*v, &seconds)) {
    not_converted_.push_back(absl::StrCat(last_key_, ": \"", *v, "\" is not a number of seconds"));
    return;
  }
  if (seconds < 0) {
    // MM2 turns the task off with -1.
    not_converted_.push_back(
        absl::StrCat(last_key_, ": ", seconds, " (disabled in MM2) has no interval equivalent"));
    return;
  }
  int64_t ms = std::clamp<int64_t>(seconds * 1000, min_ms, max_ms);
  if (ms != seconds * 1000) {
    not_converted_.push_back(absl::StrCat(last_key_, ": ", seconds,
                                          "s is outside kmirror's range for ", key, "; ",
                                          ms / 1000.0, "s used"));
  }
  f.lines.push_back(absl::StrCat(key, " = ", TomlString(absl::StrCat(ms, "ms"))));
}

void Converter::Bool(FlowOut& f, const std::string& mm2_key, const std::string& key,
                     std::optional<bool> mm2_default) {
  auto v = FlowGet(f, mm2_key);
  std::optional<bool> b = mm2_default;
  if (v) {
    std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*v));
    if (lower != "true" && lower != "false") {
      not_converted_.push_back(absl::StrCat(last_key_, ": \"", *v, "\" is not true or false"));
      return;
    }
    b = lower == "true";
  }
  if (b) f.lines.push_back(absl::StrCat(key, " = ", *b ? "true" : "false"));
}

void Converter::Jaas(const std::string& key, const std::string& value,
                     std::vector<std::pair<std::string, std::string>>* out) {
  // PLAIN and SCRAM logins carry a user name and password; other login modules (Kerberos,
  // OAuth) are configured differently in librdkafka.
  if (value.find("PlainLoginModule") == std::string::npos &&
      value.find("ScramLoginModule") == std::string::npos) {
    NotConverted(key, "only PLAIN and SCRAM JAAS logins convert (set sasl.* for librdkafka)");
    return;
  }
  std::string user, password;
  static const RE2 kUser(R"re(username\s*=\s*"([^"]*)")re");
  static const RE2 kPassword(R"re(password\s*=\s*"([^"]*)")re");
  if (!RE2::PartialMatch(value, kUser, &user) || !RE2::PartialMatch(value, kPassword, &password)) {
    NotConverted(key, "no username=\"...\" and password=\"...\" found");
    return;
  }
  handled_.insert(key);
  out->emplace_back("sasl.username", user);
  out->emplace_back("sasl.password", password);
}

void Converter::ClientProps(const std::string& prefix, Client client,
                            std::vector<std::pair<std::string, std::string>>* out) {
  for (const std::string& key : order_) {
    // Shared prefixes (`consumer.`, `A.consumer.`) apply to every flow they concern.
    if (!absl::StartsWith(key, prefix) || reported_.count(key)) continue;
    const std::string name = key.substr(prefix.size());
    const std::string& value = values_[key];
    if (name == "sasl.jaas.config") {
      Jaas(key, value, out);
      continue;
    }
    if (name == "auto.offset.reset") continue;  // becomes start_from
    if (absl::StartsWith(name, "ssl.truststore.")) {
      NotConverted(key, "librdkafka reads trusted CAs from PEM: set ssl.ca.location");
      continue;
    }
    if (name == "ssl.keystore.type") {
      if (absl::AsciiStrToUpper(value) == "PKCS12") {
        handled_.insert(key);  // librdkafka's ssl.keystore.location is PKCS#12
      } else {
        NotConverted(key, "librdkafka keystores are PKCS#12; convert the " + value + " keystore");
      }
      continue;
    }
    auto it = ClientProperties().find(name);
    if (it == ClientProperties().end()) continue;  // reported with the leftovers
    if (it->second.client != Client::kAny && client != Client::kAny &&
        it->second.client != client) {
      continue;
    }
    if (it->second.client != Client::kAny && client == Client::kAny) continue;
    handled_.insert(key);
    std::string v = value;
    if (name == "security.protocol" || name == "compression.type") v = absl::AsciiStrToLower(v);
    out->emplace_back(it->second.librdkafka.empty() ? name : it->second.librdkafka, v);
  }
}

absl::StatusOr<Conversion> Converter::Run(const std::string& source_name) {
  auto clusters_value = Get("clusters");
  if (!clusters_value) return absl::InvalidArgumentError("no `clusters` property: not an MM2 file");
  std::vector<std::string> aliases;
  for (absl::string_view a : absl::StrSplit(*clusters_value, ',')) {
    std::string alias(absl::StripAsciiWhitespace(a));
    if (!alias.empty()) aliases.push_back(alias);
  }
  std::map<std::string, ClusterOut> clusters;
  for (const std::string& a : aliases) {
    auto bootstrap = Get(a + ".bootstrap.servers");
    if (!bootstrap) return absl::InvalidArgumentError(a + ".bootstrap.servers is not set");
    clusters[a].bootstrap = *bootstrap;
  }
  // Cluster-wide client properties (`A.security.protocol`, `A.sasl.jaas.config`, ...).
  for (const std::string& a : aliases) ClientProps(a + ".", Client::kAny, &clusters[a].kafka);

  std::vector<FlowOut> flows;
  for (const std::string& s : aliases) {
    for (const std::string& t : aliases) {
      if (s == t) continue;
      const std::string enabled_key = s + "->" + t + ".enabled";
      auto enabled = Get(enabled_key);
      if (!enabled) continue;
      if (absl::AsciiStrToLower(*enabled) != "true") {
        NotConverted(enabled_key, "flow disabled in MM2; not converted");
        continue;
      }
      FlowOut f{s, t, {}, {}, {}};

      if (auto v = FlowGet(f, "topics")) {
        f.lines.push_back("topics = " + TomlList(Patterns(last_key_, *v)));
      }
      for (const char* k : {"topics.exclude", "topics.blacklist"}) {
        if (auto v = FlowGet(f, k)) {
          f.lines.push_back("topics_exclude = " + TomlList(Patterns(last_key_, *v)));
        }
      }
      if (auto v = FlowGet(f, "groups")) {
        f.lines.push_back("groups = " + TomlList(Patterns(last_key_, *v)));
      }
      for (const char* k : {"groups.exclude", "groups.blacklist"}) {
        if (auto v = FlowGet(f, k)) {
          f.lines.push_back("groups_exclude = " + TomlList(Patterns(last_key_, *v)));
        }
      }
      if (auto v = FlowGet(f, "replication.policy.class")) {
        if (absl::EndsWith(*v, "IdentityReplicationPolicy")) {
          f.lines.push_back("replication_policy = \"identity\"");
        } else if (absl::EndsWith(*v, "DefaultReplicationPolicy")) {
          f.lines.push_back("replication_policy = \"prefix\"");
        } else {
          not_converted_.push_back(last_key_ + ": custom policy " + *v +
                                   " has no kmirror equivalent; prefix naming used");
        }
      }
      if (auto v = FlowGet(f, "replication.policy.separator")) {
        f.lines.push_back("separator = " + TomlString(*v));
      }
      if (auto v = FlowGet(f, "replication.factor")) {
        int rf = 0;
        if (absl::SimpleAtoi(*v, &rf)) {
          f.lines.push_back(absl::StrCat("replication_factor = ", rf));
        } else {
          not_converted_.push_back(last_key_ + ": \"" + *v + "\" is not a number");
        }
      }
      Interval(f, "refresh.topics.interval.seconds", "topic_refresh_interval", 1000, 600000);
      Bool(f, "emit.checkpoints.enabled", "emit_checkpoints");
      Interval(f, "emit.checkpoints.interval.seconds", "checkpoint_interval", 100, 3600000);
      Bool(f, "emit.heartbeats.enabled", "emit_heartbeats");
      Interval(f, "emit.heartbeats.interval.seconds", "heartbeat_interval", 100, 3600000);
      // MM2 leaves group offsets alone unless told; kmirror syncs them by default.
      Bool(f, "sync.group.offsets.enabled", "sync_group_offsets", /*mm2_default=*/false);
      Bool(f, "sync.topic.configs.enabled", "config_sync");
      Interval(f, "sync.topic.configs.interval.seconds", "config_sync_interval", 1000, 86400000);
      Bool(f, "sync.topic.acls.enabled", "acl_sync");
      Interval(f, "sync.topic.acls.interval.seconds", "acl_sync_interval", 1000, 86400000);
      if (auto v = FlowGet(f, "config.properties.exclude")) {
        f.lines.push_back("config_exclude = " + TomlList(Patterns(last_key_, *v)));
      }
      // The flow takes over where MM2 stopped instead of copying everything again.
      f.lines.push_back("mm2_takeover = true");
      // MM2 keeps offset syncs on the source by default; keep them where MM2's tools look.
      {
        auto v = FlowGet(f, "offset-syncs.topic.location");
        std::string where = v ? absl::AsciiStrToLower(*v) : "source";
        if (where == "source" || where == "target") {
          f.lines.push_back("offset_syncs_location = \"" + where + "\"");
        } else {
          not_converted_.push_back(last_key_ + ": \"" + *v + "\" is neither source nor target");
        }
      }
      // Where a partition with no progress starts: the source consumer's auto.offset.reset.
      for (const std::string& k :
           {s + ".consumer.auto.offset.reset", std::string("consumer.auto.offset.reset")}) {
        if (auto v = Get(k)) {
          std::string reset = absl::AsciiStrToLower(*v);
          if (reset == "earliest" || reset == "latest") {
            f.lines.push_back("start_from = \"" + reset + "\"");
          } else {
            not_converted_.push_back(k + ": \"" + *v + "\" has no start_from equivalent");
          }
          break;
        }
      }
      ClientProps(s + ".consumer.", Client::kConsumer, &f.source_kafka);
      ClientProps("consumer.", Client::kConsumer, &f.source_kafka);
      ClientProps(t + ".producer.", Client::kProducer, &f.target_kafka);
      ClientProps("producer.", Client::kProducer, &f.target_kafka);
      flows.push_back(std::move(f));
    }
  }
  if (flows.empty()) {
    return absl::InvalidArgumentError(
        "no enabled flow: set `A->B.enabled = true` for each direction to replicate");
  }

  // Everything not consumed above is reported, with the most useful reason we know.
  for (const std::string& key : order_) {
    if (handled_.count(key)) continue;
    if (IsConnectInternal(key)) {
      NotConverted(key, "Kafka Connect setting; kmirror needs no Connect cluster");
    } else if (absl::StrContains(key, "->") && absl::EndsWith(key, ".enabled")) {
      NotConverted(key, "flow not enabled; not converted");
    } else if (absl::StrContains(key, ".admin.") || absl::StartsWith(key, "admin.")) {
      NotConverted(key,
                   "admin client overrides: kmirror's admin clients use the cluster's kafka "
                   "table");
    } else if (absl::StrContains(key, "offset.lag.max")) {
      NotConverted(key, "not needed: kmirror translates offsets exactly");
    } else if (absl::StrContains(key, "replication.factor")) {
      NotConverted(key, "internal topic replication factor: the target broker's default is used");
    } else {
      NotConverted(key, "no kmirror equivalent");
    }
  }

  // A global setting read for several flows is reported once.
  std::vector<std::string> unique;
  for (auto& n : not_converted_) {
    if (std::find(unique.begin(), unique.end(), n) == unique.end()) unique.push_back(std::move(n));
  }
  not_converted_ = std::move(unique);

  std::string toml = absl::StrCat("# kmirrord configuration converted from the MirrorMaker 2 file ",
                                  source_name, " by `kmirrorctl import-mm2`.\n",
                                  "# Check it with: kmirrord --check-config <this file>\n");
  if (!not_converted_.empty()) {
    absl::StrAppend(&toml, "#\n# Not carried over (", not_converted_.size(), "):\n");
    for (const auto& n : not_converted_) absl::StrAppend(&toml, "#   ", n, "\n");
  }
  for (const auto& [alias, c] : clusters) {
    absl::StrAppend(&toml, "\n[clusters.", TomlKey(alias),
                    "]\nbootstrap_servers = ", TomlString(c.bootstrap), "\n");
    if (!c.kafka.empty()) {
      absl::StrAppend(&toml, "[clusters.", TomlKey(alias), ".kafka]\n");
      for (const auto& [k, v] : c.kafka) {
        if (absl::EndsWith(k, "password")) {
          absl::StrAppend(&toml, "# Better kept out of this file: { file = \"/etc/kmirror/", alias,
                          ".pass\" } (mode 0640, group kmirror) or { env = \"NAME\" }.\n");
        }
        absl::StrAppend(&toml, "\"", k, "\" = ", TomlString(v), "\n");
      }
    }
  }
  for (const FlowOut& f : flows) {
    absl::StrAppend(&toml, "\n[[flows]]\nsource = ", TomlString(f.source),
                    "\ntarget = ", TomlString(f.target), "\n");
    for (const auto& l : f.lines) absl::StrAppend(&toml, l, "\n");
    for (const auto& [table, props] :
         {std::pair{"source_kafka", &f.source_kafka}, std::pair{"target_kafka", &f.target_kafka}}) {
      if (props->empty()) continue;
      absl::StrAppend(&toml, "[flows.", table, "]\n");
      for (const auto& [k, v] : *props)
        absl::StrAppend(&toml, "\"", k, "\" = ", TomlString(v), "\n");
    }
  }
  return Conversion{std::move(toml), std::move(not_converted_)};
}

}  // namespace

Properties ParseProperties(const std::string& text) {
  Properties out;
  for (const std::string& line : LogicalLines(text)) {
    // The key ends at the first unescaped '=', ':' or whitespace.
    size_t i = 0;
    while (i < line.size() && line[i] != '=' && line[i] != ':' && !IsSpace(line[i])) {
      if (line[i] == '\\') ++i;
      ++i;
    }
    std::string key = Unescape(absl::string_view(line).substr(0, std::min(i, line.size())));
    while (i < line.size() && IsSpace(line[i])) ++i;
    if (i < line.size() && (line[i] == '=' || line[i] == ':')) ++i;
    while (i < line.size() && IsSpace(line[i])) ++i;
    std::string value = Unescape(absl::string_view(line).substr(std::min(i, line.size())));
    // Trailing whitespace is kept by Java but is never meaningful in MM2 files.
    while (!value.empty() && IsSpace(value.back())) value.pop_back();
    if (!key.empty()) out.emplace_back(std::move(key), std::move(value));
  }
  return out;
}

absl::StatusOr<Conversion> ConvertMm2(const Properties& properties,
                                      const std::string& source_name) {
  return Converter(properties).Run(source_name);
}

}  // namespace kmirror::mm2import
