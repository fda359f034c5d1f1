#include "lib/control/client.h"

#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <filesystem>
#include <optional>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/control/fd_stream.h"

namespace kmirror::control {

namespace http = boost::beast::http;
using internal::Clock;
using internal::ErrnoText;
using internal::FdStream;
using internal::ScopedFd;
using nlohmann::json;

namespace {

constexpr size_t kMaxResponseBytes = 64 << 20;

std::string OwnerOf(const struct stat& st) {
  // Names are resolved without getpwuid_r's buffers dance: a failed lookup shows the number.
  auto user = [](uid_t uid) -> std::string {
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* result = nullptr;
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &result) == 0 && result != nullptr) {
      return pw.pw_name;
    }
    return std::to_string(uid);
  };
  auto group = [](gid_t gid) -> std::string {
    std::vector<char> buf(16384);
    struct group gr {};
    struct group* result = nullptr;
    if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &result) == 0 && result != nullptr) {
      return gr.gr_name;
    }
    return std::to_string(gid);
  };
  return user(st.st_uid) + ":" + group(st.st_gid);
}

absl::Status PermissionDenied(const std::string& path) {
  // The socket itself, or the first directory on its path that we can still look at.
  std::filesystem::path p(path);
  struct stat st {};
  bool found = false;
  while (!p.empty()) {
    if (::stat(p.c_str(), &st) == 0) {
      found = true;
      break;
    }
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  if (!found) {
    return absl::PermissionDeniedError(fmt::format(
        "permission denied connecting to the kmirrord control socket {}: run kmirrorctl as root, "
        "as the service user, or as a member of the socket's group",
        path));
  }
  const std::string owner = OwnerOf(st);
  const std::string group = owner.substr(owner.find(':') + 1);
  const std::string what =
      p.string() == path ? "the socket" : fmt::format("its directory {}", p.string());
  return absl::PermissionDeniedError(fmt::format(
      "permission denied connecting to the kmirrord control socket {} ({} is {} mode {:04o}): run "
      "kmirrorctl as root, as the service user, or as a member of group {} (sudo usermod -aG {} "
      "$USER, then log in again)",
      path, what, owner, st.st_mode & 07777, group, group));
}

absl::Status NotListening(const std::string& where, bool unix_socket) {
  return absl::UnavailableError(
      fmt::format("no kmirrord is listening on {} (is the service running? see [control] {})",
                  where, unix_socket ? "socket" : "tcp_listen"));
}

absl::Status TimedOut(const std::string& where, std::chrono::milliseconds timeout,
                      std::string_view what) {
  return absl::DeadlineExceededError(
      fmt::format("kmirrord on {} did not {} within {} ms", where, what, timeout.count()));
}

absl::StatusOr<ScopedFd> ConnectUnix(const std::string& path, Clock::time_point deadline,
                                     std::chrono::milliseconds timeout) {
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(fmt::format("socket path {} is too long", path));
  }
  addr.sun_family = AF_UNIX;
  std::copy(path.begin(), path.end(), addr.sun_path);
  ScopedFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return absl::InternalError(fmt::format("socket: {}", ErrnoText(errno)));
  // A blocking AF_UNIX connect waits for room in the listen backlog up to SO_SNDTIMEO.
  const auto remaining =
      std::max<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(1));
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(remaining).count();
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  } while (r != 0 && errno == EINTR && Clock::now() < deadline);
  if (r != 0) {
    const int e = errno;
    if (e == ENOENT || e == ECONNREFUSED) return NotListening(path, true);
    if (e == EACCES || e == EPERM) return PermissionDenied(path);
    if (e == EAGAIN || e == EINPROGRESS || e == EINTR) {
      return TimedOut(path, timeout, "accept the connection");
    }
    return absl::UnavailableError(
        fmt::format("cannot connect to kmirrord on {}: {}", path, ErrnoText(e)));
  }
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    return absl::InternalError(fmt::format("fcntl: {}", ErrnoText(errno)));
  }
  return fd;
}

absl::StatusOr<ScopedFd> ConnectTcp(const std::string& where, Clock::time_point deadline,
                                    std::chrono::milliseconds timeout) {
  const auto host_port = internal::ParseHostPort(where);
  if (!host_port.has_value()) {
    return absl::InvalidArgumentError(
        fmt::format("control address \"{}\": expected IP:PORT such as 127.0.0.1:9465", where));
  }
  const auto& [address, port] = *host_port;
  sockaddr_storage storage{};
  const socklen_t len = internal::ToSockaddr(address, port, storage);
  ScopedFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return absl::InternalError(fmt::format("socket: {}", ErrnoText(errno)));
  int e = 0;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&storage), len) != 0) {
    e = errno;
    if (e == EINPROGRESS || e == EINTR) {
      FdStream stream(fd.get());
      stream.set_deadline(deadline);
      boost::system::error_code ec;
      if (!stream.Wait(POLLOUT, ec)) return TimedOut(where, timeout, "accept the connection");
      socklen_t elen = sizeof(e);
      if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &e, &elen) != 0) e = errno;
    }
  }
  if (e == ECONNREFUSED) return NotListening(where, false);
  if (e != 0) {
    return absl::UnavailableError(
        fmt::format("cannot connect to kmirrord on {}: {}", where, ErrnoText(e)));
  }
  return fd;
}

bool Sendable(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

}  // namespace

std::string PathSegment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

absl::StatusOr<ClientResponse> Call(const Endpoint& endpoint, const std::string& method,
                                    const std::string& path, const json& body,
                                    std::chrono::milliseconds timeout) {
  if (method.empty() || !Sendable(method) || path.empty() || path[0] != '/' || !Sendable(path) ||
      endpoint.token.find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(
        fmt::format("cannot send {} {}: method and path must be printable, the path must start "
                    "with '/' and have its segments encoded (PathSegment)",
                    method, path));
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  const bool unix_socket = !endpoint.socket_path.empty();
  const std::string where = unix_socket ? endpoint.socket_path : endpoint.tcp;
  if (where.empty()) {
    return absl::InvalidArgumentError("no control endpoint: set a socket path or a TCP address");
  }
  absl::StatusOr<ScopedFd> connected =
      unix_socket ? ConnectUnix(where, deadline, timeout) : ConnectTcp(where, deadline, timeout);
  if (!connected.ok()) return connected.status();
  ScopedFd fd = *std::move(connected);

  http::request<http::string_body> req;
  req.method_string(method);
  req.target(path);
  req.version(11);
  req.set(http::field::host, "localhost");
  req.set(http::field::user_agent, "kmirrorctl");
  req.set(http::field::accept, "application/json");
  if (!endpoint.token.empty()) req.set(http::field::authorization, "Bearer " + endpoint.token);
  if (!body.is_null()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  req.keep_alive(false);
  req.prepare_payload();

  FdStream stream(fd.get());
  stream.set_deadline(deadline);
  boost::system::error_code write_error;
  http::write(stream, req, write_error);
  if (write_error == boost::beast::error::timeout) {
    return TimedOut(where, timeout, "take the request");
  }
  // A write error (the server answered early, e.g. 413 or 503, and closed) still leaves its
  // response to read.
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(kMaxResponseBytes);
  boost::system::error_code ec;
  http::read(stream, buffer, parser, ec);
  if (ec == boost::beast::error::timeout) return TimedOut(where, timeout, "answer");
  if (ec) {
    if (write_error) {
      return absl::UnavailableError(
          fmt::format("kmirrord on {} closed the connection: {}", where, write_error.message()));
    }
    if (ec == http::error::end_of_stream) {
      return absl::UnavailableError(
          fmt::format("kmirrord on {} closed the connection without answering", where));
    }
    if (ec.category() != http::make_error_code(http::error::bad_version).category()) {
      // Reset or closed mid-answer (e.g. kmirrord stopping): worth a retry.
      return absl::UnavailableError(
          fmt::format("kmirrord on {} dropped the connection: {}", where, ec.message()));
    }
    return absl::InternalError(
        fmt::format("kmirrord on {} sent an invalid HTTP response: {}", where, ec.message()));
  }
  ClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  try {
    out.body = json::parse(parser.get().body());
  } catch (const json::parse_error& e) {
    return absl::InternalError(
        fmt::format("kmirrord on {} answered HTTP {} with a body that is not JSON: {}", where,
                    out.status, e.what()));
  }
  return out;
}

}  // namespace kmirror::control
