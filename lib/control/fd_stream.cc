#include "lib/control/fd_stream.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <system_error>

#include "absl/strings/numbers.h"

namespace kmirror::control::internal {

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void ScopedFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

bool FdStream::Wait(short events, boost::system::error_code& ec) const {
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (now >= deadline_) {
      ec = boost::beast::error::timeout;
      return false;
    }
    const auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now).count();
    const int timeout_ms = remaining > 60'000 ? 60'000 : static_cast<int>(remaining);
    pollfd fds[2] = {{fd_, events, 0}, {stop_fd_, POLLIN, 0}};
    const int r = ::poll(fds, stop_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      ec = boost::system::error_code(errno, boost::system::system_category());
      return false;
    }
    if (stop_fd_ >= 0 && (fds[1].revents & POLLIN) != 0) {
      ec = boost::asio::error::operation_aborted;
      return false;
    }
    if (fds[0].revents != 0) return true;  // ready, or an error the next call reports
  }
}

size_t FdStream::ReadV(iovec* iov, int n, boost::system::error_code& ec) {
  ec = {};
  if (n == 0) return 0;
  for (;;) {
    const ssize_t r = ::readv(fd_, iov, n);
    if (r > 0) return static_cast<size_t>(r);
    if (r == 0) {
      ec = boost::asio::error::eof;
      return 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      return 0;
    }
    if (!Wait(POLLIN, ec)) return 0;
  }
}

size_t FdStream::WriteV(const iovec* iov, int n, boost::system::error_code& ec) {
  ec = {};
  if (n == 0) return 0;
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(n);
  for (;;) {
    // MSG_NOSIGNAL: a peer that went away is an error value, not a SIGPIPE.
    const ssize_t r = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (r >= 0) return static_cast<size_t>(r);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      ec = boost::system::error_code(errno, boost::system::system_category());
      return 0;
    }
    if (!Wait(POLLOUT, ec)) return 0;
  }
}

void LingeringClose(ScopedFd fd, Clock::time_point deadline, int stop_fd, size_t max_bytes) {
  if (::shutdown(fd.get(), SHUT_WR) != 0) return;
  FdStream stream(fd.get(), stop_fd);
  stream.set_deadline(deadline);
  char buf[16384];
  size_t total = 0;
  while (total < max_bytes) {
    boost::system::error_code ec;
    const size_t n = stream.read_some(boost::asio::buffer(buf), ec);
    if (ec) break;
    total += n;
  }
}

std::optional<std::pair<boost::asio::ip::address, uint16_t>> ParseHostPort(const std::string& s) {
  std::string host;
  std::string port;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find("]:");
    if (close == std::string::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  uint32_t p = 0;
  if (port.empty() || !absl::SimpleAtoi(port, &p) || p > 65535) return std::nullopt;
  boost::system::error_code ec;
  const boost::asio::ip::address address = boost::asio::ip::make_address(host, ec);
  if (ec) return std::nullopt;
  return std::make_pair(address, static_cast<uint16_t>(p));
}

std::string ErrnoText(int e) { return std::error_code(e, std::generic_category()).message(); }

socklen_t ToSockaddr(const boost::asio::ip::address& address, uint16_t port,
                     sockaddr_storage& storage) {
  storage = sockaddr_storage{};
  if (address.is_v4()) {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(address.to_v4().to_uint());
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  const auto bytes = address.to_v6().to_bytes();
  std::copy(bytes.begin(), bytes.end(), a->sin6_addr.s6_addr);
  return sizeof(sockaddr_in6);
}

}  // namespace kmirror::control::internal
