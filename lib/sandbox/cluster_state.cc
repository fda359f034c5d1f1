#include "lib/sandbox/cluster_state.h"

#include <algorithm>
#include <functional>
#include <random>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kmirror::sandbox {
namespace {

std::string RandomClusterId() {
  // Kafka cluster ids are 22 characters of URL-safe base64 (a random UUID).
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::random_device rd;
  std::mt19937 gen(rd());
  std::uniform_int_distribution<int> pick(0, 63);
  std::string id;
  for (int i = 0; i < 22; ++i) id.push_back(kAlphabet[pick(gen)]);
  return id;
}

const char* KeyTypeName(int8_t key_type) { return key_type == 1 ? "transaction" : "group"; }

}  // namespace

std::optional<std::string> ValidateTopicName(const std::string& name) {
  if (name.empty()) return "Topic name is illegal, it can't be empty";
  if (name == "." || name == "..") return "Topic name cannot be \".\" or \"..\"";
  if (name.size() > 249) return "Topic name is illegal, it can't be longer than 249 characters";
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return absl::StrCat("Topic name \"", name,
                          "\" is illegal, it contains a character other than ASCII alphanumerics, "
                          "'.', '_' and '-'");
    }
  }
  return std::nullopt;
}

ClusterState::ClusterState(ClusterOptions options, MockBackend* backend,
                           std::vector<BrokerInfo> brokers)
    : options_(std::move(options)),
      backend_(backend),
      cluster_id_(RandomClusterId()),
      brokers_(std::move(brokers)) {}

const BrokerInfo* ClusterState::Broker(int32_t id) const {
  for (const auto& b : brokers_) {
    if (b.id == id) return &b;
  }
  return nullptr;
}

void ClusterState::SetBrokerPort(int32_t id, uint16_t port) {
  for (auto& b : brokers_) {
    if (b.id == id) b.port = port;
  }
}

std::vector<int32_t> ClusterState::LiveBrokers() const {
  std::vector<int32_t> out;
  for (const auto& b : brokers_) {
    if (b.up) out.push_back(b.id);
  }
  return out;
}

int32_t ClusterState::ControllerId() const {
  auto live = LiveBrokers();
  return live.empty() ? -1 : live.front();
}

const TopicInfo* ClusterState::Topic(const std::string& name) const {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : &it->second;
}

std::vector<std::vector<int32_t>> ClusterState::AssignReplicas(const std::string& topic,
                                                               int32_t first, int32_t count,
                                                               int16_t rf) const {
  const int n = static_cast<int>(brokers_.size());
  const size_t start = std::hash<std::string>{}(topic) % n;
  std::vector<std::vector<int32_t>> out;
  for (int32_t p = first; p < first + count; ++p) {
    std::vector<int32_t> replicas;
    for (int r = 0; r < rf; ++r) replicas.push_back(brokers_[(start + p + r) % n].id);
    out.push_back(std::move(replicas));
  }
  return out;
}

absl::StatusOr<const TopicInfo*> ClusterState::Partition(const std::string& topic,
                                                         int32_t partition) const {
  const TopicInfo* t = Topic(topic);
  if (t == nullptr) return absl::NotFoundError("no topic " + topic);
  if (partition < 0 || partition >= t->partitions()) {
    return absl::NotFoundError(absl::StrCat("topic ", topic, " has no partition ", partition));
  }
  return t;
}

absl::Status ClusterState::CreateTopic(const std::string& name, int32_t partitions, int16_t rf,
                                       std::vector<std::vector<int32_t>> assignment,
                                       std::map<std::string, std::string> configs) {
  if (assignment.empty()) assignment = AssignReplicas(name, 0, partitions, rf);
  const int32_t capacity = std::max(partitions, options_.max_partitions_per_topic);
  if (auto s = backend_->CreateTopic(name, capacity, static_cast<int>(assignment[0].size()));
      !s.ok()) {
    return s;
  }
  TopicInfo t;
  t.name = name;
  t.capacity = capacity;
  t.configs = std::move(configs);
  topics_[name] = std::move(t);
  return AddPartitions(name, partitions, std::move(assignment));
}

absl::Status ClusterState::AddPartitions(const std::string& name, int32_t total,
                                         std::vector<std::vector<int32_t>> assignment) {
  TopicInfo& t = topics_.at(name);
  const int32_t first = t.partitions();
  if (assignment.empty()) {
    int16_t rf = first > 0 ? static_cast<int16_t>(t.replicas[0].size())
                           : static_cast<int16_t>(DefaultReplicationFactor());
    assignment = AssignReplicas(name, first, total - first, rf);
  }
  for (int32_t p = first; p < total; ++p) {
    std::vector<int32_t>& replicas = assignment[p - first];
    // The preferred replica leads unless it is down; then the next live one, else none.
    int32_t leader = -1;
    for (int32_t r : replicas) {
      const BrokerInfo* b = Broker(r);
      if (b != nullptr && b->up) {
        leader = r;
        break;
      }
    }
    if (leader != -1) {
      if (auto s = backend_->SetLeader(name, p, leader); !s.ok()) return s;
    }
    t.replicas.push_back(std::move(replicas));
    t.leaders.push_back(leader);
  }
  return absl::OkStatus();
}

int32_t ClusterState::Coordinator(int8_t key_type, const std::string& key) {
  auto k = std::make_pair(key_type, key);
  auto it = coordinators_.find(k);
  if (it != coordinators_.end()) {
    const BrokerInfo* b = Broker(it->second);
    if (b != nullptr && b->up) return it->second;
  }
  auto live = LiveBrokers();
  if (live.empty()) return -1;
  int32_t chosen = live[std::hash<std::string>{}(key) % live.size()];
  if (!backend_->SetCoordinator(KeyTypeName(key_type), key, chosen).ok()) return -1;
  if (it != coordinators_.end() && key_type == 0) groups_.MoveCoordinator(it->second, chosen);
  coordinators_[k] = chosen;
  return chosen;
}

absl::Status ClusterState::SetBrokerUp(int32_t id, bool up) {
  BrokerInfo* broker = nullptr;
  for (auto& b : brokers_) {
    if (b.id == id) broker = &b;
  }
  if (broker == nullptr) return absl::NotFoundError(absl::StrCat("no broker ", id));
  broker->up = up;
  for (auto& [name, t] : topics_) {
    for (int32_t p = 0; p < t.partitions(); ++p) {
      const bool lost_leader = !up && t.leaders[p] == id;
      const bool leaderless_returns = up && t.leaders[p] == -1;
      if (!lost_leader && !leaderless_returns) continue;
      int32_t next = -1;
      for (int32_t r : t.replicas[p]) {
        const BrokerInfo* b = Broker(r);
        if (b != nullptr && b->up) {
          next = r;
          break;
        }
      }
      t.leaders[p] = next;
      if (next != -1) {
        if (auto s = backend_->SetLeader(name, p, next); !s.ok()) return s;
      }
    }
  }
  if (!up) {
    // Re-pin every key this broker coordinated on a live broker (offsets live in partitions, so
    // nothing is lost; clients see NOT_COORDINATOR and look the coordinator up again).
    for (auto& [k, coordinator] : coordinators_) {
      if (coordinator == id) coordinator = -2;  // forces a new choice below
    }
    for (auto& [k, coordinator] : coordinators_) {
      if (coordinator != -2) continue;
      auto live = LiveBrokers();
      if (live.empty()) continue;
      int32_t chosen = live[std::hash<std::string>{}(k.second) % live.size()];
      if (auto s = backend_->SetCoordinator(KeyTypeName(k.first), k.second, chosen); !s.ok()) {
        return s;
      }
      coordinator = chosen;
    }
    auto live = LiveBrokers();
    if (!live.empty()) groups_.MoveCoordinator(id, live.front());
  }
  return absl::OkStatus();
}

absl::Status ClusterState::MoveLeader(const std::string& topic, int32_t partition, int32_t broker) {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 || partition >= it->second.partitions()) {
    return absl::NotFoundError(absl::StrCat("no partition ", topic, "-", partition));
  }
  const BrokerInfo* b = Broker(broker);
  if (b == nullptr || !b->up) {
    return absl::FailedPreconditionError(absl::StrCat("broker ", broker, " is not up"));
  }
  const auto& replicas = it->second.replicas[partition];
  if (std::find(replicas.begin(), replicas.end(), broker) == replicas.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("broker ", broker, " is not a replica of ", topic, "-", partition));
  }
  if (auto s = backend_->SetLeader(topic, partition, broker); !s.ok()) return s;
  it->second.leaders[partition] = broker;
  return absl::OkStatus();
}

void ClusterState::PushInjectedErrors(int16_t api_key, const std::vector<int16_t>& errors) {
  auto& q = injected_errors_[api_key];
  q.insert(q.end(), errors.begin(), errors.end());
}

int16_t ClusterState::PopInjectedError(int16_t api_key) {
  auto it = injected_errors_.find(api_key);
  if (it == injected_errors_.end() || it->second.empty()) return 0;
  int16_t e = it->second.front();
  it->second.pop_front();
  return e;
}

void ClusterState::PushProduceErrors(const std::string& topic, int32_t partition,
                                     const std::vector<int16_t>& errors) {
  auto& q = produce_errors_[{topic, partition}];
  q.insert(q.end(), errors.begin(), errors.end());
}

int16_t ClusterState::PopProduceError(const std::string& topic, int32_t partition) {
  auto it = produce_errors_.find({topic, partition});
  if (it == produce_errors_.end()) return 0;
  int16_t e = it->second.front();
  it->second.pop_front();
  if (it->second.empty()) produce_errors_.erase(it);
  return e;
}

int64_t ClusterState::MaxMessageBytes(const TopicInfo& t) const {
  auto it = t.configs.find("max.message.bytes");
  int64_t v = 0;
  if (it != t.configs.end() && absl::SimpleAtoi(it->second, &v)) return v;
  return 1048588;  // Kafka's default (message.max.bytes)
}

}  // namespace kmirror::sandbox
