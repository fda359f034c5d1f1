// Request handlers of the sandbox front-end: the APIs it answers itself (Metadata,
// FindCoordinator, ApiVersions, topic/config/ACL/group administration, committed offsets) and the
// observers of the group traffic it forwards to the mock.
//
// Committed offsets: OffsetCommit is forwarded to the mock (which checks member and generation)
// and recorded here when it succeeds; OffsetFetch is answered from what was recorded. So the
// front-end is the offset store of record, which lets it accept what the mock cannot (admin
// commits to emptied groups) and serve OffsetFetch v6-7 (flexible), where a null topic list asks
// for every committed partition.
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
#include <utility>
#include <vector>

#include "lib/sandbox/api.h"
#include "lib/sandbox/cluster_state.h"
#include "lib/sandbox/group_registry.h"
#include "lib/sandbox/log_overlay.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {

struct ClientInfo {
  int32_t broker_id = 0;
  std::string client_host;
};

// One partition of an OffsetCommit request.
struct CommitEntry {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::optional<std::string> metadata;
};

// An OffsetCommit request (v0-7).
struct OffsetCommitRequest {
  std::string group_id;
  int32_t generation_id = -1;  // v0 has none
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::vector<std::pair<std::string, std::vector<CommitEntry>>> topics;  // request order
};
std::optional<OffsetCommitRequest> ParseOffsetCommit(int16_t version, std::string_view body);

// A partition's transactional record set in an observed Produce request.
struct ProducedBatch {
  PartitionKey tp;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
};

// A partition of an observed Fetch (or ListOffsets) request that has an overlay.
struct FetchedPartition {
  PartitionKey tp;
  int64_t fetch_offset = -1;
};

// What the front-end remembers of an observed request until its response comes back.
struct Observation {
  int16_t api_key = 0;
  int16_t api_version = 0;
  std::string group_id;
  std::string member_id;
  JoinRequestInfo join;
  std::vector<CommitEntry> commits;  // OffsetCommit: recorded for the partitions that succeed
  // Transactions and deleted records (Produce, Fetch, ListOffsets, EndTxn, InitProducerId).
  std::vector<ProducedBatch> produced;
  std::vector<FetchedPartition> fetched;
  bool read_committed = false;
  std::string transactional_id;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  bool commit = false;
};

// How the front-end answers a forwarded request after seeing the mock's response.
struct ResponseEdit {
  std::optional<std::string> body;  // a rewritten response body; nullopt: relay the mock's
  // Answer only after the fetch wait: the mock's data was held back (an undecided transaction),
  // and an immediate empty answer would have the client poll in a tight loop.
  bool hold = false;
};

class Handlers {
 public:
  Handlers(ClusterState* state, std::vector<ApiRange> mock_apis);

  bool IsLocal(int16_t api_key) const { return FindApi(LocalApis(), api_key).has_value(); }
  std::optional<std::string> HandleLocal(const RequestHeader& h, std::string_view body,
                                         const ClientInfo& client);

  // For a request of a forwarded API that the front-end must answer itself this time, the
  // response body; nullopt to forward it. OffsetCommit: a commit without group generation (admin
  // AlterConsumerGroupOffsets, a consumer with manual assignment) to a group without members is
  // answered here, as Kafka's coordinator accepts it; the mock would refuse it with
  // UNKNOWN_MEMBER_ID once the group has ever had members. Injected OffsetCommit errors are
  // returned here as well.
  // Produce: a partition's batch that a broker would refuse (over the topic's
  // max.message.bytes, or an error injected for that partition) is answered here.
  std::optional<std::string> HandleInsteadOfForwarding(const RequestHeader& h,
                                                       std::string_view body,
                                                       const ClientInfo& client);
  // Returns an observation for a forwarded request worth watching (nullopt for the rest).
  std::optional<Observation> ObserveRequest(const RequestHeader& h, std::string_view body,
                                            const ClientInfo& client);
  ResponseEdit ObserveResponse(const Observation& o, std::string_view response_body,
                               const ClientInfo& client);

 private:
  // log_handlers.cc: transactions and deleted records over the mock's logs (see log_overlay.h).
  // `o` has the API key and version; `r` reads the request body.
  std::optional<Observation> ObserveLogRequest(WireReader& r, Observation o);
  ResponseEdit ObserveLogResponse(const Observation& o, std::string_view body);
  ResponseEdit ProduceDone(const Observation& o, std::string_view body);
  ResponseEdit EndTxnDone(const Observation& o, std::string_view body);
  ResponseEdit InitProducerIdDone(const Observation& o, std::string_view body);
  ResponseEdit FetchDone(const Observation& o, std::string_view body);
  ResponseEdit ListOffsetsDone(const Observation& o, std::string_view body);
  // Writes the markers ending `producer_id`'s open transactions; false when one could not be
  // written (it stays open and the next attempt writes it). Requires ClusterState::mu.
  bool EndTransactions(int64_t producer_id, int16_t epoch, bool commit);

  std::optional<std::string> ProduceRefusals(const RequestHeader& h, std::string_view body);
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
  std::optional<std::string> ListGroups(int16_t v, std::string_view body, const ClientInfo& client,
                                        int16_t injected);
  std::optional<std::string> DescribeGroups(int16_t v, std::string_view body, int16_t injected);
  std::optional<std::string> OffsetFetch(int16_t v, std::string_view body, const ClientInfo& client,
                                         int16_t injected);
  std::optional<std::string> OffsetCommitHere(int16_t v, const OffsetCommitRequest& req,
                                              const ClientInfo& client, int16_t injected);

  ClusterState* state_;
  std::vector<ApiRange> advertised_;
};

}  // namespace kmirror::sandbox
