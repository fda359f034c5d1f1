#include "lib/sandbox/group_registry.h"

namespace kmirror::sandbox {
namespace {
constexpr int16_t kRebalanceInProgress = 27;
constexpr int16_t kUnknownMemberId = 25;
constexpr int16_t kIllegalGeneration = 22;
}  // namespace

Group& GroupRegistry::GetOrCreate(const std::string& group_id) {
  Group& g = groups_[group_id];
  g.group_id = group_id;
  return g;
}

void GroupRegistry::OnJoinRequest(const JoinRequestInfo& req, SteadyTime /*now*/) {
  Group& g = GetOrCreate(req.group_id);
  g.protocol_type = req.protocol_type;
  g.state = "PreparingRebalance";
}

void GroupRegistry::OnJoinResponse(const JoinRequestInfo& req, int32_t broker_id, int16_t error,
                                   int32_t generation, const std::string& protocol_name,
                                   const std::string& member_id, SteadyTime now) {
  if (error != 0 || member_id.empty()) return;
  Group& g = GetOrCreate(req.group_id);
  g.coordinator = broker_id;
  g.protocol_type = req.protocol_type;
  g.protocol_name = protocol_name;
  g.generation = generation;
  g.state = "CompletingRebalance";
  GroupMember& m = g.members[member_id];
  m.member_id = member_id;
  m.group_instance_id = req.group_instance_id;
  m.client_id = req.client_id;
  m.client_host = req.client_host;
  auto p = req.protocols.find(protocol_name);
  if (p != req.protocols.end()) m.metadata = p->second;
  m.session_timeout_ms = req.session_timeout_ms;
  m.last_seen = now;
}

void GroupRegistry::OnSyncResponse(const std::string& group_id, const std::string& member_id,
                                   int32_t broker_id, int16_t error, const std::string& assignment,
                                   SteadyTime now) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& g = it->second;
  if (error == kRebalanceInProgress) {
    g.state = "PreparingRebalance";
    return;
  }
  if (error != 0) return;
  g.coordinator = broker_id;
  auto m = g.members.find(member_id);
  if (m == g.members.end()) return;
  m->second.assignment = assignment;
  m->second.last_seen = now;
  g.state = "Stable";
}

void GroupRegistry::OnHeartbeatResponse(const std::string& group_id, const std::string& member_id,
                                        int16_t error, SteadyTime now) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& g = it->second;
  if (error == kUnknownMemberId || error == kIllegalGeneration) {
    g.members.erase(member_id);
    if (g.members.empty()) g.state = "Empty";
    return;
  }
  auto m = g.members.find(member_id);
  if (m != g.members.end()) m->second.last_seen = now;
  if (error == kRebalanceInProgress) g.state = "PreparingRebalance";
}

void GroupRegistry::OnLeave(const std::string& group_id, const std::string& member_id) {
  auto it = groups_.find(group_id);
  if (it == groups_.end()) return;
  Group& g = it->second;
  g.members.erase(member_id);
  // A departure triggers a rebalance of the rest, or leaves the group empty.
  g.state = g.members.empty() ? "Empty" : "PreparingRebalance";
}

void GroupRegistry::OnOffsetCommit(const std::string& group_id, const std::string& member_id,
                                   int32_t broker_id, SteadyTime now) {
  Group& g = GetOrCreate(group_id);
  g.coordinator = broker_id;
  auto m = g.members.find(member_id);
  if (m != g.members.end()) m->second.last_seen = now;
}

void GroupRegistry::CommitOffset(const std::string& group_id, const std::string& topic,
                                 int32_t partition, CommittedOffset offset) {
  GetOrCreate(group_id).offsets[{topic, partition}] = std::move(offset);
}

void GroupRegistry::Expire(SteadyTime now) {
  for (auto& [id, g] : groups_) {
    bool removed = false;
    for (auto it = g.members.begin(); it != g.members.end();) {
      if (now - it->second.last_seen > std::chrono::milliseconds(it->second.session_timeout_ms)) {
        it = g.members.erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
    if (removed) g.state = g.members.empty() ? "Empty" : "PreparingRebalance";
  }
}

void GroupRegistry::MoveCoordinator(int32_t from, int32_t to) {
  for (auto& [id, g] : groups_) {
    if (g.coordinator == from) g.coordinator = to;
  }
}

std::vector<const Group*> GroupRegistry::GroupsCoordinatedBy(int32_t broker_id) const {
  std::vector<const Group*> out;
  for (const auto& [id, g] : groups_) {
    if (g.coordinator == broker_id) out.push_back(&g);
  }
  return out;
}

const Group* GroupRegistry::Find(const std::string& group_id) const {
  auto it = groups_.find(group_id);
  return it == groups_.end() ? nullptr : &it->second;
}

std::vector<std::string> GroupRegistry::GroupIds() const {
  std::vector<std::string> out;
  for (const auto& [id, g] : groups_) out.push_back(id);
  return out;
}

}  // namespace kmirror::sandbox
