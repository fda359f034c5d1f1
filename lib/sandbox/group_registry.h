// Consumer groups as seen from the group traffic the sandbox front-end forwards to the mock.
//
// The librdkafka mock keeps group state internally and answers no ListGroups/DescribeGroups, so the
// front-end derives them from the requests and responses it relays: JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup and OffsetCommit. Members expire after their session timeout without
// traffic, as on a broker. Committed offsets are kept here too. Not thread-safe (ClusterState
// locks).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kmirror::sandbox {

using SteadyTime = std::chrono::steady_clock::time_point;

struct GroupMember {
  std::string member_id;
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  std::string metadata;    // protocol metadata of the chosen protocol
  std::string assignment;  // from the last successful SyncGroup
  int32_t session_timeout_ms = 10000;
  SteadyTime last_seen;
};

// A committed offset as the group coordinator stores it (OffsetCommit v6+ carries the epoch).
struct CommittedOffset {
  int64_t offset = -1;
  int32_t leader_epoch = -1;
  std::string metadata;  // a null commit metadata is stored as "", as Kafka does
  friend bool operator==(const CommittedOffset& a, const CommittedOffset& b) {
    return a.offset == b.offset && a.leader_epoch == b.leader_epoch && a.metadata == b.metadata;
  }
};

struct Group {
  std::string group_id;
  std::string protocol_type;  // "consumer", or "" for groups that only commit offsets
  std::string protocol_name;  // the assignor, e.g. "range"
  std::string state = "Empty";
  int32_t generation = 0;
  int32_t coordinator = -1;  // broker id that served its last successful request
  std::map<std::string, GroupMember> members;
  // Committed offsets by (topic, partition). The front-end, not the mock, is the store of record:
  // the mock refuses admin commits to groups it has seen members in (see handlers.h).
  std::map<std::pair<std::string, int32_t>, CommittedOffset> offsets;
};

// What a JoinGroup request carried, kept until its response arrives.
struct JoinRequestInfo {
  std::string group_id;
  std::string protocol_type;
  std::map<std::string, std::string> protocols;  // name -> metadata
  std::optional<std::string> group_instance_id;
  std::string client_id;
  std::string client_host;
  int32_t session_timeout_ms = 10000;
};

class GroupRegistry {
 public:
  void OnJoinRequest(const JoinRequestInfo& req, SteadyTime now);
  void OnJoinResponse(const JoinRequestInfo& req, int32_t broker_id, int16_t error,
                      int32_t generation, const std::string& protocol_name,
                      const std::string& member_id, SteadyTime now);
  void OnSyncResponse(const std::string& group_id, const std::string& member_id, int32_t broker_id,
                      int16_t error, const std::string& assignment, SteadyTime now);
  void OnHeartbeatResponse(const std::string& group_id, const std::string& member_id, int16_t error,
                           SteadyTime now);
  void OnLeave(const std::string& group_id, const std::string& member_id);
  void OnOffsetCommit(const std::string& group_id, const std::string& member_id, int32_t broker_id,
                      SteadyTime now);
  // Stores one committed offset (creating the group, without a coordinator, if unknown).
  void CommitOffset(const std::string& group_id, const std::string& topic, int32_t partition,
                    CommittedOffset offset);
  // Removes members whose session expired; a group left with none becomes Empty.
  void Expire(SteadyTime now);
  // A broker went down: its groups move to `new_coordinator`.
  void MoveCoordinator(int32_t from, int32_t to);

  std::vector<const Group*> GroupsCoordinatedBy(int32_t broker_id) const;
  const Group* Find(const std::string& group_id) const;
  std::vector<std::string> GroupIds() const;

 private:
  Group& GetOrCreate(const std::string& group_id);
  std::map<std::string, Group> groups_;
};

}  // namespace kmirror::sandbox
