// kmirrorctl: the kmirror operator command. Wiring only; one CLI11 subcommand per verb, each a
// request to kmirrord's control API (lib/control) except import-mm2.
//
// Exit codes: 0 done; 1 the verb ran and failed (lag did not drain, a drill check failed);
// 2 refused (wrong state, another operation in progress, bad request); 64 usage; 69 kmirrord not
// reachable; 77 permission denied.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "lib/control/client.h"
#include "lib/mm2import/mm2_import.h"

namespace {

using nlohmann::json;

constexpr int kExitFailure = 1;
constexpr int kExitRefused = 2;
constexpr int kExitUsage = 64;
constexpr int kExitUnavailable = 69;  // the daemon cannot be reached
constexpr int kExitBusy = 75;         // the daemon answered "busy": retry
constexpr int kExitNoPermission = 77;

constexpr char kHelp[] = R"(kmirrorctl: operate kmirror (Kafka cross-cluster replication)

A DR day, in order:
  kmirrorctl status                                   is every flow running, lag small, checkpoints fresh?
  kmirrorctl drill --source A --target B              prove the plan works (canaries, exact offsets)
  kmirrorctl failover --source A --target B --planned  A is up: drain to zero lag, then switch (RPO 0)
  kmirrorctl failover --source A --target B --force    A is down: switch now, report what may be missing
      ... applications now use B (consumers resume from the synced offsets) ...
  kmirrorctl failback --source A --target B           A is back: preserve A's divergent records,
                                                       copy what was written on B back to A
  kmirrorctl failback --source A --target B --switch-back
                                                       once B's writers stopped: move groups to A and
                                                       replicate A->B again
Every verb takes --json. The daemon is found at --socket (default /run/kmirror/kmirrord.sock or
$KMIRROR_SOCKET). Exit codes: 0 done, 1 failed, 2 refused, 64 usage, 69 daemon unreachable,
75 daemon busy (retry), 77 no permission.)";

int ImportMm2(const std::string& input, const std::string& output) {
  std::ifstream in(input);
  if (!in) {
    std::fprintf(stderr, "kmirrorctl: cannot read %s\n", input.c_str());
    return kExitFailure;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto conversion =
      kmirror::mm2import::ConvertMm2(kmirror::mm2import::ParseProperties(text.str()), input);
  if (!conversion.ok()) {
    std::fprintf(stderr, "kmirrorctl: %s: %s\n", input.c_str(),
                 std::string(conversion.status().message()).c_str());
    return kExitFailure;
  }
  if (output.empty() || output == "-") {
    std::fputs(conversion->toml.c_str(), stdout);
  } else {
    std::ofstream out(output);
    out << conversion->toml;
    if (!out.flush()) {
      std::fprintf(stderr, "kmirrorctl: cannot write %s\n", output.c_str());
      return kExitFailure;
    }
  }
  if (!conversion->not_converted.empty()) {
    std::fprintf(stderr, "kmirrorctl: %zu MirrorMaker 2 setting(s) not carried over:\n",
                 conversion->not_converted.size());
    for (const auto& n : conversion->not_converted) std::fprintf(stderr, "  %s\n", n.c_str());
  }
  std::fprintf(stderr, "kmirrorctl: check the result with kmirrord --check-config\n");
  return 0;
}

// "30s", "5m", "1500ms", "2h" -> milliseconds; -1 when malformed.
int64_t ParseDuration(const std::string& text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return -1;
  }
  const std::string unit = text.substr(used);
  double scale = unit == "ms"                  ? 1
                 : unit == "s" || unit.empty() ? 1000
                 : unit == "m"                 ? 60000
                 : unit == "h"                 ? 3600000
                                               : -1;
  if (scale < 0 || v < 0) return -1;
  return static_cast<int64_t>(v * scale);
}

// body[key] when it is an array or object, else an empty one (no temporaries to iterate).
const json& Field(const json& body, const char* key) {
  static const json kEmpty = json::array();
  if (!body.is_object()) return kEmpty;
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? kEmpty : *it;
}

std::string Num(const json& v, int precision = 1) {
  if (v.is_null()) return "-";
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.*f", precision, v.get<double>());
    return buf;
  }
  if (v.is_number()) return std::to_string(v.get<int64_t>());
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

// A left-aligned text table.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t i = 0; i < header.size(); ++i) width[i] = header[i].size();
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i)
      width[i] = std::max(width[i], r[i].size());
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", out.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void PrintStatus(const json& body) {
  std::printf("instance %s\n", Num(body.value("instance", json())).c_str());
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> stopped;
  for (const auto& f : Field(body, "flows")) {
    for (const char* which : {"replication", "reverse_replication"}) {
      const bool reverse = std::string(which) == "reverse_replication";
      if (reverse && !f.contains(which)) continue;
      const json r = f.value(which, json::object());
      for (const auto& p : Field(r, "partitions")) {
        if (!p.value("stopped", false)) continue;
        const std::string partition = Num(p["topic"]) + ":" + Num(p["partition"]);
        const int64_t at = p.value("stop_offset", int64_t{-1});
        std::string line = "  STOPPED " + Num(r.value("flow", f["flow"])) + " " + partition;
        if (at >= 0) line += " at source offset " + std::to_string(at);
        line += ": " + Num(p["stop_reason"]);
        if (at >= 0) {
          line +=
              "\n    fix the cause and restart kmirrord to retry, or give the record up: "
              "kmirrorctl skip --flow \"" +
              Num(r.value("flow", f["flow"])) + "\" --partition " + partition + " --offset " +
              std::to_string(at);
        }
        stopped.push_back(std::move(line));
      }
      std::string hb = "-";
      if (r.contains("heartbeats")) {
        for (const auto& [up, h] : r["heartbeats"].items()) {
          if (hb == "-") hb.clear();
          hb += (hb.empty() ? "" : " ") + up + ":" + Num(h.value("age_seconds", json())) + "s";
        }
      }
      rows.push_back({reverse ? "  " + Num(r.value("flow", json())) + " (reverse)" : Num(f["flow"]),
                      reverse ? "" : Num(f["phase"]),
                      r.contains("partitions") ? std::to_string(r["partitions"].size()) : "-",
                      Num(r.value("lag_records", json())), Num(r.value("lag_seconds", json())),
                      Num(r.value("checkpoint_age_seconds", json())), hb,
                      f["operation_in_progress"].is_null() ? "" : Num(f["operation_in_progress"])});
    }
    // Several instances share the flow (or one stopped or went silent): each one's partitions
    // and lag, as it last reported.
    const json& instances = Field(f, "instances");
    bool all_active = true;
    for (const auto& i : instances) all_active = all_active && i.value("state", "") == "active";
    if (instances.size() > 1 || !all_active) {
      for (const auto& i : instances) {
        const json& r = Field(i, "replication");
        const std::string state = i.value("state", "");
        const std::string age = Num(i.value("age_seconds", json())) + "s ago";
        rows.push_back({"  instance " + Num(i.value("instance", json())), state,
                        r.is_object() ? Num(r.value("partitions", json())) : "-",
                        r.is_object() ? Num(r.value("lag_records", json())) : "-",
                        r.is_object() ? Num(r.value("lag_seconds", json())) : "-", "",
                        (state == "stopped" ? "stopped " : "reported ") + age, ""});
      }
    }
    if (!f["state_error"].is_null()) {
      std::printf("  %s: state error: %s\n", Num(f["flow"]).c_str(), Num(f["state_error"]).c_str());
    }
  }
  PrintTable({"FLOW", "PHASE", "PARTITIONS", "LAG", "LAG(s)", "CHECKPOINT-AGE(s)", "HEARTBEAT-AGE",
              "OPERATION"},
             rows);
  for (const std::string& line : stopped) std::printf("%s\n", line.c_str());
}

// Milliseconds since the epoch as ISO-8601 UTC ("2026-12-08T00:04:41.041Z").
std::string IsoTime(const json& ms) {
  if (!ms.is_number()) return Num(ms);
  const int64_t v = ms.get<int64_t>();
  const time_t secs = static_cast<time_t>(v / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(v % 1000));
  return buf;
}

// Any answer as a FIELD / VALUE table: nested objects and arrays flattened into paths
// ("resume_floor.orders:0", "partitions[2].lag_records"); times (*_ms) also in ISO-8601 UTC.
void Flatten(const std::string& path, const json& v, std::vector<std::vector<std::string>>& rows) {
  if (v.is_object()) {
    for (const auto& [k, child] : v.items())
      Flatten(path.empty() ? k : path + "." + k, child, rows);
  } else if (v.is_array() && !v.empty() && !v[0].is_primitive()) {
    for (size_t i = 0; i < v.size(); ++i) Flatten(path + "[" + std::to_string(i) + "]", v[i], rows);
  } else if (v.is_array()) {
    std::string joined;
    for (const auto& e : v) joined += (joined.empty() ? "" : ", ") + Num(e);
    rows.push_back({path, joined});
  } else {
    const bool time = path.size() > 3 && path.compare(path.size() - 3, 3, "_ms") == 0;
    rows.push_back({path, time && v.is_number() && v.get<int64_t>() > 0
                              ? Num(v) + " (" + IsoTime(v) + ")"
                              : Num(v)});
  }
}

void PrintMarks(const json& marks) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : marks) {
    rows.push_back({Num(m["topic"]), Num(m["partition"]),
                    Num(m.value("last_replicated_source_offset", json())), Num(m["source_end"]),
                    Num(m["missing_records"]), Num(m["lag_seconds"]), Num(m["target_end"])});
  }
  PrintTable(
      {"TOPIC", "PARTITION", "LAST-REPLICATED", "SOURCE-END", "MISSING", "BEHIND(s)", "TARGET-END"},
      rows);
}

void PrintReport(const std::string& verb, const json& body) {
  if (verb == "status") return PrintStatus(body);
  if (body.contains("error")) {
    std::fprintf(stderr, "kmirrorctl %s: %s\n", verb.c_str(),
                 Num(body["error"].value("message", json())).c_str());
  }
  if (verb == "failover" && body.contains("marks")) {
    std::printf("%s failover: phase %s; RPO %s records (%s s)\n",
                Num(body.value("failover_kind", json())).c_str(),
                Num(body.value("phase", json())).c_str(),
                Num(body.value("rpo_records", json())).c_str(),
                Num(body.value("rpo_seconds", json())).c_str());
    PrintMarks(body["marks"]);
  } else if (verb == "drill" && body.contains("checks")) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : body["checks"]) {
      rows.push_back({c["passed"].get<bool>() ? "PASS" : "FAIL", Num(c["name"]), Num(c["detail"])});
    }
    PrintTable({"RESULT", "CHECK", "DETAIL"}, rows);
    std::printf("drill %s\n", body.value("passed", false) ? "PASSED" : "FAILED");
  } else if (verb == "failback" && body.contains("divergence") && body["divergence"].is_object()) {
    const json& d = body["divergence"];
    std::printf("divergent records on the old primary: %s (preserved to %s)\n",
                Num(d.value("records", json())).c_str(),
                Num(d.value("preserved_to", json())).c_str());
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : Field(d, "partitions")) {
      rows.push_back({Num(p["topic"]), Num(p["partition"]), Num(p["from_offset"]),
                      Num(p["to_offset"]),
                      p.contains("quarantine_topic") ? Num(p["quarantine_topic"])
                                                     : Num(p.value("file", json()))});
    }
    PrintTable({"TOPIC", "PARTITION", "FROM", "TO", "PRESERVED-IN"}, rows);
  } else if (verb == "topology") {
    for (const auto& f : Field(body, "flows")) {
      for (const auto& [cluster, ups] : Field(f, "upstreams_seen_on").items()) {
        for (const auto& [up, u] : ups.items()) {
          std::printf("%s <- %s  hops %s  heartbeat age %s s\n", cluster.c_str(), up.c_str(),
                      Num(u["hops"]).c_str(), Num(u["age_seconds"]).c_str());
        }
      }
    }
  } else if (verb == "audit") {
    std::vector<std::vector<std::string>> rows;
    for (const auto& e : Field(body, "entries")) {
      rows.push_back({IsoTime(e["at_ms"]), Num(e["action"]), Num(e["result"]), Num(e["who"]),
                      Num(e["detail"])});
    }
    PrintTable({"AT(UTC)", "ACTION", "RESULT", "WHO", "DETAIL"}, rows);
  } else if (!body.contains("error")) {
    json rest = body;
    rest.erase("note");
    std::vector<std::vector<std::string>> rows;
    Flatten("", rest, rows);
    PrintTable({"FIELD", "VALUE"}, rows);
  }
  if (body.contains("note")) std::printf("%s\n", Num(body["note"]).c_str());
}

int ExitFor(int http, const json& body) {
  if (http >= 200 && http < 300) return 0;
  if (http == 403 || http == 401) return kExitNoPermission;
  if (http == 503 && body.contains("error") && body["error"].value("code", "") == "busy") {
    return kExitBusy;
  }
  if (http == 503) return kExitUnavailable;
  if (http == 400 || http == 404 || http == 405 || http == 409 || http == 413) return kExitRefused;
  return kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{kHelp};
  app.require_subcommand(1);
  app.fallthrough();  // --json, --socket, ... also after the verb

  std::string socket =
      std::getenv("KMIRROR_SOCKET") ? std::getenv("KMIRROR_SOCKET") : "/run/kmirror/kmirrord.sock";
  std::string tcp, token_file;
  bool as_json = false;
  app.add_option("--socket", socket, "kmirrord's control socket ([control] socket)");
  app.add_option("--tcp", tcp, "loopback HOST:PORT of the control API instead of the socket");
  app.add_option("--token-file", token_file, "bearer token file for --tcp");
  app.add_flag("--json", as_json, "print the daemon's JSON answer instead of tables");

  std::string source, target, flow_name;
  auto add_flow = [&](CLI::App* c) {
    c->add_option("--source", source, "source cluster alias of the flow (A in A->B)");
    c->add_option("--target", target, "target cluster alias of the flow (B in A->B)");
    c->add_option("--flow", flow_name, "the flow as \"A->B\" (instead of --source/--target)");
  };

  CLI::App* status =
      app.add_subcommand("status", "flows, phase, partitions, lag, checkpoint and heartbeat age");
  CLI::App* topology =
      app.add_subcommand("topology", "clusters, flows and hops seen in heartbeats");
  CLI::App* pause =
      app.add_subcommand("pause", "stop fetching on a flow (persisted; lag keeps being reported)");
  add_flow(pause);
  CLI::App* resume = app.add_subcommand("resume", "restart a paused flow");
  add_flow(resume);
  bool planned = false, force = false;
  std::string timeout_text = "5m";
  CLI::App* failover = app.add_subcommand(
      "failover",
      "switch applications to the target: --planned (source up, drain to zero lag) or "
      "--force (source down, report the RPO)");
  add_flow(failover);
  failover->add_flag("--planned", planned, "the source is reachable: wait for zero lag first");
  failover->add_flag("--force", force, "the source is unreachable: fail over now");
  failover->add_option("--timeout", timeout_text,
                       "planned: how long the lag may take to drain (default 5m)");
  std::string export_file;
  bool switch_back = false;
  CLI::App* failback = app.add_subcommand(
      "failback",
      "bring a failed-over flow home: preserve divergent records, run the reverse "
      "flow; then --switch-back");
  add_flow(failback);
  failback->add_option("--export-file", export_file,
                       "preserve divergent records to this file on the kmirrord host (JSON "
                       "lines) instead of a quarantine topic");
  failback->add_flag("--switch-back", switch_back,
                     "reverse lag zero: translate groups back, stop the reverse flow, resume A->B");
  failback->add_option("--timeout", timeout_text,
                       "--switch-back: how long the reverse lag may take to drain");
  int canaries = 20;
  std::string drill_timeout = "30s";
  CLI::App* drill = app.add_subcommand("drill", "non-disruptive DR test of a running flow");
  add_flow(drill);
  drill->add_option("--canaries", canaries, "canary records to send (default 20)");
  drill->add_option("--timeout", drill_timeout, "how long canaries may take (default 30s)");
  std::string max_checkpoint_age, max_heartbeat_age;
  drill->add_option("--max-checkpoint-age", max_checkpoint_age,
                    "oldest acceptable checkpoint pass (default: 3 checkpoint intervals, >= 60s)");
  drill->add_option("--max-heartbeat-age", max_heartbeat_age,
                    "oldest acceptable heartbeat on the target (default: 3 intervals, >= 30s)");
  int limit = 50;
  CLI::App* audit =
      app.add_subcommand("audit", "the newest control actions on a flow (who, when, what, result)");
  add_flow(audit);
  audit->add_option("--limit", limit, "entries (default 50)");
  std::string group;
  bool group_resume = false;
  CLI::App* groups = app.add_subcommand(
      "group-sync",
      "pause (default) or --resume group offset sync into the target for one group "
      "(pause it before starting consumers of that group on the target)");
  add_flow(groups);
  groups->add_option("group", group, "consumer group")->required();
  groups->add_flag("--resume", group_resume, "sync the group again");

  std::string skip_partition;
  int64_t skip_offset = -1;
  CLI::App* skip = app.add_subcommand(
      "skip",
      "give up the record a stopped partition is stuck at (the target refuses it): the partition "
      "continues after it, the record is counted as lost and the action audited");
  add_flow(skip);
  skip->add_option("--partition", skip_partition, "the source partition as TOPIC:N")->required();
  skip->add_option("--offset", skip_offset, "the source offset it stopped at (kmirrorctl status)")
      ->required();

  std::string mm2_input, mm2_output;
  CLI::App* import_mm2 = app.add_subcommand(
      "import-mm2", "convert a MirrorMaker 2 dedicated-mode properties file into kmirrord TOML");
  import_mm2->add_option("file", mm2_input, "connect-mirror-maker.properties")->required();
  import_mm2->add_option("-o,--output", mm2_output, "write the TOML here instead of stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : kExitUsage;
  }
  if (*import_mm2) return ImportMm2(mm2_input, mm2_output);

  kmirror::control::Endpoint endpoint;
  if (!tcp.empty()) {
    endpoint.tcp = tcp;
    if (!token_file.empty()) {
      std::ifstream in(token_file);
      std::getline(in, endpoint.token);
      if (!in && endpoint.token.empty()) {
        std::fprintf(stderr, "kmirrorctl: cannot read the token from %s\n", token_file.c_str());
        return kExitUsage;
      }
    }
  } else {
    endpoint.socket_path = socket;
  }
  auto flow = [&]() -> std::string {
    if (!flow_name.empty()) return flow_name;
    if (source.empty() || target.empty()) return "";
    return source + "->" + target;
  };
  auto usage = [](const std::string& message) {
    std::fprintf(stderr, "kmirrorctl: %s (see --help)\n", message.c_str());
    return kExitUsage;
  };

  std::string verb, method = "POST", path;
  json body = nullptr;
  int64_t timeout_ms = 30000;
  if (*status) {
    verb = "status", method = "GET", path = "/v1/status";
  } else if (*topology) {
    verb = "topology", method = "GET", path = "/v1/topology";
  } else {
    CLI::App* used = app.get_subcommands().front();
    verb = used->get_name();
    if (flow().empty()) return usage(verb + " needs --source A --target B (or --flow \"A->B\")");
    const std::string base = "/v1/flows/" + kmirror::control::PathSegment(flow());
    if (*pause || *resume) {
      path = base + "/" + verb;
    } else if (*failover) {
      if (planned == force) return usage("failover needs exactly one of --planned and --force");
      const int64_t t = ParseDuration(timeout_text);
      if (t < 0) return usage("--timeout: not a duration: " + timeout_text);
      path = base + "/failover";
      body = {{"mode", planned ? "planned" : "force"}, {"timeout_ms", t}};
      timeout_ms = t + 120000;
    } else if (*failback) {
      if (switch_back) {
        const int64_t t = ParseDuration(timeout_text);
        if (t < 0) return usage("--timeout: not a duration: " + timeout_text);
        path = base + "/switch-back";
        body = {{"timeout_ms", t}};
        timeout_ms = t + 120000;
      } else {
        path = base + "/failback";
        body = export_file.empty() ? json{{"preserve", "quarantine"}}
                                   : json{{"preserve", "file"}, {"file", export_file}};
        timeout_ms = 600000;
      }
    } else if (*drill) {
      const int64_t t = ParseDuration(drill_timeout);
      if (t < 0) return usage("--timeout: not a duration: " + drill_timeout);
      path = base + "/drill";
      body = {{"canary_records", canaries}, {"timeout_ms", t}};
      for (const auto& [flag, value, key] :
           {std::tuple{"--max-checkpoint-age", &max_checkpoint_age, "max_checkpoint_age_ms"},
            {"--max-heartbeat-age", &max_heartbeat_age, "max_heartbeat_age_ms"}}) {
        if (value->empty()) continue;
        const int64_t ms = ParseDuration(*value);
        if (ms <= 0) return usage(std::string(flag) + ": not a positive duration: " + *value);
        body[key] = ms;
      }
      timeout_ms = t * 3 + 120000;
    } else if (*audit) {
      method = "GET";
      path = base + "/audit?limit=" + std::to_string(limit);
    } else if (*skip) {
      const size_t colon = skip_partition.rfind(':');
      int partition = -1;
      if (colon == std::string::npos || colon == 0 ||
          !absl::SimpleAtoi(skip_partition.substr(colon + 1), &partition) || partition < 0) {
        return usage("--partition: expected TOPIC:N, got \"" + skip_partition + "\"");
      }
      if (skip_offset < 0) return usage("--offset: must be a source offset >= 0");
      path = base + "/skip";
      body = {{"topic", skip_partition.substr(0, colon)},
              {"partition", partition},
              {"offset", skip_offset}};
    } else if (*groups) {
      verb = "group-sync";
      path = base + "/groups/" + kmirror::control::PathSegment(group) +
             (group_resume ? "/resume" : "/pause");
    }
  }
  auto response =
      kmirror::control::Call(endpoint, method, path, body, std::chrono::milliseconds(timeout_ms));
  if (!response.ok()) {
    std::fprintf(stderr, "kmirrorctl: %s\n", std::string(response.status().message()).c_str());
    switch (response.status().code()) {
      case absl::StatusCode::kPermissionDenied:
        return kExitNoPermission;
      case absl::StatusCode::kUnavailable:
        return kExitUnavailable;
      default:
        return kExitFailure;
    }
  }
  if (as_json) {
    std::printf("%s\n", response->body.dump(2).c_str());
    if (response->body.contains("error")) {
      std::fprintf(stderr, "kmirrorctl %s: %s\n", verb.c_str(),
                   response->body["error"].value("message", "").c_str());
    }
  } else {
    PrintReport(verb, response->body);
  }
  return ExitFor(response->status, response->body);
}
