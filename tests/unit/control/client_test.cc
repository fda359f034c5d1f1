// Call(): errors an operator can act on when kmirrord is absent, slow, or answers garbage.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/control/test_util.h"

namespace kmirror::control::testing {
namespace {

using ::testing::HasSubstr;

// A listening unix socket that the test drives by hand.
int ListenUnix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 8) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST(ClientTest, NoSocketFileMeansNoDaemonListening) {
  TempDir dir;
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{dir.Socket(), "", ""}, "GET", "/v1/status", nullptr, 5s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("no kmirrord is listening on " + dir.Socket()));
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("[control] socket"));
}

TEST(ClientTest, RefusedTcpPortMeansNoDaemonListening) {
  // A port that was just free: bound, never listened on.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string where = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{"", where, "t"}, "GET", "/v1/status", nullptr, 5s);
  ::close(fd);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("no kmirrord is listening on " + where));
}

TEST(ClientTest, AnswerThatIsNotJsonIsInternal) {
  TempDir dir;
  const int listener = ListenUnix(dir.Socket());
  ASSERT_GE(listener, 0);
  std::thread fake([listener] {
    const int c = ::accept(listener, nullptr, nullptr);
    char buf[4096];
    (void)!::recv(c, buf, sizeof(buf), 0);
    const std::string answer =
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>";
    (void)!::send(c, answer.data(), answer.size(), MSG_NOSIGNAL);
    ::close(c);
  });
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{dir.Socket(), "", ""}, "GET", "/v1/status", nullptr, 5s);
  fake.join();
  ::close(listener);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("not JSON"));
}

TEST(ClientTest, NoAnswerWithinTheTimeoutIsDeadlineExceeded) {
  TempDir dir;
  const int listener = ListenUnix(dir.Socket());  // accepted by the kernel, never answered
  ASSERT_GE(listener, 0);
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{dir.Socket(), "", ""}, "GET", "/v1/status", nullptr, 200ms);
  const auto took = std::chrono::steady_clock::now() - start;
  ::close(listener);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
}

TEST(ClientTest, UnsendableRequestsAreInvalidArgument) {
  EXPECT_EQ(Call(Endpoint{}, "GET", "/v1/status", nullptr, 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
  const Endpoint e{"/tmp/kmirror-control-none.sock", "", ""};
  EXPECT_EQ(Call(e, "GET", "v1/status", nullptr, 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Call(e, "GET", "/v1/flows/A B", nullptr, 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Call(e, "GET", "/v1/status\r\nX-Injected: 1", nullptr, 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Call(Endpoint{"", "127.0.0.1:1", "a\r\nb"}, "GET", "/", nullptr, 1s).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kmirror::control::testing
