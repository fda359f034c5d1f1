// Deterministic fuzzing of the request parser over real sockets: thousands of mutations of valid
// requests (byte flips, truncations, duplicated headers, huge Content-Length, chunked garbage).
// Each must get a 4xx JSON error or a clean close, a 2xx only for an unmutated route, and the
// server must keep answering.
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/control/test_util.h"

namespace kmirror::control::testing {
namespace {

std::string WithBody(const std::string& head, const std::string& body) {
  return head + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::vector<std::string> Seeds() {
  return {
      WithBody("POST /v1/flows/A-%3EB/pause HTTP/1.1\r\nHost: localhost\r\n"
               "Content-Type: application/json\r\n",
               R"({"reason":"fuzz","until":"10m"})"),
      "GET /v1/status HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n",
      "POST /v1/flows/A-%3EB/pause HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
      "\r\n7\r\n{\"a\":1}\r\n0\r\n\r\n",
  };
}

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}

  std::string Mutate(std::string s) {
    const int ops = 1 + Below(3);
    for (int i = 0; i < ops; ++i) s = MutateOnce(std::move(s));
    return s;
  }

 private:
  size_t Below(size_t n) {
    return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }
  char Byte() { return static_cast<char>(Below(256)); }

  std::string MutateOnce(std::string s) {
    switch (Below(10)) {
      case 0:  // flip bits
        if (!s.empty()) s[Below(s.size())] ^= static_cast<char>(1 << Below(8));
        return s;
      case 1:  // random byte
        if (!s.empty()) s[Below(s.size())] = Byte();
        return s;
      case 2:  // truncate
        return s.substr(0, Below(s.size() + 1));
      case 3: {  // duplicate a header line (possibly with another value)
        const size_t end = s.find("\r\n\r\n");
        const size_t start = s.find("\r\n");
        if (start == std::string::npos || end == std::string::npos || end <= start) return s;
        std::vector<std::string> lines;
        for (size_t p = start + 2; p < end;) {
          const size_t e = s.find("\r\n", p);
          lines.push_back(s.substr(p, e - p));
          p = e + 2;
        }
        if (lines.empty()) return s;
        std::string line = lines[Below(lines.size())];
        if (Below(2) == 0) line += std::to_string(Below(1000));
        s.insert(end + 2, line + "\r\n");
        return s;
      }
      case 4: {  // huge or odd Content-Length
        static const char* kValues[] = {"99999999999999999999", "1000000000", "-1",  "0x10", "1e3",
                                        "18446744073709551616", " 5",         "5, 6"};
        const std::string header = "Content-Length: " + std::string(kValues[Below(8)]) + "\r\n";
        const size_t line = s.find("\r\n");
        if (line == std::string::npos) return s;
        s.insert(line + 2, header);
        return s;
      }
      case 5: {  // chunked framing with garbage
        static const char* kBodies[] = {
            "zz\r\nabc\r\n0\r\n\r\n",      "FFFFFFFFFFFF\r\nx", "5\r\nabc\r\n0\r\n\r\n",
            "3;ext=1\r\n{}}\r\n0\r\n\r\n", "-1\r\n\r\n",        "0\r\nTrailer: x\r\n\r\n"};
        const size_t end = s.find("\r\n\r\n");
        if (end == std::string::npos) return s;
        return s.substr(0, end) + "\r\nTransfer-Encoding: chunked\r\n\r\n" + kBodies[Below(6)];
      }
      case 6: {  // insert random bytes
        std::string junk;
        for (size_t n = 1 + Below(8); n > 0; --n) junk += Byte();
        s.insert(Below(s.size() + 1), junk);
        return s;
      }
      case 7: {  // delete a range
        if (s.empty()) return s;
        const size_t at = Below(s.size());
        s.erase(at, 1 + Below(16));
        return s;
      }
      case 8: {  // CRLF -> LF or CR
        const size_t at = s.find("\r\n", Below(s.size() + 1));
        if (at != std::string::npos) s.erase(at + (Below(2) == 0 ? 0 : 1), 1);
        return s;
      }
      default: {  // corrupt a percent-escape or the method / version
        static const char* kFrom[] = {"%3E", "POST", "GET", "HTTP/1.1", "/pause", "/v1/"};
        static const char* kTo[] = {"%3", "PO ST", "get", "HTTP/9.9", "/pause/", "/v1//"};
        const size_t k = Below(6);
        const size_t at = s.find(kFrom[k]);
        if (at != std::string::npos) s.replace(at, std::string(kFrom[k]).size(), kTo[k]);
        return s;
      }
    }
  }

  std::mt19937 rng_;
};

TEST(ControlFuzzTest, MutatedRequestsGetAClientErrorOrACloseAndNeverAMisroutedSuccess) {
  TempDir dir;
  TestRoutes routes;
  ServerOptions options;
  options.socket_path = dir.Socket();
  options.max_header_bytes = 2048;
  options.max_body_bytes = 4096;
  options.read_timeout = 5s;
  absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(options, routes.Make());
  ASSERT_TRUE(server.ok()) << server.status();

  const std::vector<std::string> seeds = Seeds();
  // The seeds themselves succeed.
  for (const std::string& seed : seeds) {
    std::optional<RawResponse> r = ParseResponse(RawExchange(dir.Socket(), seed));
    ASSERT_TRUE(r.has_value()) << seed;
    ASSERT_EQ(r->status, 200) << seed << "\n" << r->body;
  }

  Mutator mutator(20240611);
  constexpr int kIterations = 3000;
  int closed = 0, client_errors = 0, successes = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kIterations; ++i) {
    const std::string request = mutator.Mutate(seeds[i % seeds.size()]);
    const std::string raw = RawExchange(dir.Socket(), request);
    if (raw.empty()) {
      ++closed;
      continue;
    }
    std::optional<RawResponse> r = ParseResponse(raw);
    ASSERT_TRUE(r.has_value()) << "iteration " << i << ": not HTTP: " << raw;
    ASSERT_EQ(r->content_type, "application/json") << "iteration " << i;
    ASSERT_FALSE(r->body.is_discarded()) << "iteration " << i << ": " << raw;
    if (r->status >= 200 && r->status < 300) {
      // Only an exact route can succeed: a mutation of the path is never routed to a handler
      // that then reports success for something else.
      const std::string path = r->body.value("path", "");
      ASSERT_TRUE(path == "/v1/flows/A->B/pause" || path == "/v1/status")
          << "iteration " << i << ": 2xx for " << path << "\nrequest: " << request;
      if (path != "/v1/status") {
        ASSERT_EQ(r->body.value("flow", ""), "A->B");
      }
      ++successes;
    } else {
      ASSERT_GE(r->status, 400) << "iteration " << i << ": " << raw;
      ASSERT_LT(r->status, 500) << "iteration " << i << ": " << raw << "\nrequest: " << request;
      ASSERT_FALSE(ErrorCode(r->body).empty()) << "iteration " << i << ": " << raw;
      ++client_errors;
    }
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GT(client_errors, kIterations / 4);
  std::printf(
      "fuzz: %d iterations in %lld ms: %d errors, %d successes, %d closes\n", kIterations,
      static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()),
      client_errors, successes, closed);

  absl::StatusOr<ClientResponse> after =
      Call(Endpoint{dir.Socket(), "", ""}, "GET", "/v1/status", nullptr, 10s);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, 200);
}

}  // namespace
}  // namespace kmirror::control::testing
