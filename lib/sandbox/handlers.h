// Request handlers of the sandbox front-end: the APIs it answers itself (Metadata,
// FindCoordinator, ApiVersions, topic/config/ACL/group administration) and the observers of the
// group traffic it forwards to the mock.
//
// Handlers take a parsed request header and the request body and return the response body (the
// bytes after the correlation id), or nullopt when the request is malformed — the front-end then
// closes the connection, as a broker does. They hold ClusterState::mu while they run; the caller's
// thread is a front-end I/O thread. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/sandbox/api.h"
#include "lib/sandbox/cluster_state.h"
#include "lib/sandbox/group_registry.h"

namespace kmirror::sandbox {

struct ClientInfo {
  int32_t broker_id = 0;
  std::string client_host;
};

// What the front-end remembers of an observed request until its response comes back.
struct Observation {
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::string group_id;
  std::string member_id;
  JoinRequestInfo join;
};

class Handlers {
 public:
  Handlers(ClusterState* state, std::vector<ApiRange> mock_apis);

  bool IsLocal(int16_t api_key) const { return FindApi(LocalApis(), api_key).has_value(); }
  std::optional<std::string> HandleLocal(const RequestHeader& h, std::string_view body,
                                         const ClientInfo& client);

  // Returns an observation for a forwarded request worth watching (nullopt for the rest).
  std::optional<Observation> ObserveRequest(const RequestHeader& h, std::string_view body,
                                            const ClientInfo& client);
  void ObserveResponse(const Observation& o, std::string_view response_body,
                       const ClientInfo& client);

 private:
  std::optional<std::string> ApiVersions(const RequestHeader& h);
  std::optional<std::string> Metadata(int16_t v, std::string_view body);
  std::optional<std::string> FindCoordinator(int16_t v, std::string_view body);
  std::optional<std::string> CreateTopics(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> CreatePartitions(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> DescribeConfigs(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> AlterConfigs(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> CreateAcls(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> DescribeAcls(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> DeleteAcls(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> ListGroups(int16_t v, const ClientInfo& client, int16_t injected);
  std::optional<std::string> DescribeGroups(int16_t v, std::string_view body, int16_t injected);

  ClusterState* state_;
  std::vector<ApiRange> advertised_;
};

}  // namespace kmirror::sandbox
