#include "lib/sandbox/control_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "lib/common/logging.h"

namespace kmirror::sandbox {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using json = nlohmann::json;

namespace {

std::pair<int, std::string> Error(int status, const std::string& message) {
  return {status, json{{"error", message}}.dump()};
}

std::pair<int, std::string> FromStatus(const absl::Status& s) {
  if (s.ok()) return {200, json{{"ok", true}}.dump()};
  int code = s.code() == absl::StatusCode::kNotFound ? 404 : 400;
  return Error(code, std::string(s.message()));
}

}  // namespace

std::pair<int, std::string> ControlServer::Route(Sandbox* sandbox, const std::string& method,
                                                 const std::string& target,
                                                 const std::string& body) {
  std::vector<std::string> parts = absl::StrSplit(target, '/', absl::SkipEmpty());
  if (parts.size() < 2 || parts[0] != "v1" || parts[1] != "clusters") {
    return Error(404, "unknown path " + target);
  }
  if (parts.size() == 2) {
    if (method != "GET") return Error(400, "use GET " + target);
    return {200, sandbox->DescribeJson()};
  }
  Cluster* c = sandbox->cluster(parts[2]);
  if (c == nullptr) return Error(404, "no cluster " + parts[2]);
  if (method != "POST") return Error(400, "use POST " + target);
  json args = json::object();
  if (!body.empty()) {
    args = json::parse(body, nullptr, false);
    if (args.is_discarded() || !args.is_object()) return Error(400, "body must be a JSON object");
  }
  auto int_arg = [&](const char* key) -> std::optional<int64_t> {
    if (!args.contains(key) || !args[key].is_number_integer()) return std::nullopt;
    return args[key].get<int64_t>();
  };
  int32_t id = 0;
  if (parts.size() == 5 && parts[3] == "brokers" && absl::SimpleAtoi(parts[4], &id)) {
    return Error(404, "use .../brokers/{id}/down, /up or /rtt");
  }
  if (parts.size() == 6 && parts[3] == "brokers" && absl::SimpleAtoi(parts[4], &id)) {
    if (parts[5] == "down") return FromStatus(c->SetBrokerUp(id, false));
    if (parts[5] == "up") return FromStatus(c->SetBrokerUp(id, true));
    if (parts[5] == "rtt") {
      auto ms = int_arg("ms");
      if (!ms) return Error(400, "rtt needs {\"ms\": <integer>}");
      return FromStatus(c->SetBrokerRtt(id, static_cast<int>(*ms)));
    }
    return Error(404, "unknown broker action " + parts[5]);
  }
  if (parts.size() == 4 && parts[3] == "errors") {
    auto api_key = int_arg("api_key");
    if (!api_key || !args.contains("errors") || !args["errors"].is_array()) {
      return Error(400, "errors needs {\"api_key\": <int>, \"errors\": [<int>...]}");
    }
    std::vector<int16_t> errors;
    for (const auto& e : args["errors"]) {
      if (!e.is_number_integer()) return Error(400, "errors must be integers");
      errors.push_back(static_cast<int16_t>(e.get<int>()));
    }
    std::optional<int32_t> broker;
    if (auto b = int_arg("broker")) broker = static_cast<int32_t>(*b);
    return FromStatus(c->InjectErrors(static_cast<int16_t>(*api_key), errors, broker));
  }
  if (parts.size() == 4 && parts[3] == "topics") {
    auto partitions = int_arg("partitions");
    if (!args.contains("name") || !args["name"].is_string() || !partitions) {
      return Error(400, "topics needs {\"name\": <string>, \"partitions\": <int>}");
    }
    std::map<std::string, std::string> configs;
    if (args.contains("configs")) {
      if (!args["configs"].is_object()) return Error(400, "configs must be an object of strings");
      for (const auto& [k, v] : args["configs"].items()) {
        if (!v.is_string()) return Error(400, "config " + k + " must be a string");
        configs[k] = v.get<std::string>();
      }
    }
    int16_t rf = static_cast<int16_t>(int_arg("replication_factor").value_or(-1));
    return FromStatus(c->CreateTopic(args["name"].get<std::string>(),
                                     static_cast<int32_t>(*partitions), rf, configs));
  }
  int32_t partition = 0;
  if (parts.size() == 8 && parts[3] == "topics" && parts[5] == "partitions" &&
      absl::SimpleAtoi(parts[6], &partition) && parts[7] == "produce-errors") {
    if (!args.contains("errors") || !args["errors"].is_array()) {
      return Error(400, "produce-errors needs {\"errors\": [<int>...]}");
    }
    std::vector<int16_t> errors;
    for (const auto& e : args["errors"]) {
      if (!e.is_number_integer()) return Error(400, "errors must be integers");
      errors.push_back(static_cast<int16_t>(e.get<int>()));
    }
    return FromStatus(c->InjectProduceErrors(parts[4], partition, errors));
  }
  if (parts.size() == 8 && parts[3] == "topics" && parts[5] == "partitions" &&
      absl::SimpleAtoi(parts[6], &partition) && parts[7] == "delete-records") {
    if (!args.contains("offsets") || !args["offsets"].is_array()) {
      return Error(400, "delete-records needs {\"offsets\": [<int>...]}");
    }
    std::vector<int64_t> offsets;
    for (const auto& o : args["offsets"]) {
      if (!o.is_number_integer()) return Error(400, "offsets must be integers");
      offsets.push_back(o.get<int64_t>());
    }
    return FromStatus(c->DeleteRecords(parts[4], partition, offsets));
  }
  if (parts.size() == 8 && parts[3] == "topics" && parts[5] == "partitions" &&
      absl::SimpleAtoi(parts[6], &partition) && parts[7] == "leader") {
    auto broker = int_arg("broker");
    if (!broker) return Error(400, "leader needs {\"broker\": <int>}");
    return FromStatus(c->MoveLeader(parts[4], partition, static_cast<int32_t>(*broker)));
  }
  return Error(404, "unknown path " + target);
}

struct ControlServer::Impl {
  Sandbox* sandbox;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;

  void Accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (ec) return;
      Serve(std::make_shared<tcp::socket>(std::move(socket)));
      Accept();
    });
  }

  void Serve(std::shared_ptr<tcp::socket> socket) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto req = std::make_shared<http::request<http::string_body>>();
    http::async_read(
        *socket, *buffer, *req,
        [this, socket, buffer, req](const boost::system::error_code& ec, size_t) {
          if (ec) return;
          auto [status, body] = Route(sandbox, std::string(req->method_string()),
                                      std::string(req->target()), req->body());
          common::Logger("sandbox")->info("msg=\"control request\" method={} target={} status={}",
                                          std::string(req->method_string()),
                                          std::string(req->target()), status);
          auto res = std::make_shared<http::response<http::string_body>>(
              static_cast<http::status>(status), req->version());
          res->set(http::field::content_type, "application/json");
          res->keep_alive(false);
          res->body() = body + "\n";
          res->prepare_payload();
          http::async_write(*socket, *res, [socket, res](const boost::system::error_code&, size_t) {
            boost::system::error_code ignored;
            socket->shutdown(tcp::socket::shutdown_both, ignored);
          });
        });
  }
};

ControlServer::ControlServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

absl::StatusOr<std::unique_ptr<ControlServer>> ControlServer::Start(Sandbox* sandbox,
                                                                    const std::string& host,
                                                                    uint16_t port) {
  auto impl = std::make_unique<Impl>();
  impl->sandbox = sandbox;
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(host, ec), port);
  if (!ec) impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("control server cannot listen on ", host, ":", port, ": ", ec.message()));
  }
  impl->Accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::~ControlServer() {
  impl_->io.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t ControlServer::port() const { return impl_->acceptor.local_endpoint().port(); }

absl::StatusOr<std::string> ControlRequest(const std::string& host, uint16_t port,
                                           const std::string& method, const std::string& target,
                                           const std::string& body) {
  try {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(asio::ip::make_address(host), port));
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, host);
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    if (res.result_int() != 200) {
      return absl::InvalidArgumentError(absl::StrCat("sandbox control ", method, " ", target,
                                                     " -> ", res.result_int(), ": ", res.body()));
    }
    return res.body();
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("sandbox control unreachable: ", e.what()));
  }
}

}  // namespace kmirror::sandbox
