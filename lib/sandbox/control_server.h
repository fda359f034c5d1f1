// HTTP+JSON control endpoint of a running sandbox, so that another process (a robustness test, a
// benchmark, an operator with curl) can inject faults. Loopback only.
//
//   GET  /v1/clusters                                       -> the ready document
//   POST /v1/clusters/{c}/brokers/{id}/down | /up
//   POST /v1/clusters/{c}/brokers/{id}/rtt                  {"ms": 250}
//   POST /v1/clusters/{c}/errors                            {"api_key": 0, "errors": [6, 6],
//   "broker": 1} POST /v1/clusters/{c}/topics                            {"name": "t",
//   "partitions": 3,
//                                                            "replication_factor": 3, "configs":
//                                                            {}}
//   POST /v1/clusters/{c}/topics/{t}/partitions/{p}/leader  {"broker": 2}
//
// Replies are JSON: {"ok": true} or {"error": "..."} with status 400/404. Runs its own thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/sandbox/sandbox.h"

namespace kmirror::sandbox {

class ControlServer {
 public:
  // Listens on host:port (port 0 picks one).
  static absl::StatusOr<std::unique_ptr<ControlServer>> Start(Sandbox* sandbox,
                                                              const std::string& host,
                                                              uint16_t port);
  ~ControlServer();
  uint16_t port() const;
  // Serves one request (exposed for tests): returns HTTP status and JSON body.
  static std::pair<int, std::string> Route(Sandbox* sandbox, const std::string& method,
                                           const std::string& target, const std::string& body);

 private:
  struct Impl;
  explicit ControlServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A minimal client: sends one request to a control server and returns the reply body, or an error
// carrying the server's message.
absl::StatusOr<std::string> ControlRequest(const std::string& host, uint16_t port,
                                           const std::string& method, const std::string& target,
                                           const std::string& body = "");

}  // namespace kmirror::sandbox
