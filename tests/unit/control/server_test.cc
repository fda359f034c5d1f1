// The control server over real sockets: JSON round trips, peer credentials, every kind of bad
// request (each followed by a good one), concurrency bounds, TCP tokens, socket ownership.
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/control/test_util.h"

namespace kmirror::control::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class ServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    if (options.socket_path.empty()) options.socket_path = dir_.Socket();
    absl::StatusOr<std::unique_ptr<Server>> server =
        Server::Start(std::move(options), routes_.Make());
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  Endpoint Unix() const { return Endpoint{dir_.Socket(), "", ""}; }

  absl::StatusOr<ClientResponse> Get(const std::string& path) {
    return Call(Unix(), "GET", path, nullptr, 10s);
  }

  // The server still answers a well-formed request.
  void ExpectServing() {
    absl::StatusOr<ClientResponse> r = Get("/v1/status");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body["ok"], true);
  }

  // Sends raw bytes and expects a JSON error with `status` and `code`; returns its message.
  std::string ExpectRawError(const std::string& bytes, int status, const std::string& code) {
    const std::string raw = RawExchange(dir_.Socket(), bytes);
    std::optional<RawResponse> r = ParseResponse(raw);
    if (!r.has_value()) {
      ADD_FAILURE() << "not an HTTP response: " << raw;
      return "";
    }
    EXPECT_EQ(r->status, status) << raw;
    EXPECT_EQ(r->content_type, "application/json") << raw;
    EXPECT_EQ(ErrorCode(r->body), code) << raw;
    return ErrorMessage(r->body);
  }

  TempDir dir_;
  TestRoutes routes_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, UnixRoundTripCarriesJsonQueryAndPeerCredentials) {
  StartServer();
  absl::StatusOr<ClientResponse> r =
      Call(Unix(), "POST", "/v1/echo?since=10m&flow=" + PathSegment("A->B") + "&x=a+b",
           json{{"reason", "maintenance"}, {"n", 3}}, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body["method"], "POST");
  EXPECT_EQ(r->body["path"], "/v1/echo");
  EXPECT_EQ(r->body["query"], (json{{"since", "10m"}, {"flow", "A->B"}, {"x", "a b"}}));
  EXPECT_EQ(r->body["body"], (json{{"reason", "maintenance"}, {"n", 3}}));
  const json& peer = r->body["peer"];
  EXPECT_EQ(peer["transport"], "unix");
  EXPECT_EQ(peer["uid"], static_cast<int64_t>(::getuid()));
  EXPECT_EQ(peer["gid"], static_cast<int64_t>(::getgid()));
  EXPECT_EQ(peer["pid"], static_cast<int64_t>(::getpid()));
  EXPECT_EQ(peer["address"], "unix");
  EXPECT_THAT(peer["describe"].get<std::string>(),
              StartsWith("uid=" + std::to_string(::getuid()) + "("));
}

TEST_F(ServerTest, EmptyBodyIsNull) {
  StartServer();
  absl::StatusOr<ClientResponse> r = Call(Unix(), "GET", "/v1/echo", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->body["body"].is_null());
}

TEST_F(ServerTest, PercentEncodedFlowNameReachesTheCapture) {
  StartServer();
  absl::StatusOr<ClientResponse> r =
      Call(Unix(), "POST", "/v1/flows/" + PathSegment("A->B") + "/pause", json::object(), 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body["flow"], "A->B");
  EXPECT_EQ(r->body["path"], "/v1/flows/A->B/pause");
  // An encoded '/' cannot make one segment look like two (or two like one).
  r = Call(Unix(), "POST", "/v1/flows/A%2FB/pause", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(ErrorCode(r->body), "bad_request");
}

TEST_F(ServerTest, MalformedOversizedAndUnknownRequestsGetJsonErrorsAndServingContinues) {
  ServerOptions options;
  options.max_header_bytes = 1024;
  options.max_body_bytes = 2048;
  StartServer(options);
  ExpectServing();

  // Raw garbage: 400 (or a plain close when nothing HTTP-like can be answered).
  {
    const std::string raw = RawExchange(dir_.Socket(), std::string("\x01\x02garbage\xff\r\n\r\n"));
    if (!raw.empty()) {
      std::optional<RawResponse> r = ParseResponse(raw);
      ASSERT_TRUE(r.has_value()) << raw;
      EXPECT_EQ(r->status, 400);
      EXPECT_EQ(ErrorCode(r->body), "bad_request");
    }
    ExpectServing();
  }
  // Truncated in the header, then in the body.
  ExpectRawError("GET /v1/status HTTP/1.1\r\nHost: x\r\nAcc", 400, "bad_request");
  ExpectServing();
  ExpectRawError("POST /v1/echo HTTP/1.1\r\nContent-Length: 20\r\n\r\n{\"a\":", 400, "bad_request");
  ExpectServing();
  // Header larger than max_header_bytes.
  ExpectRawError("GET /v1/status HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n", 413,
                 "too_large");
  ExpectServing();
  // Body larger than max_body_bytes: refused from Content-Length alone, without reading it.
  ExpectRawError("POST /v1/echo HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n{", 413, "too_large");
  ExpectServing();
  {
    const std::string big = "{\"a\":\"" + std::string(4096, 'x') + "\"}";
    absl::StatusOr<ClientResponse> r = Call(Unix(), "POST", "/v1/echo", json::parse(big), 10s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(ErrorCode(r->body), "too_large");
  }
  ExpectServing();
  // Chunked body beyond the limit.
  ExpectRawError("POST /v1/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" +
                     std::string(4096, 'x') + "\r\n0\r\n\r\n",
                 413, "too_large");
  ExpectServing();
  // Invalid JSON: 400 naming the position.
  {
    const std::string body = "{\"reason\": tru }";
    const std::string message =
        ExpectRawError("POST /v1/echo HTTP/1.1\r\nContent-Length: " + std::to_string(body.size()) +
                           "\r\n\r\n" + body,
                       400, "invalid_json");
    EXPECT_THAT(message, HasSubstr("line 1, column"));
    EXPECT_THAT(message, HasSubstr("byte"));
  }
  ExpectServing();
  // JSON that is not an object.
  for (const json& body : {json::array({1, 2}), json("text"), json(3)}) {
    absl::StatusOr<ClientResponse> r = Call(Unix(), "POST", "/v1/echo", body, 10s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_EQ(ErrorCode(r->body), "invalid_json") << body;
    EXPECT_THAT(ErrorMessage(r->body), HasSubstr("must be a JSON object")) << body;
    ExpectServing();
  }
  // Nesting beyond any legitimate request.
  {
    const std::string deep = "{\"a\":" + std::string(1000, '[') + std::string(1000, ']') + "}";
    ExpectRawError("POST /v1/echo HTTP/1.1\r\nContent-Length: " + std::to_string(deep.size()) +
                       "\r\n\r\n" + deep,
                   400, "invalid_json");
  }
  ExpectServing();
  // Wrong method, unknown path, malformed escapes, a target that is not a path.
  {
    absl::StatusOr<ClientResponse> r = Call(Unix(), "DELETE", "/v1/status", nullptr, 10s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(ErrorCode(r->body), "method_not_allowed");
    r = Get("/v1/nothing");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(ErrorCode(r->body), "not_found");
  }
  ExpectServing();
  ExpectRawError("GET /v1/st%zztus HTTP/1.1\r\n\r\n", 400, "bad_request");
  ExpectRawError("GET /v1/st%00tus HTTP/1.1\r\n\r\n", 400, "bad_request");
  ExpectRawError("GET http://example.com/v1/status HTTP/1.1\r\n\r\n", 400, "bad_request");
  ExpectServing();
  // Connect and close without a byte.
  EXPECT_EQ(RawExchange(dir_.Socket(), ""), "");
  ExpectServing();
}

TEST_F(ServerTest, HandlerExceptionIs500AndServingContinues) {
  StartServer();
  absl::StatusOr<ClientResponse> r = Get("/v1/throw");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(ErrorCode(r->body), "internal");
  EXPECT_THAT(ErrorMessage(r->body), HasSubstr("boom"));
  ExpectServing();
}

TEST_F(ServerTest, ResponsesAreJsonWithNewline) {
  StartServer();
  const std::string raw = RawExchange(dir_.Socket(), "GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_THAT(raw, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(raw, HasSubstr("Content-Type: application/json\r\n"));
  EXPECT_THAT(raw, HasSubstr("Connection: close\r\n"));
  EXPECT_EQ(raw.back(), '\n');
  std::optional<RawResponse> r = ParseResponse(raw);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body["ok"], true);
}

TEST_F(ServerTest, SlowClientDoesNotBlockOthersAndIsDropped) {
  ServerOptions options;
  options.read_timeout = 300ms;
  StartServer(options);
  const int slow = ConnectRaw(dir_.Socket());
  ASSERT_GE(slow, 0);
  SendAll(slow, "POST /v1/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"half\":");
  // Another client is served while the slow one is still sending.
  ExpectServing();
  // The slow one is answered 408 (or closed) once read_timeout has passed, not held forever.
  const auto start = std::chrono::steady_clock::now();
  const std::string raw = ReadAll(slow);
  ::close(slow);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  if (!raw.empty()) {
    std::optional<RawResponse> r = ParseResponse(raw);
    ASSERT_TRUE(r.has_value()) << raw;
    EXPECT_EQ(r->status, 408);
    EXPECT_EQ(ErrorCode(r->body), "timeout");
  }
  ExpectServing();
}

TEST_F(ServerTest, LongHandlerDoesNotBlockAConcurrentRequest) {
  StartServer();
  auto failover = std::async(
      std::launch::async, [&] { return Call(Unix(), "POST", "/v1/block", json::object(), 30s); });
  ASSERT_TRUE(routes_.blocked.WaitFor(1));
  ExpectServing();  // while the long handler is still running
  routes_.gate.Open();
  absl::StatusOr<ClientResponse> r = failover.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body["done"], true);
}

TEST_F(ServerTest, ConnectionsBeyondMaxConnectionsGet503Busy) {
  ServerOptions options;
  options.max_connections = 2;
  StartServer(options);
  std::vector<std::future<absl::StatusOr<ClientResponse>>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::async(std::launch::async, [&] {
      return Call(Unix(), "POST", "/v1/block", json::object(), 30s);
    }));
  }
  ASSERT_TRUE(routes_.blocked.WaitFor(2));
  absl::StatusOr<ClientResponse> extra = Get("/v1/status");
  ASSERT_TRUE(extra.ok()) << extra.status();
  EXPECT_EQ(extra->status, 503);
  EXPECT_EQ(ErrorCode(extra->body), "busy");
  routes_.gate.Open();
  for (auto& f : held) {
    absl::StatusOr<ClientResponse> r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
  // The slots are free again once the server has closed the held connections, which may come
  // just after their clients read the answers.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  absl::StatusOr<ClientResponse> again = Get("/v1/status");
  while (again.ok() && again->status == 503 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    again = Get("/v1/status");
  }
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->status, 200);
}

TEST_F(ServerTest, StopWaitsForInFlightHandlersDeliversTheirAnswerAndRemovesTheSocket) {
  StartServer();
  auto failover = std::async(
      std::launch::async, [&] { return Call(Unix(), "POST", "/v1/block", json::object(), 30s); });
  ASSERT_TRUE(routes_.blocked.WaitFor(1));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server_->Stop();
    stopped = true;
  });
  // New connections are refused once the listener is closed, while the handler still runs.
  for (;;) {
    absl::StatusOr<ClientResponse> r = Get("/v1/status");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable) << r.status();
      break;
    }
    std::this_thread::yield();
  }
  EXPECT_FALSE(stopped.load());
  routes_.gate.Open();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  absl::StatusOr<ClientResponse> r = failover.get();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  struct stat st {};
  EXPECT_NE(::lstat(dir_.Socket().c_str(), &st), 0) << "socket file left behind";
  server_->Stop();  // idempotent
}

TEST_F(ServerTest, StopDropsAClientStillSendingItsRequest) {
  StartServer();  // default read_timeout: 10 s
  const int slow = ConnectRaw(dir_.Socket());
  ASSERT_GE(slow, 0);
  SendAll(slow, "GET /v1/status HTTP/1.1\r\n");
  ExpectServing();  // the slow connection has certainly been accepted by now
  const auto start = std::chrono::steady_clock::now();
  server_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(ReadAll(slow), "");
  ::close(slow);
}

TEST_F(ServerTest, TcpNeedsTheBearerToken) {
  ServerOptions options;
  options.tcp_listen = "127.0.0.1:0";
  options.token = "s3cret-token";
  StartServer(options);
  ASSERT_NE(server_->tcp_port(), 0);
  const std::string address = "127.0.0.1:" + std::to_string(server_->tcp_port());

  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{"", address, ""}, "GET", "/v1/echo", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(ErrorCode(r->body), "unauthenticated");

  for (const char* wrong : {"s3cret-toke", "s3cret-tokem", "s3cret-token-", "x"}) {
    r = Call(Endpoint{"", address, wrong}, "GET", "/v1/echo", nullptr, 10s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 401) << wrong;
    EXPECT_EQ(ErrorCode(r->body), "unauthenticated") << wrong;
  }

  r = Call(Endpoint{"", address, "s3cret-token"}, "GET", "/v1/echo", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body["peer"]["transport"], "tcp");
  EXPECT_THAT(r->body["peer"]["address"].get<std::string>(), StartsWith("127.0.0.1:"));
  EXPECT_THAT(r->body["peer"]["describe"].get<std::string>(), StartsWith("tcp 127.0.0.1:"));
  ExpectServing();  // the unix socket serves alongside
}

// Any local user can connect to the TCP port; connections that have not authenticated (still
// sending, or never sending the token) do not hold the handler slots, so they cannot lock an
// operator with the token out.
TEST_F(ServerTest, UnauthenticatedTcpConnectionsDoNotTakeTheHandlerSlots) {
  ServerOptions options;
  options.tcp_listen = "127.0.0.1:0";
  options.token = "s3cret-token";
  options.max_connections = 2;
  StartServer(options);
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) {
    const int fd = ConnectTcpRaw(server_->tcp_port());
    ASSERT_GE(fd, 0);
    SendAll(fd, "GET /v1/echo HTTP/1.1\r\n");  // never finishes its headers
    idle.push_back(fd);
  }
  const std::string address = "127.0.0.1:" + std::to_string(server_->tcp_port());
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{"", address, "s3cret-token"}, "GET", "/v1/echo", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200) << r->body.dump();
  for (int fd : idle) ::close(fd);
}

TEST_F(ServerTest, TcpOnlyOnLoopbackAndOnlyWithAToken) {
  for (const char* listen : {"0.0.0.0:0", "10.1.2.3:0", "[::]:0", "[::ffff:10.0.0.1]:0"}) {
    ServerOptions options;
    options.socket_path = dir_.Socket();
    options.tcp_listen = listen;
    options.token = "t";
    absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(options, routes_.Make());
    ASSERT_FALSE(s.ok()) << listen;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a loopback address")) << listen;
    struct stat st {};
    EXPECT_NE(::lstat(dir_.Socket().c_str(), &st), 0) << "a refused Start left a socket file";
  }
  for (const char* listen : {"localhost:0", "127.0.0.1", "127.0.0.1:99999"}) {
    ServerOptions options;
    options.tcp_listen = listen;
    options.token = "t";
    EXPECT_EQ(Server::Start(options, routes_.Make()).status().code(),
              absl::StatusCode::kInvalidArgument)
        << listen;
  }
  ServerOptions no_token;
  no_token.tcp_listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(no_token, routes_.Make());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("token"));
}

TEST_F(ServerTest, SocketIsMode0660InACreatedDirectory) {
  ServerOptions options;
  options.socket_path = dir_.path() + "/run/kmirror/kmirrord.sock";
  StartServer(options);
  struct stat st {};
  ASSERT_EQ(::stat(options.socket_path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  ASSERT_EQ(::stat((dir_.path() + "/run/kmirror").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0027, 0u) << "created directory must not be world-accessible";
  absl::StatusOr<ClientResponse> r =
      Call(Endpoint{options.socket_path, "", ""}, "GET", "/v1/status", nullptr, 10s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
}

TEST_F(ServerTest, SocketGroupIsAppliedAndAnUnknownOneIsNamed) {
  ServerOptions unknown;
  unknown.socket_path = dir_.Socket();
  unknown.socket_group = "no-such-group-kmirror";
  absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(unknown, routes_.Make());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("no-such-group-kmirror"));

  if (::geteuid() != 0) GTEST_SKIP() << "chown to another group needs root";
  group* g = ::getgrgid(65534);
  if (g == nullptr) GTEST_SKIP() << "no group 65534";
  ServerOptions options;
  options.socket_group = g->gr_name;
  StartServer(options);
  struct stat st {};
  ASSERT_EQ(::stat(dir_.Socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, 65534u);
}

TEST_F(ServerTest, SecondServerOnALiveSocketFailsNamingThePath) {
  StartServer();
  ServerOptions options;
  options.socket_path = dir_.Socket();
  absl::StatusOr<std::unique_ptr<Server>> second = Server::Start(options, routes_.Make());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(dir_.Socket()));
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("already serving"));
  ExpectServing();  // the first one is untouched
}

TEST_F(ServerTest, StaleSocketFileIsReplaced) {
  {
    // A socket file nobody listens on, as a crashed kmirrord leaves behind.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    dir_.Socket().copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
    ::close(fd);
  }
  EXPECT_EQ(Get("/v1/status").status().code(), absl::StatusCode::kUnavailable);
  StartServer();
  ExpectServing();
}

TEST_F(ServerTest, AFileThatIsNotASocketIsNotReplaced) {
  { std::ofstream(dir_.Socket()) << "precious"; }
  ServerOptions options;
  options.socket_path = dir_.Socket();
  absl::StatusOr<std::unique_ptr<Server>> s = Server::Start(options, routes_.Make());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("not a socket"));
  std::ifstream in(dir_.Socket());
  std::string content;
  in >> content;
  EXPECT_EQ(content, "precious");
}

// Runs Call() as uid/gid 65534 (nobody) with no supplementary groups in a child process; returns
// "<code> <status> <error code>" as the child saw it.
std::string CallAsNobody(const std::string& socket_path) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return "pipe failed";
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipe_fds[0]);
    std::string out;
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
      out = "setuid failed";
    } else {
      absl::StatusOr<ClientResponse> r =
          Call(Endpoint{socket_path, "", ""}, "GET", "/v1/status", nullptr, 10s);
      if (!r.ok()) {
        out = absl::StatusCodeToString(r.status().code()) + " " + std::string(r.status().message());
      } else {
        out = "OK " + std::to_string(r->status) + " " + ErrorCode(r->body) + " " +
              ErrorMessage(r->body);
      }
    }
    (void)!::write(pipe_fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipe_fds[0], buf, sizeof(buf))) > 0) result.append(buf, n);
  ::close(pipe_fds[0]);
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  return result;
}

TEST_F(ServerTest, AnotherUserIsRefusedByTheSocketModeThenByTheServer) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as nobody";
  StartServer();
  // The file permission (0660, our group) stops nobody at connect().
  std::string seen = CallAsNobody(dir_.Socket());
  EXPECT_THAT(seen, StartsWith("PERMISSION_DENIED"));
  EXPECT_THAT(seen, HasSubstr(dir_.Socket()));
  EXPECT_THAT(seen, HasSubstr("mode 0660"));
  EXPECT_THAT(seen, HasSubstr("member of group"));
  // With the file opened up, the server's own check (SO_PEERCRED) still refuses.
  ASSERT_EQ(::chmod(dir_.Socket().c_str(), 0666), 0);
  seen = CallAsNobody(dir_.Socket());
  EXPECT_THAT(seen, StartsWith("OK 403 permission_denied"));
  EXPECT_THAT(seen, HasSubstr("uid=65534("));
  EXPECT_THAT(seen, HasSubstr("is not root, not the daemon's user"));
  ExpectServing();
}

TEST_F(ServerTest, MembersOfTheSocketGroupAreAllowed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to run a client as nobody";
  group* g = ::getgrgid(65534);
  if (g == nullptr) GTEST_SKIP() << "no group 65534";
  ServerOptions options;
  options.socket_group = g->gr_name;
  StartServer(options);
  EXPECT_THAT(CallAsNobody(dir_.Socket()), StartsWith("OK 200"));
}

}  // namespace
}  // namespace kmirror::control::testing
