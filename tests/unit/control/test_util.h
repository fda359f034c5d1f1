// Helpers for the control transport tests: a temporary socket directory, a test router, raw
// socket exchanges (for requests no well-behaved client would send) and response parsing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "gtest/gtest.h"
#include "lib/control/client.h"
#include "lib/control/server.h"
#include "nlohmann/json.hpp"
#include "tests/support/process.h"

namespace kmirror::control::testing {

using nlohmann::json;
using namespace std::chrono_literals;

// The shared test directory (tests/support), made traversable so that a child running as
// `nobody` can reach the socket in it.
class TempDir : public kmirror::testing::TempDir {
 public:
  TempDir() { ::chmod(path().c_str(), 0755); }
  std::string Socket() const { return File("kmirrord.sock"); }
};

// Counts events and lets a test wait for a count without sleeping.
class Counter {
 public:
  void Increment() {
    std::lock_guard lock(mu_);
    ++count_;
    cv_.notify_all();
  }
  bool WaitFor(int n, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_ = 0;
};

// A gate handlers block on until the test opens it.
class Gate {
 public:
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

inline json PeerJson(const Peer& p) {
  return json{{"transport", p.transport == Peer::Transport::kUnix ? "unix" : "tcp"},
              {"uid", p.uid},
              {"gid", p.gid},
              {"pid", p.pid},
              {"groups", p.groups},
              {"user", p.user},
              {"address", p.address},
              {"describe", p.Describe()}};
}

// The routes every test server has. `blocked` counts handlers waiting at `gate`.
struct TestRoutes {
  Gate gate;
  Counter blocked;
  std::atomic<int> pause_calls{0};

  std::shared_ptr<Router> Make() {
    auto router = std::make_shared<Router>();
    auto echo = [](const Request& r) {
      return Response{200, json{{"method", r.method},
                                {"path", r.path},
                                {"query", r.query},
                                {"params", r.params},
                                {"body", r.body},
                                {"peer", PeerJson(r.peer)}}};
    };
    router->Add("GET", "/v1/echo", echo);
    router->Add("POST", "/v1/echo", echo);
    router->Add("GET", "/v1/status", [](const Request& r) {
      return Response{200, json{{"ok", true}, {"path", r.path}}};
    });
    router->Add("POST", "/v1/flows/{flow}/pause", [this](const Request& r) {
      const std::string& flow = r.params.at("flow");
      if (flow != "A->B") return ErrorResponse(404, "unknown_flow", "no flow " + flow);
      ++pause_calls;
      return Response{200, json{{"paused", true}, {"flow", flow}, {"path", r.path}}};
    });
    router->Add("GET", "/v1/throw",
                [](const Request&) -> Response { throw std::runtime_error("boom"); });
    router->Add("POST", "/v1/block", [this](const Request&) {
      blocked.Increment();
      gate.Wait();
      return Response{200, json{{"done", true}}};
    });
    return router;
  }
};

struct RawResponse {
  int status = 0;
  std::string content_type;
  json body;  // discarded when not JSON
};

// Parses a complete HTTP response; nullopt when `raw` is not one.
inline std::optional<RawResponse> ParseResponse(const std::string& raw) {
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::system::error_code ec;
  size_t used = parser.put(boost::asio::buffer(raw), ec);
  (void)used;
  if (ec) return std::nullopt;
  if (!parser.is_done()) {
    parser.put_eof(ec);
    if (ec || !parser.is_done()) return std::nullopt;
  }
  RawResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  out.body = json::parse(parser.get().body(), nullptr, false);
  return out;
}

// Connects to the unix socket; -1 on failure.
inline int ConnectRaw(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

// Connects to 127.0.0.1:port over TCP; -1 on failure.
inline int ConnectTcpRaw(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

inline void SendAll(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may answer (413) and close before reading everything
    sent += static_cast<size_t>(n);
  }
}

inline std::string ReadAll(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Sends `bytes` on a fresh connection, half-closes, and returns everything the server sends
// until it closes.
inline std::string RawExchange(const std::string& socket_path, const std::string& bytes) {
  const int fd = ConnectRaw(socket_path);
  if (fd < 0) return "<connect failed>";
  SendAll(fd, bytes);
  ::shutdown(fd, SHUT_WR);
  std::string out = ReadAll(fd);
  ::close(fd);
  return out;
}

inline std::string ErrorCode(const json& body) {
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  const json& e = body["error"];
  return e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
}

inline std::string ErrorMessage(const json& body) {
  if (!body.is_object() || !body.contains("error") || !body["error"].is_object()) return "";
  const json& e = body["error"];
  return e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
}

}  // namespace kmirror::control::testing
