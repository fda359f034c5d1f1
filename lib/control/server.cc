#include "lib/control/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "fmt/format.h"
#include "lib/common/logging.h"
#include "lib/common/status.h"
#include "lib/control/fd_stream.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59  // Linux >= 4.13; older headers lack the constant
#endif

namespace kmirror::control {

namespace http = boost::beast::http;
using internal::Clock;
using internal::FdStream;
using internal::ScopedFd;
using nlohmann::json;

namespace {

constexpr size_t kMaxJsonDepth = 64;
constexpr int kListenBacklog = 64;

using internal::ErrnoText;

// JSON text of `s` (quoted, escaped, invalid UTF-8 replaced): safe to put in a log line.
std::string Quoted(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<std::string> UserName(int64_t uid) {
  if (uid < 0) return std::nullopt;
  std::vector<char> buf(4096);
  for (;;) {
    passwd pw{};
    passwd* result = nullptr;
    const int r = getpwuid_r(static_cast<uid_t>(uid), &pw, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (r != 0 || result == nullptr) return std::nullopt;
    return std::string(pw.pw_name);
  }
}

std::optional<std::string> GroupName(int64_t gid) {
  if (gid < 0) return std::nullopt;
  std::vector<char> buf(4096);
  for (;;) {
    group gr{};
    group* result = nullptr;
    const int r = getgrgid_r(static_cast<gid_t>(gid), &gr, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (r != 0 || result == nullptr) return std::nullopt;
    return std::string(gr.gr_name);
  }
}

std::optional<gid_t> GroupId(const std::string& name) {
  std::vector<char> buf(4096);
  for (;;) {
    group gr{};
    group* result = nullptr;
    const int r = getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &result);
    if (r == ERANGE && buf.size() < (1u << 20)) {
      buf.resize(buf.size() * 4);
      continue;
    }
    if (r != 0 || result == nullptr) return std::nullopt;
    return gr.gr_gid;
  }
}

std::string NameOr(std::optional<std::string> name, int64_t id) {
  return name.has_value() ? *std::move(name) : std::to_string(id);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes `s`. nullopt on a malformed escape, an encoded NUL, or (in a path) an encoded
// '/', which would let one segment pose as two. In a query, '+' is a space.
std::optional<std::string> PercentDecode(std::string_view s, bool query) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+' && query) {
      out += ' ';
    } else if (c == '%') {
      const int hi = i + 1 < s.size() ? HexValue(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? HexValue(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return std::nullopt;
      const char decoded = static_cast<char>(hi * 16 + lo);
      if (decoded == '\0' || (decoded == '/' && !query)) return std::nullopt;
      out += decoded;
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Splits an origin-form target into r.path and r.query. Returns an error message when malformed.
std::optional<std::string> ParseTarget(std::string_view target, Request& r) {
  if (target.empty() || target[0] != '/') {
    return "request target must be a path starting with '/'";
  }
  const size_t q = target.find('?');
  std::optional<std::string> path = PercentDecode(target.substr(0, q), false);
  if (!path.has_value()) {
    return "malformed percent-escape in the path (or an encoded '/' or NUL)";
  }
  r.path = *std::move(path);
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    std::optional<std::string> key = PercentDecode(item.substr(0, eq), true);
    std::optional<std::string> value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1), true);
    if (!key.has_value() || !value.has_value()) return "malformed percent-escape in the query";
    r.query[*std::move(key)] = *std::move(value);
  }
  return std::nullopt;
}

// nlohmann parses iteratively, but handlers (and dump()) walk values recursively: bound nesting.
bool NestsDeeperThan(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

// Compares in time that depends only on the expected token's length, not on where they differ.
bool TokenEquals(std::string_view presented, std::string_view expected) {
  volatile unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const char p = i < presented.size() ? presented[i] : '\0';
    diff = diff | static_cast<unsigned char>(p ^ expected[i]);
  }
  return diff == 0;
}

Peer UnixPeer(int fd) {
  Peer p;
  p.transport = Peer::Transport::kUnix;
  p.address = "unix";
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.uid = cred.uid;
    p.gid = cred.gid;
    p.pid = cred.pid;
  }
  std::optional<std::string> name = UserName(p.uid);
  p.user = NameOr(name, p.uid);
  std::vector<gid_t> groups(32);
  socklen_t glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
  int r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen);
  if (r != 0 && errno == ERANGE) {
    groups.resize(glen / sizeof(gid_t) + 1);
    glen = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    r = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &glen);
  }
  if (r == 0) {
    groups.resize(glen / sizeof(gid_t));
  } else if (name.has_value() && p.gid >= 0) {
    // Kernel without SO_PEERGROUPS: the groups the user database gives the peer's user.
    int n = 64;
    groups.assign(n, 0);
    if (getgrouplist(name->c_str(), static_cast<gid_t>(p.gid), groups.data(), &n) < 0) {
      groups.assign(n, 0);
      if (getgrouplist(name->c_str(), static_cast<gid_t>(p.gid), groups.data(), &n) < 0) n = 0;
    }
    groups.resize(n);
  } else {
    groups.clear();
  }
  p.groups.assign(groups.begin(), groups.end());
  return p;
}

Peer TcpPeer(int fd) {
  Peer p;
  p.transport = Peer::Transport::kTcp;
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    p.address = "?";
    return p;
  }
  char host[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    p.address = fmt::format("{}:{}", host, ntohs(a->sin_port));
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    p.address = fmt::format("[{}]:{}", host, ntohs(a->sin6_port));
  }
  return p;
}

// Creates the missing directories of `dir` with mode 0750.
absl::Status MakeDirectories(const std::filesystem::path& dir) {
  if (dir.empty()) return absl::OkStatus();
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0750) != 0 && errno != EEXIST) {
      return absl::FailedPreconditionError(
          fmt::format("cannot create directory {} for the control socket: {}", partial.string(),
                      ErrnoText(errno)));
    }
  }
  return absl::OkStatus();
}

// Removes a stale socket file at `path`; refuses when a live server answers there or the file is
// something else than a socket.
absl::Status ClearSocketPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::FailedPreconditionError(
        fmt::format("cannot inspect control socket path {}: {}", path, ErrnoText(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(fmt::format(
        "control socket path {} exists and is not a socket; refusing to replace it", path));
  }
  ScopedFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid()) {
    return absl::InternalError(fmt::format("socket(AF_UNIX): {}", ErrnoText(errno)));
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 ||
      errno == EAGAIN || errno == EINPROGRESS) {
    return absl::FailedPreconditionError(fmt::format(
        "another kmirrord is already serving the control API on {}; stop it first or set a "
        "different [control] socket",
        path));
  }
  const int connect_errno = errno;
  if (connect_errno != ECONNREFUSED && connect_errno != ENOENT) {
    return absl::FailedPreconditionError(fmt::format(
        "cannot check whether a kmirrord is serving on {}: {}", path, ErrnoText(connect_errno)));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return absl::FailedPreconditionError(
        fmt::format("cannot remove stale control socket {}: {}", path, ErrnoText(errno)));
  }
  common::Logger("control")->info("msg=\"removed stale control socket\" path={}", Quoted(path));
  return absl::OkStatus();
}

}  // namespace

std::string Peer::Describe() const {
  if (transport == Transport::kTcp) return fmt::format("tcp {} (token)", address);
  return fmt::format("uid={}({}) pid={} unix", uid, user, pid);
}

Response ErrorResponse(int status, std::string code, std::string message) {
  Response r;
  r.status = status;
  r.body = json{{"error", {{"code", std::move(code)}, {"message", std::move(message)}}}};
  return r;
}

// ---------------------------------------------------------------------------------------------
// Router.

namespace {

// "/a/b" -> {"a", "b"}; "/" -> {""}.
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsCapture(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler h) {
  KM_CHECK_MSG(!pattern.empty() && pattern[0] == '/', pattern);
  KM_CHECK_MSG(h != nullptr, pattern);
  Route route;
  for (std::string_view s : Segments(pattern)) {
    route.segments.emplace_back(s);
    if (!IsCapture(s)) ++route.literals;
  }
  route.method = std::move(method);
  route.pattern = std::move(pattern);
  route.handler = std::move(h);
  routes_.push_back(std::move(route));
}

Response Router::Dispatch(Request& r) const {
  const std::vector<std::string_view> segments = Segments(r.path);
  auto matches = [&segments](const Route& route) {
    if (route.segments.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (IsCapture(route.segments[i])) {
        if (segments[i].empty()) return false;
      } else if (route.segments[i] != segments[i]) {
        return false;
      }
    }
    return true;
  };
  const Route* best = nullptr;
  std::vector<std::string> allowed;
  for (const Route& route : routes_) {
    if (!matches(route)) continue;
    if (route.method == r.method) {
      if (best == nullptr || route.literals > best->literals) best = &route;
    } else if (std::find(allowed.begin(), allowed.end(), route.method) == allowed.end()) {
      allowed.push_back(route.method);
    }
  }
  if (best != nullptr) {
    r.params.clear();
    for (size_t i = 0; i < segments.size(); ++i) {
      const std::string& s = best->segments[i];
      if (IsCapture(s)) r.params[s.substr(1, s.size() - 2)] = std::string(segments[i]);
    }
    return best->handler(r);
  }
  if (!allowed.empty()) {
    std::sort(allowed.begin(), allowed.end());
    std::string list;
    for (const std::string& m : allowed) list += (list.empty() ? "" : ", ") + m;
    return ErrorResponse(405, "method_not_allowed",
                         fmt::format("{} is not allowed on {}; use {}", r.method, r.path, list));
  }
  return ErrorResponse(404, "not_found", fmt::format("no endpoint {}", r.path));
}

// ---------------------------------------------------------------------------------------------
// Server.

struct Server::State {
  ServerOptions options;
  std::shared_ptr<const Router> router;
  std::shared_ptr<spdlog::logger> log = common::Logger("control");

  ScopedFd unix_fd;
  ScopedFd tcp_fd;
  ScopedFd stop_fd;  // eventfd; readable once Stop() began
  uint16_t tcp_port = 0;
  std::string tcp_address;  // as bound, for logs

  // Unix peer authorisation.
  uid_t euid = 0;
  std::string daemon_user;
  gid_t socket_gid = 0;
  std::string socket_group;
  // The socket file we created, so Stop() never removes another server's socket.
  bool own_socket_file = false;
  dev_t socket_dev = 0;
  ino_t socket_ino = 0;

  std::thread acceptor;
  std::mutex stop_mu;
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  size_t active = 0;    // connection threads alive (reading, handling or answering busy)
  size_t handling = 0;  // authorised requests in their handler (at most max_connections)
};

namespace {

using State = Server::State;

// Which server's connection thread we are on (Stop() from a handler must not wait for itself).
thread_local const State* tls_serving = nullptr;

struct Outcome {
  Response response;
  bool respond = true;  // false: just close (peer gone, server stopping, nothing received)
  std::string method = "-";
  std::string path = "-";
};

// 401/403 for a peer that may not use the API; nullopt when it may.
std::optional<Response> Authorize(const State& s, const Peer& peer,
                                  const http::request<http::string_body>& req) {
  if (peer.transport == Peer::Transport::kTcp) {
    const auto it = req.find(http::field::authorization);
    if (it == req.end()) {
      return ErrorResponse(401, "unauthenticated",
                           "missing \"Authorization: Bearer <token>\" header (the token is in "
                           "[control] token_file)");
    }
    const std::string_view value(it->value().data(), it->value().size());
    constexpr std::string_view kScheme = "bearer ";
    const bool bearer =
        value.size() >= kScheme.size() &&
        std::equal(kScheme.begin(), kScheme.end(), value.begin(),
                   [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); });
    if (!bearer || !TokenEquals(value.substr(kScheme.size()), s.options.token)) {
      return ErrorResponse(401, "unauthenticated", "invalid bearer token");
    }
    return std::nullopt;
  }
  if (peer.uid == 0 || peer.uid == static_cast<int64_t>(s.euid)) return std::nullopt;
  const int64_t gid = s.socket_gid;
  if (peer.gid == gid ||
      std::find(peer.groups.begin(), peer.groups.end(), gid) != peer.groups.end()) {
    return std::nullopt;
  }
  return ErrorResponse(
      403, "permission_denied",
      fmt::format("uid={}({}) is not root, not the daemon's user ({}) and not in group {}: run "
                  "kmirrorctl as one of them, or ask an administrator to add the user to group {}",
                  peer.uid, peer.user, s.daemon_user, s.socket_group, s.socket_group));
}

// Reads, authorises, parses and dispatches one request.
// The busy answer for a request beyond max_connections.
Response BusyResponse(const State& s) {
  return ErrorResponse(503, "busy",
                       fmt::format("kmirrord is serving {} control requests already; retry shortly",
                                   s.options.max_connections));
}

// Takes a handler slot for an authorised request; false when all are taken.
bool Admit(State& s) {
  std::lock_guard lock(s.mu);
  if (s.handling >= s.options.max_connections) return false;
  ++s.handling;
  return true;
}

void Release(State& s) {
  std::lock_guard lock(s.mu);
  --s.handling;
}

// Reads one request, authorises it, and only then takes a handler slot: connections that are
// still sending or never authenticate cannot lock authorised clients out.
Outcome ReadAndHandle(State& s, FdStream& stream, const Peer& peer) {
  Outcome out;
  const ServerOptions& o = s.options;
  boost::beast::flat_buffer buffer(o.max_header_bytes + o.max_body_bytes + 65536);
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(
      std::min<size_t>(o.max_header_bytes, std::numeric_limits<uint32_t>::max())));
  parser.body_limit(o.max_body_bytes);
  boost::system::error_code ec;
  http::read(stream, buffer, parser, ec);
  if (parser.is_header_done()) {
    out.method = std::string(parser.get().method_string());
    out.path = std::string(parser.get().target().substr(0, parser.get().target().find('?')));
  }
  if (ec) {
    if (ec == http::error::end_of_stream || ec == boost::asio::error::operation_aborted) {
      out.respond = false;  // connected and closed without a request, or we are stopping
    } else if (ec == boost::beast::error::timeout) {
      out.response = ErrorResponse(
          408, "timeout",
          fmt::format("the request was not received within {} ms", o.read_timeout.count()));
    } else if (ec == http::error::header_limit) {
      out.response = ErrorResponse(
          413, "too_large", fmt::format("request header larger than {} bytes", o.max_header_bytes));
    } else if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      out.response = ErrorResponse(
          413, "too_large", fmt::format("request body larger than {} bytes", o.max_body_bytes));
    } else if (ec.category() == http::make_error_code(http::error::bad_version).category()) {
      out.response = ErrorResponse(400, "bad_request",
                                   fmt::format("malformed HTTP request: {}", ec.message()));
    } else {
      out.respond = false;  // a socket error: nobody to answer
    }
    return out;
  }
  const http::request<http::string_body>& req = parser.get();
  if (std::optional<Response> denied = Authorize(s, peer, req)) {
    out.response = *std::move(denied);
    return out;
  }
  if (!Admit(s)) {
    s.log->warn("msg=\"control request refused\" status=503 code=busy max_connections={}",
                s.options.max_connections);
    out.response = BusyResponse(s);
    return out;
  }
  struct Slot {
    State& s;
    ~Slot() { Release(s); }
  } slot{s};
  Request request;
  request.method = out.method;
  request.peer = peer;
  if (std::optional<std::string> problem =
          ParseTarget(std::string_view(req.target().data(), req.target().size()), request)) {
    out.response = ErrorResponse(400, "bad_request", *std::move(problem));
    return out;
  }
  out.path = request.path;
  const std::string& text = req.body();
  if (!text.empty()) {
    if (NestsDeeperThan(text, kMaxJsonDepth)) {
      out.response =
          ErrorResponse(400, "invalid_json",
                        fmt::format("request body nests deeper than {} levels", kMaxJsonDepth));
      return out;
    }
    try {
      request.body = json::parse(text);
    } catch (const json::parse_error& e) {
      std::string what = e.what();
      if (const size_t close = what.find("] "); what.starts_with("[json.") && close != what.npos) {
        what = what.substr(close + 2);
      }
      out.response =
          ErrorResponse(400, "invalid_json",
                        fmt::format("request body is not valid JSON: {} (byte {})", what, e.byte));
      return out;
    }
    if (!request.body.is_object()) {
      out.response = ErrorResponse(
          400, "invalid_json",
          fmt::format("request body must be a JSON object, got {}", request.body.type_name()));
      return out;
    }
  }
  try {
    out.response = s.router->Dispatch(request);
  } catch (const std::exception& e) {
    out.response = ErrorResponse(500, "internal", fmt::format("handler failed: {}", e.what()));
  } catch (...) {
    out.response = ErrorResponse(500, "internal", "handler failed with an unknown exception");
  }
  if (out.response.status < 200 || out.response.status > 599) {
    out.response = ErrorResponse(
        500, "internal", fmt::format("handler returned HTTP status {}", out.response.status));
  }
  return out;
}

void WriteResponse(int fd, const Response& response, Clock::time_point deadline,
                   boost::system::error_code& ec) {
  http::response<http::string_body> res;
  res.version(11);
  res.result(static_cast<unsigned>(response.status));
  res.set(http::field::server, "kmirrord");
  res.set(http::field::content_type, "application/json");
  res.keep_alive(false);
  res.body() = response.body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  res.prepare_payload();
  FdStream writer(fd);  // no stop signal: a response in flight is still delivered during Stop()
  writer.set_deadline(deadline);
  http::write(writer, res, ec);
}

void LogRequest(const State& s, const Outcome& out, const Peer& peer, Clock::time_point start,
                const boost::system::error_code& write_error) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  if (!out.respond) {
    s.log->debug("msg=\"control connection closed without a request\" peer=\"{}\"",
                 peer.Describe());
    return;
  }
  const int status = out.response.status;
  if (status < 400 && !write_error) {
    s.log->info("msg=\"control request\" method={} path={} status={} peer=\"{}\" duration_ms={}",
                out.method, Quoted(out.path), status, peer.Describe(), ms.count());
    return;
  }
  std::string code = "-";
  const json& body = out.response.body;
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("code") && body["error"]["code"].is_string()) {
    code = body["error"]["code"].get<std::string>();
  }
  s.log->warn(
      "msg=\"control request\" method={} path={} status={} code={} peer=\"{}\" duration_ms={}{}",
      Quoted(out.method), Quoted(out.path), status, code, peer.Describe(), ms.count(),
      write_error ? fmt::format(" write_error={}", Quoted(write_error.message())) : "");
}

void ServeConnection(std::shared_ptr<State> s, int raw_fd, Peer::Transport transport) {
  tls_serving = s.get();
  try {
    ScopedFd fd(raw_fd);
    const Clock::time_point start = Clock::now();
    const Peer peer = transport == Peer::Transport::kUnix ? UnixPeer(fd.get()) : TcpPeer(fd.get());
    FdStream stream(fd.get(), s->stop_fd.get());
    stream.set_deadline(start + s->options.read_timeout);
    const Outcome out = ReadAndHandle(*s, stream, peer);
    boost::system::error_code write_error;
    if (out.respond) {
      // A handler may have run for minutes: the peer gets a fresh timeout to take the answer.
      WriteResponse(fd.get(), out.response, Clock::now() + s->options.read_timeout, write_error);
    }
    LogRequest(*s, out, peer, start, write_error);
    const auto linger = std::min<Clock::duration>(s->options.read_timeout, std::chrono::seconds(1));
    internal::LingeringClose(std::move(fd), Clock::now() + linger, s->stop_fd.get());
  } catch (const std::exception& e) {
    s->log->warn("msg=\"control connection failed\" error={}", Quoted(e.what()));
  } catch (...) {
    s->log->warn("msg=\"control connection failed\" error=unknown");
  }
  tls_serving = nullptr;
  std::lock_guard lock(s->mu);
  --s->active;
  s->cv.notify_all();
}

// Answers 503 without waiting for the request (bounded by a short deadline), for connections
// beyond what the server reads at once. Runs on a thread of its own (counted in `active`), never
// on the acceptor's; beyond even those, the connection is closed unanswered.
void RejectBusy(std::shared_ptr<State> s, int raw_fd) {
  ScopedFd fd(raw_fd);
  const auto deadline = Clock::now() + std::chrono::milliseconds(100);
  boost::system::error_code ec;
  WriteResponse(fd.get(), BusyResponse(*s), deadline, ec);
  s->log->warn("msg=\"control connection refused\" status=503 code=busy max_connections={}",
               s->options.max_connections);
  internal::LingeringClose(std::move(fd), deadline, s->stop_fd.get(), 64 * 1024);
  std::lock_guard lock(s->mu);
  --s->active;
  s->cv.notify_all();
}

// Connections read at once: four per handler slot. An unauthenticated peer holds one for at
// most read_timeout and never a handler slot.
size_t ReadLimit(const State& s) { return 4 * s.options.max_connections; }
// Busy answers in progress at once, beyond which connections are closed unanswered.
size_t BusyLimit(const State& s) { return ReadLimit(s) + s.options.max_connections; }

void AcceptLoop(std::shared_ptr<State> s) {
  struct Listener {
    int fd;
    Peer::Transport transport;
  };
  std::vector<Listener> listeners;
  if (s->unix_fd.valid()) listeners.push_back({s->unix_fd.get(), Peer::Transport::kUnix});
  if (s->tcp_fd.valid()) listeners.push_back({s->tcp_fd.get(), Peer::Transport::kTcp});
  std::vector<pollfd> fds;
  fds.push_back({s->stop_fd.get(), POLLIN, 0});
  for (const Listener& l : listeners) fds.push_back({l.fd, POLLIN, 0});
  for (;;) {
    for (pollfd& p : fds) p.revents = 0;
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      s->log->error("msg=\"control acceptor stopped\" error={}", Quoted(ErrnoText(errno)));
      return;
    }
    if (fds[0].revents != 0) return;  // Stop()
    for (size_t i = 0; i < listeners.size(); ++i) {
      if (fds[i + 1].revents == 0) continue;
      for (;;) {
        const int fd = ::accept4(listeners[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          const int e = errno;
          if (e == EINTR || e == ECONNABORTED || e == EPROTO) continue;
          if (e != EAGAIN && e != EWOULDBLOCK) {
            s->log->warn("msg=\"control accept failed\" error={}", Quoted(ErrnoText(e)));
            // Out of descriptors or memory: back off instead of spinning (Stop() still wakes us).
            pollfd stop{s->stop_fd.get(), POLLIN, 0};
            ::poll(&stop, 1, 100);
          }
          break;
        }
        enum { kServe, kBusy, kDrop } what = kDrop;
        {
          std::lock_guard lock(s->mu);
          if (s->active < ReadLimit(*s)) {
            what = kServe;
          } else if (s->active < BusyLimit(*s)) {
            what = kBusy;
          }
          if (what != kDrop) ++s->active;
        }
        if (what == kDrop) {
          ::close(fd);
          s->log->warn("msg=\"control connection dropped: too many at once\" limit={}",
                       BusyLimit(*s));
          continue;
        }
        try {
          if (what == kServe) {
            std::thread(ServeConnection, s, fd, listeners[i].transport).detach();
          } else {
            std::thread(RejectBusy, s, fd).detach();
          }
        } catch (const std::system_error& e) {
          {
            std::lock_guard lock(s->mu);
            --s->active;
            s->cv.notify_all();
          }
          s->log->warn("msg=\"cannot start a control connection thread\" error={}",
                       Quoted(e.what()));
          ::close(fd);
        }
      }
    }
  }
}

absl::Status ListenUnix(State& s) {
  const std::string& path = s.options.socket_path;
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(
        fmt::format("control socket path {} is {} bytes long; the limit is {}", path, path.size(),
                    sizeof(addr.sun_path) - 1));
  }
  KM_RETURN_IF_ERROR(MakeDirectories(std::filesystem::path(path).parent_path()));
  KM_RETURN_IF_ERROR(ClearSocketPath(path));
  std::optional<gid_t> group;
  if (!s.options.socket_group.empty()) {
    group = GroupId(s.options.socket_group);
    if (!group.has_value()) {
      return absl::InvalidArgumentError(fmt::format(
          "control socket group \"{}\" does not exist (set [control] socket_group to an existing "
          "group)",
          s.options.socket_group));
    }
  }
  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) {
    return absl::InternalError(fmt::format("socket(AF_UNIX): {}", ErrnoText(errno)));
  }
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int e = errno;
    return absl::FailedPreconditionError(
        fmt::format("cannot bind the control socket {}: {}", path, ErrnoText(e)));
  }
  // Nobody can connect before listen(), so fixing the mode and group here leaves no window.
  auto fail = [&path](absl::Status status) {
    ::unlink(path.c_str());
    return status;
  };
  if (::chmod(path.c_str(), 0660) != 0) {
    return fail(absl::FailedPreconditionError(
        fmt::format("cannot chmod the control socket {}: {}", path, ErrnoText(errno))));
  }
  if (group.has_value() && ::chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) {
    return fail(absl::FailedPreconditionError(
        fmt::format("cannot give the control socket {} to group {}: {}", path,
                    s.options.socket_group, ErrnoText(errno))));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fail(absl::FailedPreconditionError(
        fmt::format("cannot stat the control socket {}: {}", path, ErrnoText(errno))));
  }
  s.own_socket_file = true;
  s.socket_dev = st.st_dev;
  s.socket_ino = st.st_ino;
  s.socket_gid = st.st_gid;
  s.socket_group = NameOr(GroupName(st.st_gid), st.st_gid);
  if (::listen(fd.get(), kListenBacklog) != 0) {
    return fail(absl::FailedPreconditionError(
        fmt::format("cannot listen on the control socket {}: {}", path, ErrnoText(errno))));
  }
  s.unix_fd = std::move(fd);
  return absl::OkStatus();
}

absl::Status ListenTcp(State& s) {
  const std::string& listen = s.options.tcp_listen;
  const auto host_port = internal::ParseHostPort(listen);
  if (!host_port.has_value()) {
    return absl::InvalidArgumentError(fmt::format(
        "control tcp_listen \"{}\": expected an IP address and port such as 127.0.0.1:9465",
        listen));
  }
  const auto& [address, port] = *host_port;
  if (!address.is_loopback()) {
    return absl::InvalidArgumentError(fmt::format(
        "control tcp_listen \"{}\" is not a loopback address (127.0.0.0/8 or [::1]); the control "
        "API's bearer token must not cross a network",
        listen));
  }
  if (s.options.token.empty()) {
    return absl::InvalidArgumentError(
        "control tcp_listen is set but the token is empty (set [control] token_file)");
  }
  sockaddr_storage storage{};
  const socklen_t len = internal::ToSockaddr(address, port, storage);
  ScopedFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return absl::InternalError(fmt::format("socket: {}", ErrnoText(errno)));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.is_v6()) ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&storage), len) != 0 ||
      ::listen(fd.get(), kListenBacklog) != 0) {
    return absl::FailedPreconditionError(
        fmt::format("cannot listen on control tcp_listen {}: {}", listen, ErrnoText(errno)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &bound_len) != 0) {
    return absl::InternalError(fmt::format("getsockname: {}", ErrnoText(errno)));
  }
  s.tcp_port =
      ntohs(bound.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in*>(&bound)->sin_port
                                       : reinterpret_cast<const sockaddr_in6*>(&bound)->sin6_port);
  s.tcp_address = address.is_v4() ? fmt::format("{}:{}", address.to_string(), s.tcp_port)
                                  : fmt::format("[{}]:{}", address.to_string(), s.tcp_port);
  s.tcp_fd = std::move(fd);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      std::shared_ptr<const Router> router) {
  if (router == nullptr) return absl::InvalidArgumentError("control server needs a router");
  if (options.socket_path.empty() && options.tcp_listen.empty()) {
    return absl::InvalidArgumentError("control server needs a socket path or a tcp_listen address");
  }
  if (options.max_connections == 0 || options.read_timeout <= std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError(
        "control server needs max_connections > 0 and a positive read_timeout");
  }
  auto s = std::make_shared<State>();
  s->options = std::move(options);
  s->router = std::move(router);
  s->euid = ::geteuid();
  s->daemon_user = NameOr(UserName(s->euid), s->euid);
  s->socket_gid = ::getegid();
  s->socket_group = NameOr(GroupName(s->socket_gid), s->socket_gid);
  s->stop_fd = ScopedFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s->stop_fd.valid()) return absl::InternalError(fmt::format("eventfd: {}", ErrnoText(errno)));
  // TCP first: its checks are pure validation and must not leave a socket file behind.
  if (!s->options.tcp_listen.empty()) KM_RETURN_IF_ERROR(ListenTcp(*s));
  if (!s->options.socket_path.empty()) KM_RETURN_IF_ERROR(ListenUnix(*s));
  try {
    s->acceptor = std::thread(AcceptLoop, s);
  } catch (const std::system_error& e) {
    if (s->own_socket_file) ::unlink(s->options.socket_path.c_str());
    return absl::ResourceExhaustedError(
        fmt::format("cannot start the control acceptor thread: {}", e.what()));
  }
  s->log->info("msg=\"control API listening\" socket={} group={} tcp={} max_connections={}",
               Quoted(s->options.socket_path), Quoted(s->socket_group), Quoted(s->tcp_address),
               s->options.max_connections);
  return std::unique_ptr<Server>(new Server(std::move(s)));
}

Server::Server(std::shared_ptr<State> state) : state_(std::move(state)) {}

Server::~Server() { Stop(); }

void Server::Stop() {
  State& s = *state_;
  std::lock_guard stop_lock(s.stop_mu);
  if (s.stopped) return;
  s.stopped = true;
  const uint64_t one = 1;
  if (::write(s.stop_fd.get(), &one, sizeof(one)) < 0) {
    s.log->error("msg=\"cannot signal the control acceptor\" error={}", Quoted(ErrnoText(errno)));
  }
  if (s.acceptor.joinable()) s.acceptor.join();
  s.unix_fd.reset();
  s.tcp_fd.reset();
  if (s.own_socket_file) {
    // Only our own file: a newer server may already have replaced a socket we found stale.
    struct stat st {};
    if (::lstat(s.options.socket_path.c_str(), &st) == 0 && st.st_dev == s.socket_dev &&
        st.st_ino == s.socket_ino) {
      ::unlink(s.options.socket_path.c_str());
    }
  }
  // Connections still reading their request see the stop signal and close; handlers finish.
  const size_t self = tls_serving == &s ? 1 : 0;
  std::unique_lock lock(s.mu);
  s.cv.wait(lock, [&s, self] { return s.active <= self; });
  s.log->info("msg=\"control API stopped\" socket={}", Quoted(s.options.socket_path));
}

uint16_t Server::tcp_port() const { return state_->tcp_port; }

const std::string& Server::socket_path() const { return state_->options.socket_path; }

}  // namespace kmirror::control
