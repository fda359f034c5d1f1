// The control API's transport: HTTP/1.1 + JSON on a Unix socket (and optionally on loopback TCP
// with a bearer token), one request per connection. The server authenticates the peer
// (SO_PEERCRED for the socket, the token for TCP), parses and bounds the request, and hands a
// `Request` to a `Router`; what the endpoints do is the handlers' business (daemon/control_api.cc
// over lib/dr). Every response body is JSON; every error is {"error": {"code", "message"}}.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kmirror::control {

// Who sent a request. Unix peers are identified by the kernel (SO_PEERCRED), TCP peers only by
// their address (and the token they had to present).
struct Peer {
  enum class Transport { kUnix, kTcp };
  Transport transport = Transport::kUnix;
  int64_t uid = -1, gid = -1, pid = -1;  // SO_PEERCRED (unix only)
  std::vector<int64_t> groups;           // SO_PEERGROUPS, else getgrouplist (unix only)
  std::string user;                      // name from getpwuid_r, else the uid as text
  std::string address;                   // tcp "127.0.0.1:54321"; unix: "unix"

  // "uid=1000(alice) pid=4242 unix" / "tcp 127.0.0.1:5555 (token)".
  std::string Describe() const;
};

struct Request {
  std::string method;  // "GET", "POST"
  std::string path;    // without the query, percent-decoded: "/v1/flows/A->B/pause"
  std::map<std::string, std::string> query;   // percent-decoded; a repeated key keeps the last
  std::map<std::string, std::string> params;  // captures of the matched route: {"flow": "A->B"}
  nlohmann::json body;                        // a JSON object; null when the request had no body
  Peer peer;
};

struct Response {
  int status = 200;
  nlohmann::json body = nlohmann::json::object();
};

// {"error": {"code": code, "message": message}} with the HTTP status.
Response ErrorResponse(int status, std::string code, std::string message);

// Must not block forever (Stop() waits for running handlers); may throw (-> 500 "internal").
using Handler = std::function<Response(const Request&)>;

// Routes by method and path: exact paths plus one-segment captures, "/v1/flows/{flow}/pause".
// When several patterns match a path, the one with the most literal segments wins.
// Thread-safety: Add() before the router is shared; Dispatch() is const and may run concurrently.
class Router {
 public:
  void Add(std::string method, std::string pattern, Handler h);
  // Fills r.params and calls the handler. Unknown path: 404 "not_found"; known path with another
  // method: 405 "method_not_allowed" naming the allowed methods. Handler exceptions propagate.
  Response Dispatch(Request& r) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;  // "{name}" for a capture
    size_t literals = 0;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct ServerOptions {
  std::string socket_path;   // empty: no unix socket
  std::string socket_group;  // optional group name: the socket is chown'ed to it
  std::string tcp_listen;  // optional "127.0.0.1:PORT" / "[::1]:PORT" (port 0: any); loopback only
  std::string token;       // required with tcp_listen (Authorization: Bearer <token>)
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 8 * 1024;
  // Authorised requests handled at once; beyond it 503 "busy". Connections are read and
  // authorised before they take one (up to 4 x max_connections read at once).
  size_t max_connections = 32;
  // A client must send its whole request within this time (and take the response within it);
  // otherwise it is dropped.
  std::chrono::milliseconds read_timeout{10000};
};

// Accepts on one thread and serves each connection on its own thread (at most max_connections),
// so a long handler (a failover waiting minutes) never blocks a status call.
//
// Unix socket: mode 0660, owned by socket_group when given. Allowed peers: root, the daemon's
// effective user, and processes whose gid or supplementary groups include the socket's group;
// others get 403 "permission_denied". TCP: every request needs the bearer token (401
// "unauthenticated"). Oversized requests: 413 "too_large"; malformed: 400 "bad_request"; a body
// that is not a JSON object: 400 "invalid_json". Each request is logged (logger "control").
//
// Thread-safety: all methods may be called from any thread; Stop() may race with itself.
class Server {
 public:
  // Binds the listeners and starts serving. Fails (naming the path / address / group) when a live
  // server already answers on socket_path, tcp_listen is not a loopback address, the token is
  // missing, or a socket cannot be created. A stale socket file is replaced.
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       std::shared_ptr<const Router> router);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Idempotent: closes the listeners, drops connections still sending their request, waits for
  // in-flight handlers to return (their responses are still written), removes the socket file.
  void Stop();

  uint16_t tcp_port() const;               // the bound port (0 without TCP)
  const std::string& socket_path() const;  // empty without a unix socket

  struct State;  // shared with the connection threads, which may outlive Stop()'s caller

 private:
  explicit Server(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace kmirror::control
