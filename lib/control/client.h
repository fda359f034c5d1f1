// The control API's client side, used by kmirrorctl: one HTTP/1.1 request to kmirrord over the
// Unix socket (or loopback TCP with the bearer token), with one deadline for connect, write and
// read, and errors that tell an operator what to do (service not running, no permission).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace kmirror::control {

struct Endpoint {
  std::string socket_path;  // used when set
  std::string tcp;          // otherwise "127.0.0.1:PORT" / "[::1]:PORT"
  std::string token;        // sent as "Authorization: Bearer <token>" when set
};

struct ClientResponse {
  int status = 0;       // HTTP status; 4xx/5xx are responses too, with {"error": {...}} bodies
  nlohmann::json body;  // the parsed JSON body
};

// Percent-encodes one path segment (everything but RFC 3986 unreserved characters):
// "A->B" -> "A-%3EB". The server decodes it; build paths as "/v1/flows/" + PathSegment(flow).
std::string PathSegment(std::string_view segment);

// Sends one request (`body` null: no body) and reads the response; `timeout` bounds connect +
// write + read. `path` is the encoded target, optionally with a query. Errors:
//   kUnavailable       no socket file / connection refused: no kmirrord is listening;
//   kPermissionDenied  the socket (or a directory on its path) is not accessible: names the
//                      path, its owner:group and mode, and how to get access;
//   kDeadlineExceeded  no complete answer within `timeout`;
//   kInternal          the response is not HTTP with a JSON body;
//   kInvalidArgument   no endpoint, or a method/path/token that cannot be sent.
// Thread-safe (no shared state).
absl::StatusOr<ClientResponse> Call(const Endpoint& endpoint, const std::string& method,
                                    const std::string& path, const nlohmann::json& body,
                                    std::chrono::milliseconds timeout);

}  // namespace kmirror::control
