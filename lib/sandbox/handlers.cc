#include "lib/sandbox/handlers.h"

#include <chrono>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "lib/sandbox/topic_config.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {
namespace {

constexpr int8_t kResourceTopic = 2;
constexpr int8_t kResourceBroker = 4;

SteadyTime Now() { return std::chrono::steady_clock::now(); }

// The APIs whose traffic log_handlers.cc observes (transactions, deleted records).
bool IsLogApi(int16_t key) {
  return key == api::kProduce || key == api::kFetch || key == api::kListOffsets ||
         key == api::kEndTxn || key == api::kInitProducerId;
}

// Message for an injected error, so that tests and logs can tell it from a real one.
std::optional<std::string> InjectedMessage(int16_t code) {
  if (code == 0) return std::nullopt;
  return absl::StrCat("sandbox: injected error ", code);
}

void WriteThrottle(WireWriter& w) { w.Int32(0); }

// The error a group coordinator request gets on broker `broker_id`: NOT_COORDINATOR when the
// group is coordinated elsewhere, as on a broker. Requires ClusterState::mu.
int16_t CoordinatorError(ClusterState& s, const std::string& group_id, int32_t broker_id) {
  const int32_t coordinator = s.Coordinator(0, group_id);
  if (coordinator == -1) return err::kCoordinatorNotAvailable;
  return coordinator == broker_id ? err::kNone : err::kNotCoordinator;
}

}  // namespace

std::optional<OffsetCommitRequest> ParseOffsetCommit(int16_t v, std::string_view body) {
  if (v < 0 || v > 7) return std::nullopt;  // v8+ is flexible
  WireReader r(body);
  OffsetCommitRequest q;
  q.group_id = r.String();
  if (v >= 1) {
    q.generation_id = r.Int32();
    q.member_id = r.String();
  }
  if (v >= 7) q.group_instance_id = r.NullableString();
  if (v >= 2 && v <= 4) r.Int64();  // retention_time_ms
  int32_t nt = r.ArrayLength(6);
  for (int32_t t = 0; t < nt && r.ok(); ++t) {
    std::string topic = r.String();
    std::vector<CommitEntry> entries;
    int32_t np = r.ArrayLength(14);
    for (int32_t p = 0; p < np && r.ok(); ++p) {
      CommitEntry e;
      e.topic = topic;
      e.partition = r.Int32();
      e.offset = r.Int64();
      if (v >= 6) e.leader_epoch = r.Int32();
      if (v == 1) r.Int64();  // commit_timestamp
      e.metadata = r.NullableString();
      entries.push_back(std::move(e));
    }
    q.topics.emplace_back(std::move(topic), std::move(entries));
  }
  if (!r.ok()) return std::nullopt;
  return q;
}

Handlers::Handlers(ClusterState* state, std::vector<ApiRange> mock_apis)
    : state_(state), advertised_(AdvertisedApis(mock_apis)) {}

std::optional<std::string> Handlers::HandleLocal(const RequestHeader& h, std::string_view body,
                                                 const ClientInfo& client) {
  if (h.api_key == api::kApiVersions) return ApiVersions(h);
  auto range = FindApi(LocalApis(), h.api_key);
  if (!range || h.api_version < range->min || h.api_version > range->max) return std::nullopt;
  int16_t injected = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    injected = state_->PopInjectedError(h.api_key);
  }
  const int16_t v = h.api_version;
  switch (h.api_key) {
    case api::kMetadata:
      return Metadata(v, body);
    case api::kFindCoordinator:
      return FindCoordinator(v, body);
    case api::kCreateTopics:
      return CreateTopics(v, body, injected);
    case api::kCreatePartitions:
      return CreatePartitions(v, body, injected);
    case api::kDescribeConfigs:
      return DescribeConfigs(v, body, injected);
    case api::kAlterConfigs:
      return AlterConfigs(v, body, injected);
    case api::kCreateAcls:
      return CreateAcls(v, body, injected);
    case api::kDescribeAcls:
      return DescribeAcls(v, body, injected);
    case api::kDeleteAcls:
      return DeleteAcls(v, body, injected);
    case api::kListGroups:
      return ListGroups(v, body, client, injected);
    case api::kDescribeGroups:
      return DescribeGroups(v, body, injected);
    case api::kOffsetFetch:
      return OffsetFetch(v, body, client, injected);
    default:
      return std::nullopt;
  }
}

// ApiVersions: the version check happens before anything else, and an unsupported version gets a
// v0 response with UNSUPPORTED_VERSION and the table, so the client can retry with one we know.
std::optional<std::string> Handlers::ApiVersions(const RequestHeader& h) {
  WireWriter w;
  const bool supported = h.api_version >= 0 && h.api_version <= 3;
  w.Int16(supported ? err::kNone : err::kUnsupportedVersion);
  if (supported && h.api_version >= 3) {
    w.CompactArrayLength(static_cast<int32_t>(advertised_.size()));
    for (const auto& r : advertised_) {
      w.Int16(r.key);
      w.Int16(r.min);
      w.Int16(r.max);
      w.EmptyTaggedFields();
    }
    w.Int32(0);  // throttle
    w.EmptyTaggedFields();
    return w.Take();
  }
  w.Int32(static_cast<int32_t>(advertised_.size()));
  for (const auto& r : advertised_) {
    w.Int16(r.key);
    w.Int16(r.min);
    w.Int16(r.max);
  }
  if (supported && h.api_version >= 1) w.Int32(0);
  return w.Take();
}

std::optional<std::string> Handlers::Metadata(int16_t v, std::string_view body) {
  WireReader r(body);
  std::optional<std::vector<std::string>> requested;  // nullopt = all topics
  int32_t n = r.ArrayLength(2);
  if (n >= 0 && !(v == 0 && n == 0)) {
    requested.emplace();
    for (int32_t i = 0; i < n; ++i) requested->push_back(r.String());
  }
  bool allow_auto_create = true;
  if (v >= 4) allow_auto_create = r.Bool();
  if (v >= 8) {
    r.Bool();
    r.Bool();
  }
  if (!r.ok()) return std::nullopt;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  WireWriter w;
  if (v >= 3) WriteThrottle(w);
  auto live = s.LiveBrokers();
  w.Int32(static_cast<int32_t>(live.size()));
  for (int32_t id : live) {
    const BrokerInfo* b = s.Broker(id);
    w.Int32(b->id);
    w.String(b->host);
    w.Int32(b->port);
    if (v >= 1) w.NullableString(std::nullopt);  // rack
  }
  if (v >= 2) w.NullableString(s.cluster_id());
  if (v >= 1) w.Int32(s.ControllerId());

  auto write_topic = [&](const std::string& name, const TopicInfo* t, int16_t error) {
    w.Int16(error);
    w.String(name);
    if (v >= 1) w.Bool(false);  // is_internal
    if (t == nullptr) {
      w.Int32(0);
    } else {
      w.Int32(t->partitions());
      for (int32_t p = 0; p < t->partitions(); ++p) {
        const int32_t leader = t->leaders[p];
        std::vector<int32_t> isr, offline;
        for (int32_t rep : t->replicas[p]) {
          const BrokerInfo* b = s.Broker(rep);
          (b != nullptr && b->up ? isr : offline).push_back(rep);
        }
        w.Int16(leader == -1 ? err::kLeaderNotAvailable : err::kNone);
        w.Int32(p);
        w.Int32(leader);
        if (v >= 7) w.Int32(0);  // leader epoch
        w.Int32(static_cast<int32_t>(t->replicas[p].size()));
        for (int32_t rep : t->replicas[p]) w.Int32(rep);
        w.Int32(static_cast<int32_t>(isr.size()));
        for (int32_t rep : isr) w.Int32(rep);
        if (v >= 5) {
          w.Int32(static_cast<int32_t>(offline.size()));
          for (int32_t rep : offline) w.Int32(rep);
        }
      }
    }
    if (v >= 8) w.Int32(INT32_MIN);  // topic authorized operations: not computed
  };

  if (!requested) {
    w.Int32(static_cast<int32_t>(s.topics().size()));
    for (const auto& [name, t] : s.topics()) write_topic(name, &t, err::kNone);
  } else {
    w.Int32(static_cast<int32_t>(requested->size()));
    for (const std::string& name : *requested) {
      const TopicInfo* t = s.Topic(name);
      if (t == nullptr && allow_auto_create && s.options().auto_create_topics &&
          !ValidateTopicName(name) && !s.LiveBrokers().empty()) {
        // auto.create.topics.enable: num.partitions=1, default.replication.factor.
        int16_t rf = static_cast<int16_t>(
            std::min<size_t>(s.DefaultReplicationFactor(), s.LiveBrokers().size()));
        if (s.CreateTopic(name, 1, rf, {}, {}).ok()) t = s.Topic(name);
      }
      if (t != nullptr) {
        write_topic(name, t, err::kNone);
      } else {
        write_topic(name, nullptr,
                    ValidateTopicName(name) ? err::kInvalidTopic : err::kUnknownTopicOrPartition);
      }
    }
  }
  if (v >= 8) w.Int32(INT32_MIN);  // cluster authorized operations
  return w.Take();
}

std::optional<std::string> Handlers::FindCoordinator(int16_t v, std::string_view body) {
  WireReader r(body);
  std::string key = r.String();
  int8_t key_type = v >= 1 ? r.Int8() : 0;
  if (!r.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mu);
  WireWriter w;
  if (v >= 1) WriteThrottle(w);
  int32_t id = (key_type == 0 || key_type == 1) ? state_->Coordinator(key_type, key) : -1;
  const BrokerInfo* b = id >= 0 ? state_->Broker(id) : nullptr;
  if (b == nullptr) {
    w.Int16(key_type == 0 || key_type == 1 ? err::kCoordinatorNotAvailable : err::kInvalidRequest);
    if (v >= 1) w.NullableString("sandbox: no coordinator available");
    w.Int32(-1);
    w.String("");
    w.Int32(-1);
  } else {
    w.Int16(err::kNone);
    if (v >= 1) w.NullableString(std::nullopt);
    w.Int32(b->id);
    w.String(b->host);
    w.Int32(b->port);
  }
  return w.Take();
}

std::optional<std::string> Handlers::CreateTopics(int16_t v, std::string_view body,
                                                  int16_t injected) {
  struct Req {
    std::string name;
    int32_t partitions;
    int16_t rf;
    std::vector<std::pair<int32_t, std::vector<int32_t>>> assignments;
    std::vector<std::pair<std::string, std::optional<std::string>>> configs;
  };
  WireReader r(body);
  std::vector<Req> reqs;
  int32_t n = r.ArrayLength(8);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Req q;
    q.name = r.String();
    q.partitions = r.Int32();
    q.rf = r.Int16();
    int32_t na = r.ArrayLength(8);
    for (int32_t a = 0; a < na && r.ok(); ++a) {
      int32_t pidx = r.Int32();
      std::vector<int32_t> brokers;
      int32_t nb = r.ArrayLength(4);
      for (int32_t b = 0; b < nb; ++b) brokers.push_back(r.Int32());
      q.assignments.emplace_back(pidx, std::move(brokers));
    }
    int32_t nc = r.ArrayLength(4);
    for (int32_t c = 0; c < nc && r.ok(); ++c) {
      std::string key = r.String();
      q.configs.emplace_back(std::move(key), r.NullableString());
    }
    reqs.push_back(std::move(q));
  }
  r.Int32();  // timeout_ms
  bool validate_only = v >= 1 ? r.Bool() : false;
  if (!r.ok()) return std::nullopt;

  std::map<std::string, int> name_count;
  for (const auto& q : reqs) name_count[q.name]++;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  WireWriter w;
  if (v >= 2) WriteThrottle(w);
  w.Int32(static_cast<int32_t>(reqs.size()));
  for (const Req& q : reqs) {
    int16_t code = injected;
    std::optional<std::string> message = InjectedMessage(injected);
    auto fail = [&](int16_t c, std::string m) {
      if (code == err::kNone) {
        code = c;
        message = std::move(m);
      }
    };
    const int live = static_cast<int>(s.LiveBrokers().size());
    int32_t partitions = q.partitions == -1 ? 1 : q.partitions;  // num.partitions=1
    int16_t rf = q.rf == -1 ? static_cast<int16_t>(s.DefaultReplicationFactor()) : q.rf;
    std::vector<std::vector<int32_t>> assignment;
    std::map<std::string, std::string> configs;
    if (name_count[q.name] > 1) {
      fail(err::kInvalidRequest,
           absl::StrCat("Create topics request contains multiple entries for topic ", q.name));
    } else if (auto bad = ValidateTopicName(q.name)) {
      fail(err::kInvalidTopic, *bad);
    } else if (s.Topic(q.name) != nullptr) {
      fail(err::kTopicAlreadyExists, absl::StrCat("Topic '", q.name, "' already exists."));
    } else if (!q.assignments.empty() && (q.partitions != -1 || q.rf != -1)) {
      fail(err::kInvalidRequest,
           "Both numPartitions or replicationFactor and replicasAssignments were set. Both cannot "
           "be used at the same time.");
    } else if (q.assignments.empty() && partitions <= 0) {
      fail(err::kInvalidPartitions,
           "Number of partitions was set to an invalid non-positive value.");
    } else if (q.assignments.empty() && rf <= 0) {
      fail(err::kInvalidReplicationFactor,
           "Replication factor must be larger than 0, or -1 to use the default value.");
    } else if (q.assignments.empty() && rf > live) {
      fail(err::kInvalidReplicationFactor,
           absl::StrCat("Replication factor: ", rf, " larger than available brokers: ", live, "."));
    } else if (partitions > 1000000) {
      fail(err::kInvalidPartitions, "sandbox: at most 1000000 partitions per topic");
    }
    if (code == err::kNone && !q.assignments.empty()) {
      partitions = static_cast<int32_t>(q.assignments.size());
      assignment.resize(partitions);
      for (const auto& [pidx, brokers] : q.assignments) {
        std::set<int32_t> distinct(brokers.begin(), brokers.end());
        bool known = true;
        for (int32_t b : brokers) known = known && s.Broker(b) != nullptr;
        if (pidx < 0 || pidx >= partitions || !assignment[pidx].empty() || brokers.empty() ||
            distinct.size() != brokers.size() || !known ||
            brokers.size() != q.assignments[0].second.size()) {
          fail(err::kInvalidReplicaAssignment,
               absl::StrCat("Invalid replica assignment for partition ", pidx, " of ", q.name));
          break;
        }
        assignment[pidx] = brokers;
      }
    }
    for (const auto& [key, value] : q.configs) {
      if (code != err::kNone) break;
      if (auto bad = ValidateTopicConfig(key, value)) {
        fail(err::kInvalidConfig, *bad);
      } else {
        configs[key] = *value;
      }
    }
    if (code == err::kNone && !validate_only) {
      if (auto st = s.CreateTopic(q.name, partitions, rf, assignment, configs); !st.ok()) {
        fail(err::kUnknownServerError, std::string(st.message()));
      }
    }
    w.String(q.name);
    w.Int16(code);
    if (v >= 1) w.NullableString(message);
  }
  return w.Take();
}

std::optional<std::string> Handlers::CreatePartitions(int16_t v, std::string_view body,
                                                      int16_t injected) {
  struct Req {
    std::string name;
    int32_t count;
    std::optional<std::vector<std::vector<int32_t>>> assignments;
  };
  WireReader r(body);
  std::vector<Req> reqs;
  int32_t n = r.ArrayLength(8);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Req q;
    q.name = r.String();
    q.count = r.Int32();
    int32_t na = r.ArrayLength(4);
    if (na >= 0) {
      q.assignments.emplace();
      for (int32_t a = 0; a < na && r.ok(); ++a) {
        std::vector<int32_t> brokers;
        int32_t nb = r.ArrayLength(4);
        for (int32_t b = 0; b < nb; ++b) brokers.push_back(r.Int32());
        q.assignments->push_back(std::move(brokers));
      }
    }
    reqs.push_back(std::move(q));
  }
  r.Int32();  // timeout
  bool validate_only = r.Bool();
  if (!r.ok()) return std::nullopt;
  (void)v;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  WireWriter w;
  WriteThrottle(w);
  w.Int32(static_cast<int32_t>(reqs.size()));
  for (const Req& q : reqs) {
    int16_t code = injected;
    std::optional<std::string> message = InjectedMessage(injected);
    const TopicInfo* t = s.Topic(q.name);
    if (code != err::kNone) {
    } else if (t == nullptr) {
      code = err::kUnknownTopicOrPartition;
      message = absl::StrCat("The topic '", q.name, "' does not exist.");
    } else if (q.count == t->partitions()) {
      code = err::kInvalidPartitions;
      message = absl::StrCat("Topic already has ", t->partitions(), " partitions.");
    } else if (q.count < t->partitions()) {
      code = err::kInvalidPartitions;
      message = absl::StrCat("Topic currently has ", t->partitions(),
                             " partitions, which is higher than the requested ", q.count, ".");
    } else if (q.count > t->capacity) {
      code = err::kInvalidPartitions;
      message = absl::StrCat("sandbox limit: topic '", q.name, "' has room for ", t->capacity,
                             " partitions (max_partitions_per_topic); requested ", q.count);
    } else if (q.assignments &&
               static_cast<int32_t>(q.assignments->size()) != q.count - t->partitions()) {
      code = err::kInvalidReplicaAssignment;
      message = absl::StrCat("Increasing the number of partitions by ", q.count - t->partitions(),
                             " but ", q.assignments->size(), " assignments provided.");
    }
    if (code == err::kNone && q.assignments) {
      for (const auto& brokers : *q.assignments) {
        bool ok = !brokers.empty();
        for (int32_t b : brokers) ok = ok && s.Broker(b) != nullptr;
        if (!ok) {
          code = err::kInvalidReplicaAssignment;
          message = "Replica assignment names an unknown broker";
          break;
        }
      }
    }
    if (code == err::kNone && !validate_only) {
      auto st = s.AddPartitions(q.name, q.count,
                                q.assignments.value_or(std::vector<std::vector<int32_t>>{}));
      if (!st.ok()) {
        code = err::kUnknownServerError;
        message = std::string(st.message());
      }
    }
    w.String(q.name);
    w.Int16(code);
    w.NullableString(message);
  }
  return w.Take();
}

std::optional<std::string> Handlers::DescribeConfigs(int16_t v, std::string_view body,
                                                     int16_t injected) {
  struct Req {
    int8_t type;
    std::string name;
    std::optional<std::vector<std::string>> keys;
  };
  WireReader r(body);
  std::vector<Req> reqs;
  int32_t n = r.ArrayLength(7);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Req q;
    q.type = r.Int8();
    q.name = r.String();
    int32_t nk = r.ArrayLength(2);
    if (nk >= 0) {
      q.keys.emplace();
      for (int32_t k = 0; k < nk; ++k) q.keys->push_back(r.String());
    }
    reqs.push_back(std::move(q));
  }
  bool include_synonyms = v >= 1 ? r.Bool() : false;
  bool include_docs = v >= 3 ? r.Bool() : false;
  if (!r.ok()) return std::nullopt;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  WireWriter w;
  WriteThrottle(w);
  w.Int32(static_cast<int32_t>(reqs.size()));
  for (const Req& q : reqs) {
    int16_t code = injected;
    std::optional<std::string> message = InjectedMessage(injected);
    std::vector<DescribedConfig> configs;
    if (code != err::kNone) {
    } else if (q.type == kResourceTopic) {
      if (const TopicInfo* t = s.Topic(q.name)) {
        configs = DescribeTopicConfigs(t->configs);
      } else {
        code = err::kUnknownTopicOrPartition;
        message = absl::StrCat("Topic ", q.name, " does not exist");
      }
    } else if (q.type == kResourceBroker) {
      int32_t id = 0;
      const BrokerInfo* b = absl::SimpleAtoi(q.name, &id) ? s.Broker(id) : nullptr;
      if (q.name.empty()) {
        // Cluster-wide dynamic broker defaults: none are set in the sandbox.
      } else if (b == nullptr) {
        code = err::kInvalidRequest;
        message = absl::StrCat("Unknown broker ", q.name);
      } else {
        configs =
            DescribeBrokerConfigs(b->id, absl::StrCat(b->host, ":", b->port),
                                  s.options().auto_create_topics, s.DefaultReplicationFactor());
      }
    } else {
      code = err::kInvalidRequest;
      message = absl::StrCat("sandbox: unsupported resource type ", q.type);
    }
    w.Int16(code);
    w.NullableString(message);
    w.Int8(q.type);
    w.String(q.name);
    std::vector<const DescribedConfig*> selected;
    for (const auto& c : configs) {
      bool wanted = !q.keys;
      if (q.keys) {
        for (const auto& k : *q.keys) wanted = wanted || k == c.name;
      }
      if (wanted) selected.push_back(&c);
    }
    w.Int32(static_cast<int32_t>(selected.size()));
    for (const DescribedConfig* c : selected) {
      w.String(c->name);
      w.NullableString(c->value);
      w.Bool(c->read_only);
      if (v == 0) {
        w.Bool(c->source == ConfigSource::kDefault);
      } else {
        w.Int8(static_cast<int8_t>(c->source));
      }
      w.Bool(c->sensitive);
      if (v >= 1) {
        if (include_synonyms) {
          w.Int32(static_cast<int32_t>(c->synonyms.size()));
          for (const auto& syn : c->synonyms) {
            w.String(syn.name);
            w.NullableString(c->sensitive ? std::nullopt : syn.value);
            w.Int8(static_cast<int8_t>(syn.source));
          }
        } else {
          w.Int32(0);
        }
      }
      if (v >= 3) {
        w.Int8(static_cast<int8_t>(c->type));
        w.NullableString(include_docs ? std::optional<std::string>(c->documentation)
                                      : std::nullopt);
      }
    }
  }
  return w.Take();
}

std::optional<std::string> Handlers::AlterConfigs(int16_t v, std::string_view body,
                                                  int16_t injected) {
  struct Req {
    int8_t type;
    std::string name;
    std::vector<std::pair<std::string, std::optional<std::string>>> configs;
  };
  WireReader r(body);
  std::vector<Req> reqs;
  int32_t n = r.ArrayLength(7);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    Req q;
    q.type = r.Int8();
    q.name = r.String();
    int32_t nc = r.ArrayLength(4);
    for (int32_t c = 0; c < nc && r.ok(); ++c) {
      std::string key = r.String();
      q.configs.emplace_back(std::move(key), r.NullableString());
    }
    reqs.push_back(std::move(q));
  }
  bool validate_only = r.Bool();
  if (!r.ok()) return std::nullopt;
  (void)v;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  WireWriter w;
  WriteThrottle(w);
  w.Int32(static_cast<int32_t>(reqs.size()));
  for (const Req& q : reqs) {
    int16_t code = injected;
    std::optional<std::string> message = InjectedMessage(injected);
    std::map<std::string, std::string> next;
    if (code != err::kNone) {
    } else if (q.type == kResourceTopic) {
      if (s.Topic(q.name) == nullptr) {
        code = err::kUnknownTopicOrPartition;
        message = absl::StrCat("Topic ", q.name, " does not exist");
      }
      for (const auto& [key, value] : q.configs) {
        if (code != err::kNone) break;
        if (auto bad = ValidateTopicConfig(key, value)) {
          code = err::kInvalidConfig;
          message = *bad;
        } else {
          next[key] = *value;
        }
      }
      // AlterConfigs (non-incremental) replaces the whole set of dynamic overrides.
      if (code == err::kNone && !validate_only) s.topics()[q.name].configs = std::move(next);
    } else if (q.type == kResourceBroker) {
      code = err::kInvalidRequest;
      message = "sandbox: broker configs cannot be altered";
    } else {
      code = err::kInvalidRequest;
      message = absl::StrCat("sandbox: unsupported resource type ", q.type);
    }
    w.Int16(code);
    w.NullableString(message);
    w.Int8(q.type);
    w.String(q.name);
  }
  return w.Take();
}

namespace {

AclFilter ReadFilter(WireReader& r, int16_t v) {
  AclFilter f;
  f.resource_type = static_cast<ResourceType>(r.Int8());
  f.resource_name = r.NullableString();
  f.pattern_type = v >= 1 ? static_cast<PatternType>(r.Int8()) : PatternType::kLiteral;
  f.principal = r.NullableString();
  f.host = r.NullableString();
  f.operation = static_cast<AclOperation>(r.Int8());
  f.permission = static_cast<AclPermission>(r.Int8());
  return f;
}

}  // namespace

std::optional<std::string> Handlers::CreateAcls(int16_t v, std::string_view body,
                                                int16_t injected) {
  WireReader r(body);
  std::vector<AclBinding> reqs;
  int32_t n = r.ArrayLength(9);
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    AclBinding b;
    b.resource_type = static_cast<ResourceType>(r.Int8());
    b.resource_name = r.String();
    b.pattern_type = v >= 1 ? static_cast<PatternType>(r.Int8()) : PatternType::kLiteral;
    b.principal = r.String();
    b.host = r.String();
    b.operation = static_cast<AclOperation>(r.Int8());
    b.permission = static_cast<AclPermission>(r.Int8());
    reqs.push_back(std::move(b));
  }
  if (!r.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mu);
  WireWriter w;
  WriteThrottle(w);
  w.Int32(static_cast<int32_t>(reqs.size()));
  for (const AclBinding& b : reqs) {
    int16_t code = injected;
    std::optional<std::string> message = InjectedMessage(injected);
    if (code == err::kNone) {
      if (auto bad = ValidateBinding(b)) {
        code = err::kInvalidRequest;
        message = *bad;
      } else {
        state_->acls().Add(b);
      }
    }
    w.Int16(code);
    w.NullableString(message);
  }
  return w.Take();
}

std::optional<std::string> Handlers::DescribeAcls(int16_t v, std::string_view body,
                                                  int16_t injected) {
  WireReader r(body);
  AclFilter f = ReadFilter(r, v);
  if (!r.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mu);
  WireWriter w;
  WriteThrottle(w);
  std::optional<std::string> bad = injected ? InjectedMessage(injected) : ValidateFilter(f);
  if (bad) {
    w.Int16(injected ? injected : err::kInvalidRequest);
    w.NullableString(bad);
    w.Int32(0);
    return w.Take();
  }
  w.Int16(err::kNone);
  w.NullableString(std::nullopt);
  // Group bindings by resource pattern, as a broker does.
  std::map<std::tuple<ResourceType, std::string, PatternType>, std::vector<AclBinding>> resources;
  for (const AclBinding& b : state_->acls().Find(f)) {
    resources[{b.resource_type, b.resource_name, b.pattern_type}].push_back(b);
  }
  w.Int32(static_cast<int32_t>(resources.size()));
  for (const auto& [key, bindings] : resources) {
    w.Int8(static_cast<int8_t>(std::get<0>(key)));
    w.String(std::get<1>(key));
    if (v >= 1) w.Int8(static_cast<int8_t>(std::get<2>(key)));
    w.Int32(static_cast<int32_t>(bindings.size()));
    for (const AclBinding& b : bindings) {
      w.String(b.principal);
      w.String(b.host);
      w.Int8(static_cast<int8_t>(b.operation));
      w.Int8(static_cast<int8_t>(b.permission));
    }
  }
  return w.Take();
}

std::optional<std::string> Handlers::DeleteAcls(int16_t v, std::string_view body,
                                                int16_t injected) {
  WireReader r(body);
  std::vector<AclFilter> filters;
  int32_t n = r.ArrayLength(9);
  for (int32_t i = 0; i < n && r.ok(); ++i) filters.push_back(ReadFilter(r, v));
  if (!r.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mu);
  WireWriter w;
  WriteThrottle(w);
  w.Int32(static_cast<int32_t>(filters.size()));
  for (const AclFilter& f : filters) {
    std::optional<std::string> bad = injected ? InjectedMessage(injected) : ValidateFilter(f);
    if (bad) {
      w.Int16(injected ? injected : err::kInvalidRequest);
      w.NullableString(bad);
      w.Int32(0);
      continue;
    }
    std::vector<AclBinding> removed = state_->acls().Remove(f);
    w.Int16(err::kNone);
    w.NullableString(std::nullopt);
    w.Int32(static_cast<int32_t>(removed.size()));
    for (const AclBinding& b : removed) {
      w.Int16(err::kNone);
      w.NullableString(std::nullopt);
      w.Int8(static_cast<int8_t>(b.resource_type));
      w.String(b.resource_name);
      if (v >= 1) w.Int8(static_cast<int8_t>(b.pattern_type));
      w.String(b.principal);
      w.String(b.host);
      w.Int8(static_cast<int8_t>(b.operation));
      w.Int8(static_cast<int8_t>(b.permission));
    }
  }
  return w.Take();
}

// ListGroups v3+ is flexible (request header v2, response header v1: both carry tagged fields
// that the front-end's header parsing and ResponseFrame leave to the body); v4 adds the states
// filter and each group's state, which clients such as librdkafka's ListConsumerGroups report.
std::optional<std::string> Handlers::ListGroups(int16_t v, std::string_view body,
                                                const ClientInfo& client, int16_t injected) {
  const bool flexible = v >= 3;
  std::set<std::string> states_filter;
  if (flexible) {
    WireReader r(body);
    r.SkipTaggedFields();  // request header tagged fields
    if (v >= 4) {
      int32_t n = r.CompactArrayLength();
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        states_filter.insert(absl::AsciiStrToLower(r.CompactString()));
      }
    }
    r.SkipTaggedFields();
    if (!r.ok()) return std::nullopt;
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->groups().Expire(Now());
  WireWriter w;
  if (flexible) w.EmptyTaggedFields();  // response header tagged fields
  if (v >= 1) WriteThrottle(w);
  w.Int16(injected);
  std::vector<const Group*> groups;
  if (injected == err::kNone) {
    for (const Group* g : state_->groups().GroupsCoordinatedBy(client.broker_id)) {
      // The filter matches states case-insensitively, as Kafka parses them.
      if (states_filter.empty() || states_filter.count(absl::AsciiStrToLower(g->state))) {
        groups.push_back(g);
      }
    }
  }
  if (flexible) {
    w.CompactArrayLength(static_cast<int32_t>(groups.size()));
  } else {
    w.Int32(static_cast<int32_t>(groups.size()));
  }
  for (const Group* g : groups) {
    if (flexible) {
      w.CompactString(g->group_id);
      w.CompactString(g->protocol_type);
      if (v >= 4) w.CompactString(g->state);
      w.EmptyTaggedFields();
    } else {
      w.String(g->group_id);
      w.String(g->protocol_type);
    }
  }
  if (flexible) w.EmptyTaggedFields();
  return w.Take();
}

std::optional<std::string> Handlers::DescribeGroups(int16_t v, std::string_view body,
                                                    int16_t injected) {
  WireReader r(body);
  std::vector<std::string> ids;
  int32_t n = r.ArrayLength(2);
  for (int32_t i = 0; i < n; ++i) ids.push_back(r.String());
  if (v >= 3) r.Bool();
  if (!r.ok()) return std::nullopt;
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->groups().Expire(Now());
  WireWriter w;
  if (v >= 1) WriteThrottle(w);
  w.Int32(static_cast<int32_t>(ids.size()));
  for (const std::string& id : ids) {
    const Group* g = state_->groups().Find(id);
    w.Int16(injected);
    w.String(id);
    if (g == nullptr || injected != err::kNone) {
      // A broker describes an unknown group as Dead with no members.
      w.String(g == nullptr ? "Dead" : "");
      w.String("");
      w.String("");
      w.Int32(0);
    } else {
      w.String(g->state);
      w.String(g->protocol_type);
      // The protocol (assignor) is only meaningful once a generation completed.
      w.String(g->state == "Stable" || g->state == "CompletingRebalance" ? g->protocol_name : "");
      w.Int32(static_cast<int32_t>(g->members.size()));
      for (const auto& [mid, m] : g->members) {
        w.String(m.member_id);
        if (v >= 4) w.NullableString(m.group_instance_id);
        w.String(m.client_id);
        w.String(m.client_host);
        w.Bytes(m.metadata);
        w.Bytes(m.assignment);
      }
    }
    if (v >= 3) w.Int32(INT32_MIN);
  }
  return w.Take();
}

// OffsetFetch v0-7 from the offsets the front-end recorded. v6+ is flexible (request header v2,
// response header v1); from v2 a null topic list asks for every committed partition of the group.
// Bytes after the request's last field are ignored, as Kafka does: librdkafka 2.0.2 leaves three
// there when it asks for all partitions at v6+.
std::optional<std::string> Handlers::OffsetFetch(int16_t v, std::string_view body,
                                                 const ClientInfo& client, int16_t injected) {
  const bool flexible = v >= 6;
  WireReader r(body);
  if (flexible) r.SkipTaggedFields();  // request header tagged fields
  const std::string group_id = flexible ? r.CompactString() : r.String();
  std::optional<std::vector<std::pair<std::string, std::vector<int32_t>>>> requested;
  const int32_t nt = flexible ? r.CompactArrayLength(2) : r.ArrayLength(6);
  if (nt >= 0) {
    requested.emplace();
    for (int32_t t = 0; t < nt && r.ok(); ++t) {
      std::string topic = flexible ? r.CompactString() : r.String();
      std::vector<int32_t> partitions;
      const int32_t np = flexible ? r.CompactArrayLength(4) : r.ArrayLength(4);
      for (int32_t p = 0; p < np && r.ok(); ++p) partitions.push_back(r.Int32());
      if (flexible) r.SkipTaggedFields();
      requested->emplace_back(std::move(topic), std::move(partitions));
    }
  }
  if (v >= 7) r.Bool();  // require_stable: no transactional commits are ever pending here
  if (flexible) r.SkipTaggedFields();
  if (!r.ok()) return std::nullopt;

  std::lock_guard<std::mutex> lock(state_->mu);
  ClusterState& s = *state_;
  const int16_t group_error =
      injected != err::kNone ? injected : CoordinatorError(s, group_id, client.broker_id);
  const Group* g = group_error == err::kNone ? s.groups().Find(group_id) : nullptr;
  std::vector<std::pair<std::string, std::vector<int32_t>>> topics;
  if (requested) {
    topics = std::move(*requested);
  } else if (g != nullptr) {
    for (const auto& [tp, committed] : g->offsets) {
      if (topics.empty() || topics.back().first != tp.first)
        topics.emplace_back(tp.first, std::vector<int32_t>{});
      topics.back().second.push_back(tp.second);
    }
  }
  // From v2 a group-level error is reported once, without partitions.
  if (group_error != err::kNone && v >= 2) topics.clear();

  WireWriter w;
  if (flexible) w.EmptyTaggedFields();  // response header tagged fields
  if (v >= 3) WriteThrottle(w);
  auto array_length = [&](size_t n) {
    if (flexible) {
      w.CompactArrayLength(static_cast<int32_t>(n));
    } else {
      w.Int32(static_cast<int32_t>(n));
    }
  };
  auto string = [&](const std::string& str) {
    if (flexible) {
      w.CompactString(str);
    } else {
      w.String(str);
    }
  };
  array_length(topics.size());
  for (const auto& [topic, partitions] : topics) {
    string(topic);
    array_length(partitions.size());
    for (int32_t p : partitions) {
      CommittedOffset committed;  // none: offset -1, metadata "", no error (as Kafka answers)
      if (g != nullptr) {
        auto it = g->offsets.find({topic, p});
        if (it != g->offsets.end()) committed = it->second;
      }
      w.Int32(p);
      w.Int64(committed.offset);
      if (v >= 5) w.Int32(committed.leader_epoch);
      string(committed.metadata);
      w.Int16(group_error);
      if (flexible) w.EmptyTaggedFields();
    }
    if (flexible) w.EmptyTaggedFields();
  }
  if (v >= 2) w.Int16(group_error);
  if (flexible) w.EmptyTaggedFields();
  return w.Take();
}

// Produce v0-7: a partition whose batch a broker would refuse (larger than the topic's
// max.message.bytes, or an error injected for it) is answered here with that error. The mock
// cannot apply part of a request, so the request's other partitions get NOT_ENOUGH_REPLICAS, a
// retriable error: the client sends them again, as after a broker-side failure. Nothing of the
// request reaches the mock, so the idempotent producer's sequence there stays where it was and a
// later batch of the refused partition gets OUT_OF_ORDER_SEQUENCE_NUMBER, as from Kafka (the
// front-end keeps that state: the mock checks sequences for transactional producers only).
std::optional<std::string> Handlers::ProduceRefusals(const RequestHeader& h,
                                                     std::string_view body) {
  const int16_t v = h.api_version;
  if (v > 7) return std::nullopt;
  WireReader r(body);
  const std::string transactional_id = v >= 3 ? r.NullableString().value_or("") : "";
  const int16_t acks = r.Int16();
  r.Int32();  // timeout
  if (!r.ok() || acks == 0) return std::nullopt;
  struct Part {
    int32_t partition;
    int16_t error;
  };
  std::vector<std::pair<std::string, std::vector<Part>>> topics;
  bool refused = false;
  std::lock_guard<std::mutex> lock(state_->mu);
  const int32_t n = r.Int32();
  for (int32_t i = 0; i < n && r.ok(); ++i) {
    auto& [name, parts] = topics.emplace_back(r.String(), std::vector<Part>{});
    const TopicInfo* t = state_->Topic(name);
    const int32_t np = r.Int32();
    for (int32_t j = 0; j < np && r.ok(); ++j) {
      const int32_t partition = r.Int32();
      const int32_t size = r.Int32();
      std::string_view records = r.rest().substr(0, size > 0 ? static_cast<size_t>(size) : 0);
      if (size > 0) r.Skip(static_cast<size_t>(size));
      // The first batch's producer id, epoch and base sequence (record batch v2 header).
      ClusterState::RefusedSequence batch;
      if (records.size() >= 61 && records[16] == 2) {
        WireReader b(records.substr(43, 18));
        batch.producer_id = b.Int64();
        batch.epoch = b.Int16();
        batch.base_sequence = b.Int32();
      }
      int16_t error = err::kNone;
      // A transactional producer fenced by a newer InitProducerId of its transactional id writes
      // nothing more (Kafka's zombie fencing): INVALID_PRODUCER_EPOCH, fatal to the client.
      if (!transactional_id.empty() && batch.producer_id >= 0 &&
          state_->logs().Fenced(transactional_id, batch.producer_id, batch.epoch)) {
        error = err::kInvalidProducerEpoch;
      }
      auto& refused_seqs = state_->refused_sequences();
      auto seq = refused_seqs.empty() ? refused_seqs.end() : refused_seqs.find({name, partition});
      if (seq != refused_seqs.end()) {
        const bool same_producer = seq->second.producer_id == batch.producer_id &&
                                   seq->second.epoch == batch.epoch && batch.producer_id >= 0;
        if (!same_producer) {
          refused_seqs.erase(seq);
          seq = refused_seqs.end();
        } else if (batch.base_sequence > seq->second.base_sequence) {
          error = err::kOutOfOrderSequenceNumber;
        }
      }
      if (error == err::kNone && state_->HasProduceErrors()) {
        error = state_->PopProduceError(name, partition);
      }
      if (error == err::kNone && t != nullptr && size > state_->MaxMessageBytes(*t)) {
        error = err::kMessageTooLarge;
      }
      if (error != err::kNone && error != err::kOutOfOrderSequenceNumber &&
          error != err::kInvalidProducerEpoch && batch.producer_id >= 0 &&
          batch.base_sequence >= 0) {
        refused_seqs[{name, partition}] = batch;
      } else if (error == err::kNone && seq != refused_seqs.end()) {
        refused_seqs.erase(seq);  // the refused sequence came again and passed
      }
      refused = refused || error != err::kNone;
      parts.push_back(Part{partition, error});
    }
  }
  if (!r.ok() || !refused) return std::nullopt;
  WireWriter w;
  w.Int32(static_cast<int32_t>(topics.size()));
  for (const auto& [name, parts] : topics) {
    w.String(name);
    w.Int32(static_cast<int32_t>(parts.size()));
    for (const Part& p : parts) {
      w.Int32(p.partition);
      w.Int16(p.error != err::kNone ? p.error : err::kNotEnoughReplicas);
      w.Int64(-1);              // base offset
      if (v >= 2) w.Int64(-1);  // log append time
      if (v >= 5) w.Int64(-1);  // log start offset
    }
  }
  if (v >= 1) WriteThrottle(w);
  return w.Take();
}

std::optional<std::string> Handlers::HandleInsteadOfForwarding(const RequestHeader& h,
                                                               std::string_view body,
                                                               const ClientInfo& client) {
  if (h.api_key == api::kProduce) return ProduceRefusals(h, body);
  if (h.api_key != api::kOffsetCommit) return std::nullopt;
  auto req = ParseOffsetCommit(h.api_version, body);
  if (!req) return std::nullopt;  // the mock judges what the front-end cannot parse
  std::lock_guard<std::mutex> lock(state_->mu);
  const int16_t injected = state_->PopInjectedError(api::kOffsetCommit);
  state_->groups().Expire(Now());
  const Group* g = state_->groups().Find(req->group_id);
  const bool without_generation = h.api_version == 0 || req->generation_id < 0;
  const bool without_members = g == nullptr || g->members.empty();
  if (injected == err::kNone && !(without_generation && without_members)) return std::nullopt;
  return OffsetCommitHere(h.api_version, *req, client, injected);
}

// Requires ClusterState::mu. Kafka's coordinator accepts a commit without generation to a group
// that has no members (and creates the group if unknown); each partition must exist.
std::optional<std::string> Handlers::OffsetCommitHere(int16_t v, const OffsetCommitRequest& req,
                                                      const ClientInfo& client, int16_t injected) {
  ClusterState& s = *state_;
  int16_t group_error = injected;
  if (group_error == err::kNone) {
    group_error = req.group_id.empty() ? err::kInvalidGroupId
                                       : CoordinatorError(s, req.group_id, client.broker_id);
  }
  WireWriter w;
  if (v >= 3) WriteThrottle(w);
  bool any_ok = false;
  w.Int32(static_cast<int32_t>(req.topics.size()));
  for (const auto& [topic, entries] : req.topics) {
    const TopicInfo* t = s.Topic(topic);
    w.String(topic);
    w.Int32(static_cast<int32_t>(entries.size()));
    for (const CommitEntry& e : entries) {
      int16_t code = group_error;
      if (code == err::kNone &&
          (t == nullptr || e.partition < 0 || e.partition >= t->partitions())) {
        code = err::kUnknownTopicOrPartition;
      } else if (code == err::kNone && e.metadata && e.metadata->size() > 4096) {
        code = err::kOffsetMetadataTooLarge;  // offset.metadata.max.bytes
      }
      if (code == err::kNone) {
        s.groups().CommitOffset(req.group_id, topic, e.partition,
                                CommittedOffset{e.offset, e.leader_epoch, e.metadata.value_or("")});
        any_ok = true;
      }
      w.Int32(e.partition);
      w.Int16(code);
    }
  }
  if (any_ok) s.groups().OnOffsetCommit(req.group_id, req.member_id, client.broker_id, Now());
  return w.Take();
}

std::optional<Observation> Handlers::ObserveRequest(const RequestHeader& h, std::string_view body,
                                                    const ClientInfo& client) {
  auto range = FindApi(ObservedApis(), h.api_key);
  if (!range || h.api_version > range->max) return std::nullopt;
  const int16_t v = h.api_version;
  WireReader r(body);
  Observation o;
  o.api_key = h.api_key;
  o.api_version = v;
  if (IsLogApi(h.api_key)) return ObserveLogRequest(r, std::move(o));
  switch (h.api_key) {
    case api::kJoinGroup: {
      JoinRequestInfo& j = o.join;
      j.group_id = r.String();
      j.session_timeout_ms = r.Int32();
      if (v >= 1) r.Int32();  // rebalance timeout
      o.member_id = r.String();
      if (v >= 5) j.group_instance_id = r.NullableString();
      j.protocol_type = r.String();
      int32_t n = r.ArrayLength(6);
      for (int32_t i = 0; i < n && r.ok(); ++i) {
        std::string name = r.String();
        j.protocols[name] = r.Bytes().value_or("");
      }
      j.client_id = h.client_id;
      j.client_host = client.client_host;
      o.group_id = j.group_id;
      if (!r.ok()) return std::nullopt;
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->groups().OnJoinRequest(j, Now());
      return o;
    }
    case api::kSyncGroup:
    case api::kHeartbeat:
      o.group_id = r.String();
      r.Int32();  // generation
      o.member_id = r.String();
      break;
    case api::kLeaveGroup: {
      o.group_id = r.String();
      o.member_id = r.String();
      if (!r.ok()) return std::nullopt;
      std::lock_guard<std::mutex> lock(state_->mu);
      state_->groups().OnLeave(o.group_id, o.member_id);
      return o;
    }
    case api::kOffsetCommit: {
      auto req = ParseOffsetCommit(v, body);
      if (!req) return std::nullopt;
      o.group_id = req->group_id;
      o.member_id = req->member_id;
      for (auto& [topic, entries] : req->topics) {
        o.commits.insert(o.commits.end(), entries.begin(), entries.end());
      }
      return o;
    }
    default:
      return std::nullopt;
  }
  if (!r.ok()) return std::nullopt;
  return o;
}

ResponseEdit Handlers::ObserveResponse(const Observation& o, std::string_view body,
                                       const ClientInfo& client) {
  if (IsLogApi(o.api_key)) return ObserveLogResponse(o, body);
  WireReader r(body);
  const int16_t v = o.api_version;
  std::lock_guard<std::mutex> lock(state_->mu);
  GroupRegistry& groups = state_->groups();
  switch (o.api_key) {
    case api::kJoinGroup: {
      if (v >= 2) r.Int32();
      int16_t error = r.Int16();
      int32_t generation = r.Int32();
      std::string protocol = r.String();
      r.String();  // leader
      std::string member_id = r.String();
      if (r.ok()) {
        groups.OnJoinResponse(o.join, client.broker_id, error, generation, protocol, member_id,
                              Now());
      }
      break;
    }
    case api::kSyncGroup: {
      if (v >= 1) r.Int32();
      int16_t error = r.Int16();
      std::string assignment = r.Bytes().value_or("");
      if (r.ok()) {
        groups.OnSyncResponse(o.group_id, o.member_id, client.broker_id, error, assignment, Now());
      }
      break;
    }
    case api::kHeartbeat: {
      if (v >= 1) r.Int32();
      int16_t error = r.Int16();
      if (r.ok()) groups.OnHeartbeatResponse(o.group_id, o.member_id, error, Now());
      break;
    }
    case api::kOffsetCommit: {
      if (v >= 3) r.Int32();
      bool any_ok = false;
      int32_t nt = r.ArrayLength(6);
      for (int32_t t = 0; t < nt && r.ok(); ++t) {
        const std::string topic = r.String();
        int32_t np = r.ArrayLength(6);
        for (int32_t p = 0; p < np && r.ok(); ++p) {
          const int32_t partition = r.Int32();
          if (r.Int16() != err::kNone || !r.ok()) continue;
          any_ok = true;
          // The front-end is the offset store of record (OffsetFetch is answered from it).
          for (const CommitEntry& e : o.commits) {
            if (e.topic != topic || e.partition != partition) continue;
            groups.CommitOffset(o.group_id, topic, partition,
                                CommittedOffset{e.offset, e.leader_epoch, e.metadata.value_or("")});
          }
        }
      }
      if (r.ok() && any_ok) groups.OnOffsetCommit(o.group_id, o.member_id, client.broker_id, Now());
      break;
    }
    default:
      break;
  }
  return {};
}

}  // namespace kmirror::sandbox
