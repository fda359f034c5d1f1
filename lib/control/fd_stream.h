// PRIVATE to lib/control: the socket plumbing shared by the server and the client.
//
// FdStream is a Boost.Beast SyncReadStream/SyncWriteStream over a non-blocking socket in which
// every operation ends at a deadline (and, on the server, as soon as Stop() is signalled), so a
// slow or stuck peer never holds a thread forever. Asio's own synchronous sockets ignore
// SO_RCVTIMEO (they poll without a timeout after EAGAIN), hence this small class.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace kmirror::control::internal {

using Clock = std::chrono::steady_clock;

// Owns a file descriptor; closes it on destruction.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Not thread-safe; one per connection. The descriptor must be non-blocking and outlive the stream.
class FdStream {
 public:
  // `stop_fd`: when it becomes readable, every pending and later operation fails with
  // operation_aborted (-1: none).
  explicit FdStream(int fd, int stop_fd = -1) : fd_(fd), stop_fd_(stop_fd) {}

  // Operations fail with beast::error::timeout once `deadline` has passed.
  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }

  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers, boost::system::error_code& ec) {
    std::array<iovec, kMaxIov> iov;
    const int n = Fill(boost::asio::buffer_sequence_begin(buffers),
                       boost::asio::buffer_sequence_end(buffers), iov);
    return ReadV(iov.data(), n, ec);
  }
  template <class MutableBufferSequence>
  size_t read_some(const MutableBufferSequence& buffers) {
    boost::system::error_code ec;
    const size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
    std::array<iovec, kMaxIov> iov;
    const int n = Fill(boost::asio::buffer_sequence_begin(buffers),
                       boost::asio::buffer_sequence_end(buffers), iov);
    return WriteV(iov.data(), n, ec);
  }
  template <class ConstBufferSequence>
  size_t write_some(const ConstBufferSequence& buffers) {
    boost::system::error_code ec;
    const size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

  // Waits for `events` (POLLIN/POLLOUT) on the descriptor until the deadline or the stop signal.
  bool Wait(short events, boost::system::error_code& ec) const;

 private:
  static constexpr size_t kMaxIov = 16;

  template <class It>
  static int Fill(It begin, It end, std::array<iovec, kMaxIov>& iov) {
    int n = 0;
    for (It it = begin; it != end && n < static_cast<int>(kMaxIov); ++it) {
      const auto b = *it;
      if (b.size() == 0) continue;
      iov[n].iov_base = const_cast<void*>(static_cast<const void*>(b.data()));
      iov[n].iov_len = b.size();
      ++n;
    }
    return n;
  }
  size_t ReadV(iovec* iov, int n, boost::system::error_code& ec);
  size_t WriteV(const iovec* iov, int n, boost::system::error_code& ec);

  int fd_;
  int stop_fd_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

// Ends a connection politely after a response was written: half-closes our side, then reads and
// discards what the peer still sends (up to `max_bytes`, until `deadline`) before closing, so the
// peer's unread request bytes do not turn our close into a TCP reset that destroys the response.
// Ends early when `stop_fd` (-1: none) becomes readable.
void LingeringClose(ScopedFd fd, Clock::time_point deadline, int stop_fd = -1,
                    size_t max_bytes = 1 << 20);

// "127.0.0.1:9465" / "[::1]:9465" -> (address, port); nullopt unless an IP literal and a port.
std::optional<std::pair<boost::asio::ip::address, uint16_t>> ParseHostPort(const std::string& s);

// strerror(e), thread-safe.
std::string ErrnoText(int e);

// Fills `storage` with address:port (IPv4 or IPv6); returns the length to pass to bind/connect.
socklen_t ToSockaddr(const boost::asio::ip::address& address, uint16_t port,
                     sockaddr_storage& storage);

}  // namespace kmirror::control::internal
