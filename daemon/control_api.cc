#include "daemon/control_api.h"

#include <atomic>
#include <chrono>

#include "lib/common/logging.h"

namespace kmirror::daemon {
namespace {

using control::Request;
using control::Response;
using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<std::string> StringField(const json& body, const char* key, std::string fallback) {
  if (body.is_null() || !body.contains(key)) return fallback;
  if (!body[key].is_string()) {
    return absl::InvalidArgumentError(std::string("field \"") + key + "\" must be a string");
  }
  return body[key].get<std::string>();
}

absl::StatusOr<int64_t> IntField(const json& body, const char* key, int64_t fallback, int64_t min,
                                 int64_t max) {
  if (body.is_null() || !body.contains(key)) return fallback;
  if (!body[key].is_number_integer()) {
    return absl::InvalidArgumentError(std::string("field \"") + key + "\" must be an integer");
  }
  int64_t v = body[key].get<int64_t>();
  if (v < min || v > max) {
    return absl::InvalidArgumentError(std::string("field \"") + key + "\" must be in [" +
                                      std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return v;
}

Response Reply(const dr::OpResult& r) {
  Response out;
  out.status = HttpStatusFor(r.status);
  out.body = r.report.is_object() ? r.report : json{{"report", r.report}};
  out.body["ok"] = r.status.ok();
  if (!r.status.ok()) {
    out.body["error"] = {{"code", ErrorCodeFor(r.status)},
                         {"message", std::string(r.status.message())}};
  }
  return out;
}

class Api {
 public:
  Api(std::string instance, std::vector<dr::Controller*> flows)
      : instance_(std::move(instance)), flows_(std::move(flows)) {}

  dr::Controller* Find(const std::string& name) const {
    for (dr::Controller* f : flows_) {
      if (f->name() == name) return f;
    }
    return nullptr;
  }

  std::string Who(const Request& r) const { return r.peer.Describe() + " on " + instance_; }

  // Runs a verb on the flow named in the path, records it, and replies.
  Response Verb(const Request& r, const std::string& action,
                const std::function<dr::OpResult(dr::Controller&, const std::string& who)>& run) {
    const std::string flow = r.params.count("flow") ? r.params.at("flow") : "";
    dr::Controller* fc = Find(flow);
    if (fc == nullptr) {
      std::string known;
      for (dr::Controller* f : flows_) known += (known.empty() ? "" : ", ") + f->name();
      return control::ErrorResponse(404, "not_found",
                                    "no flow \"" + flow + "\" runs here (flows: " + known + ")");
    }
    const std::string who = Who(r);
    dr::OpResult result = run(*fc, who);
    dr::AuditEntry e;
    e.at_ms = NowMs();
    e.instance = instance_;
    e.flow = flow;
    e.action = action;
    e.who = who;
    e.args = r.body.is_null() ? json::object() : r.body;
    e.result = result.status.ok()
                   ? "ok"
                   : (result.status.code() == absl::StatusCode::kAborted ||
                              result.status.code() == absl::StatusCode::kFailedPrecondition ||
                              result.status.code() == absl::StatusCode::kInvalidArgument
                          ? "refused"
                          : "failed");
    e.detail = std::string(result.status.message());
    if (absl::Status s = fc->store().Append(dr::AuditKey(e, ++sequence_), dr::ToJson(e)); !s.ok()) {
      common::Logger("control")->error(
          "msg=\"audit entry not recorded\" flow={} action={} error=\"{}\"", flow, action,
          s.message());
      if (result.report.is_object()) result.report["audit_error"] = std::string(s.message());
    }
    common::Logger("control")->info(
        "msg=\"control action\" flow={} action={} result={} by=\"{}\" detail=\"{}\"", flow, action,
        e.result, who, e.detail);
    return Reply(result);
  }

  const std::string instance_;
  const std::vector<dr::Controller*> flows_;
  std::atomic<int64_t> sequence_{0};
};

template <typename F>
control::Handler Guarded(std::initializer_list<const char*> allowed, F f) {
  std::vector<const char*> keys(allowed);
  return [keys, f](const Request& r) -> Response {
    if (!r.body.is_null()) {
      if (!r.body.is_object()) {
        return control::ErrorResponse(400, "invalid_argument",
                                      "the request body must be an object");
      }
      for (const auto& [key, value] : r.body.items()) {
        bool known = false;
        for (const char* a : keys) known = known || key == a;
        if (!known) {
          return control::ErrorResponse(400, "invalid_argument", "unknown field \"" + key + "\"");
        }
      }
    }
    return f(r);
  };
}

}  // namespace

int HttpStatusFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kUnknown:  // a check that failed (drill)
      return 422;
    default:
      return 500;
  }
}

std::string ErrorCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return "invalid_argument";
    case absl::StatusCode::kNotFound:
      return "not_found";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kAborted:
      return "conflict";
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAlreadyExists:
      return "wrong_state";
    case absl::StatusCode::kDeadlineExceeded:
      return "timeout";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    case absl::StatusCode::kUnknown:
      return "check_failed";
    default:
      return "internal";
  }
}

std::shared_ptr<control::Router> ControlRoutes(const std::string& instance,
                                               std::vector<dr::Controller*> flows) {
  auto api = std::make_shared<Api>(instance, std::move(flows));
  auto router = std::make_shared<control::Router>();

  router->Add("GET", "/v1/status", [api](const Request&) {
    json flows = json::array();
    for (dr::Controller* f : api->flows_) flows.push_back(f->Status());
    return Response{200, json{{"instance", api->instance_}, {"flows", flows}}};
  });
  router->Add("GET", "/v1/topology", [api](const Request&) {
    json flows = json::array();
    for (dr::Controller* f : api->flows_) flows.push_back(f->Topology());
    return Response{200, json{{"instance", api->instance_}, {"flows", flows}}};
  });
  router->Add("GET", "/v1/flows/{flow}/audit", [api](const Request& r) {
    dr::Controller* fc = api->Find(r.params.count("flow") ? r.params.at("flow") : "");
    if (fc == nullptr) return control::ErrorResponse(404, "not_found", "no such flow");
    size_t limit = 50;
    if (auto it = r.query.find("limit"); it != r.query.end()) {
      char* end = nullptr;
      long v = std::strtol(it->second.c_str(), &end, 10);
      if (end == it->second.c_str() || *end != '\0' || v < 1 || v > 10000) {
        return control::ErrorResponse(400, "invalid_argument", "limit must be in [1, 10000]");
      }
      limit = static_cast<size_t>(v);
    }
    auto entries = fc->store().List("audit/", 100000);
    if (!entries.ok()) {
      return control::ErrorResponse(503, "unavailable", std::string(entries.status().message()));
    }
    json out = json::array();
    for (const auto& e : *entries) {
      if (e.value("flow", "") == fc->name()) out.push_back(e);
    }
    if (out.size() > limit) out.erase(out.begin(), out.end() - static_cast<long>(limit));
    return Response{200, json{{"flow", fc->name()}, {"entries", out}}};
  });
  router->Add("POST", "/v1/flows/{flow}/pause", Guarded({}, [api](const Request& r) {
                return api->Verb(r, "pause", [](dr::Controller& f, const std::string& who) {
                  return f.Pause(who);
                });
              }));
  router->Add("POST", "/v1/flows/{flow}/resume", Guarded({}, [api](const Request& r) {
                return api->Verb(r, "resume", [](dr::Controller& f, const std::string& who) {
                  return f.Resume(who);
                });
              }));
  router->Add("POST", "/v1/flows/{flow}/failover",
              Guarded({"mode", "timeout_ms"}, [api](const Request& r) {
                auto mode = StringField(r.body, "mode", "");
                auto timeout = IntField(r.body, "timeout_ms", 300000, 0, 86400000);
                if (!mode.ok())
                  return control::ErrorResponse(400, "invalid_argument",
                                                std::string(mode.status().message()));
                if (!timeout.ok())
                  return control::ErrorResponse(400, "invalid_argument",
                                                std::string(timeout.status().message()));
                if (*mode != "planned" && *mode != "force") {
                  return control::ErrorResponse(400, "invalid_argument",
                                                "field \"mode\" must be \"planned\" or \"force\"");
                }
                const bool planned = *mode == "planned";
                const auto t = std::chrono::milliseconds(*timeout);
                return api->Verb(r, planned ? "failover planned" : "failover force",
                                 [planned, t](dr::Controller& f, const std::string& who) {
                                   return f.Failover(planned, t, who);
                                 });
              }));
  router->Add(
      "POST", "/v1/flows/{flow}/failback", Guarded({"preserve", "file"}, [api](const Request& r) {
        auto preserve = StringField(r.body, "preserve", "quarantine");
        auto file = StringField(r.body, "file", "");
        if (!preserve.ok())
          return control::ErrorResponse(400, "invalid_argument",
                                        std::string(preserve.status().message()));
        if (!file.ok())
          return control::ErrorResponse(400, "invalid_argument",
                                        std::string(file.status().message()));
        dr::FailbackOptions o;
        if (*preserve == "file") {
          o.preserve = dr::FailbackOptions::Preserve::kFile;
          if (file->empty() || (*file)[0] != '/') {
            return control::ErrorResponse(400, "invalid_argument",
                                          "preserve \"file\" needs \"file\": an absolute path on "
                                          "the kmirrord host");
          }
          o.file = *file;
        } else if (*preserve != "quarantine") {
          return control::ErrorResponse(400, "invalid_argument",
                                        "field \"preserve\" must be \"quarantine\" or \"file\"");
        }
        return api->Verb(r, "failback", [o](dr::Controller& f, const std::string& who) {
          return f.Failback(o, who);
        });
      }));
  router->Add("POST", "/v1/flows/{flow}/switch-back",
              Guarded({"timeout_ms"}, [api](const Request& r) {
                auto timeout = IntField(r.body, "timeout_ms", 300000, 0, 86400000);
                if (!timeout.ok())
                  return control::ErrorResponse(400, "invalid_argument",
                                                std::string(timeout.status().message()));
                const auto t = std::chrono::milliseconds(*timeout);
                return api->Verb(r, "switch back", [t](dr::Controller& f, const std::string& who) {
                  return f.SwitchBack(t, who);
                });
              }));
  router->Add(
      "POST", "/v1/flows/{flow}/drill",
      Guarded({"canary_records", "timeout_ms", "max_checkpoint_age_ms", "max_heartbeat_age_ms"},
              [api](const Request& r) {
                auto n = IntField(r.body, "canary_records", 20, 1, 10000);
                auto timeout = IntField(r.body, "timeout_ms", 30000, 1000, 3600000);
                auto checkpoint_age = IntField(r.body, "max_checkpoint_age_ms", 0, 0, 86400000);
                auto heartbeat_age = IntField(r.body, "max_heartbeat_age_ms", 0, 0, 86400000);
                for (const auto* field : {&n, &timeout, &checkpoint_age, &heartbeat_age}) {
                  if (!field->ok()) {
                    return control::ErrorResponse(400, "invalid_argument",
                                                  std::string(field->status().message()));
                  }
                }
                dr::DrillOptions o;
                o.canary_records = static_cast<int>(*n);
                o.timeout = std::chrono::milliseconds(*timeout);
                o.max_checkpoint_age = std::chrono::milliseconds(*checkpoint_age);
                o.max_heartbeat_age = std::chrono::milliseconds(*heartbeat_age);
                return api->Verb(r, "drill", [o](dr::Controller& f, const std::string& who) {
                  return f.Drill(o, who);
                });
              }));
  router->Add("POST", "/v1/flows/{flow}/skip",
              Guarded({"topic", "partition", "offset"}, [api](const Request& r) {
                auto topic = StringField(r.body, "topic", "");
                auto partition = IntField(r.body, "partition", -1, 0, 1 << 30);
                auto offset = IntField(r.body, "offset", -1, 0, INT64_MAX);
                if (!topic.ok() || topic->empty()) {
                  return control::ErrorResponse(400, "invalid_argument",
                                                "topic: a non-empty string is required");
                }
                for (const auto* field : {&partition, &offset}) {
                  if (!field->ok()) {
                    return control::ErrorResponse(400, "invalid_argument",
                                                  std::string(field->status().message()));
                  }
                }
                if (*partition < 0 || *offset < 0) {
                  return control::ErrorResponse(400, "invalid_argument",
                                                "partition and offset are required");
                }
                return api->Verb(r, "skip",
                                 [t = *topic, p = static_cast<int32_t>(*partition), o = *offset](
                                     dr::Controller& f, const std::string& who) {
                                   return f.Skip(t, p, o, who);
                                 });
              }));
  for (const bool pause : {true, false}) {
    router->Add("POST",
                std::string("/v1/flows/{flow}/groups/{group}/") + (pause ? "pause" : "resume"),
                Guarded({}, [api, pause](const Request& r) {
                  const std::string group = r.params.count("group") ? r.params.at("group") : "";
                  return api->Verb(r, pause ? "group pause" : "group resume",
                                   [group, pause](dr::Controller& f, const std::string& who) {
                                     return f.PauseGroup(group, pause, who);
                                   });
                }));
  }
  return router;
}

}  // namespace kmirror::daemon
