#include "lib/offsets/heartbeat.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "lib/common/status.h"

namespace kmirror::offsets {

HeartbeatEmitter::HeartbeatEmitter(RecordWriter& source_writer, TopicAdmin& source_admin,
                                   OffsetsProbe* probe, Clock clock, Options options)
    : writer_(source_writer),
      admin_(source_admin),
      probe_(probe),
      clock_(std::move(clock)),
      options_(std::move(options)) {}

HeartbeatEmitter::~HeartbeatEmitter() { thread_.Stop(); }

absl::Status HeartbeatEmitter::RunOnce() {
  if (!topic_ready_) {
    KM_RETURN_IF_ERROR(admin_.EnsureTopic(options_.topic, /*compacted=*/true));
    topic_ready_ = true;
  }
  const Heartbeat h{options_.source_alias, options_.target_alias, clock_()};
  KM_RETURN_IF_ERROR(
      writer_.Write(options_.topic, 0, {{EncodeHeartbeatKey(h), EncodeHeartbeatValue(h)}}));
  if (probe_) probe_->RecordHeartbeatWritten();
  return absl::OkStatus();
}

void HeartbeatEmitter::Start() {
  thread_.StartPasses(
      options_.interval, "heartbeats", [this] { return RunOnce(); },
      [this](const std::string& c) {
        if (probe_) probe_->RecordError(c);
      });
}

void HeartbeatEmitter::Stop() { thread_.Stop(); }

namespace {

// MirrorClient.countHopsForTopic: walk upstream through the name until `alias` is the source.
int CountHops(const policy::ReplicationPolicy& policy, std::string topic,
              const std::string& alias) {
  std::set<std::string> visited;
  for (int hops = 1;; ++hops) {
    std::optional<std::string> source = policy.TopicSource(topic);
    if (!source) return -1;
    if (*source == alias) return hops;
    if (!visited.insert(*source).second) return -1;
    std::optional<std::string> up = policy.UpstreamTopic(topic);
    if (!up) return -1;
    topic = *up;
  }
}

// MirrorClient.allSources: every alias named along the topic's upstream chain.
std::vector<std::string> AllSources(const policy::ReplicationPolicy& policy, std::string topic) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  while (auto source = policy.TopicSource(topic)) {
    if (!seen.insert(*source).second) break;
    out.push_back(*source);
    auto up = policy.UpstreamTopic(topic);
    if (!up) break;
    topic = *up;
  }
  return out;
}

}  // namespace

std::map<std::string, int> ComputeTopology(const policy::ReplicationPolicy& policy,
                                           const std::vector<std::string>& topics) {
  std::map<std::string, int> hops;
  for (const std::string& topic : topics) {
    if (!policy.IsHeartbeatsTopic(topic)) continue;
    for (const std::string& alias : AllSources(policy, topic)) {
      const int h = CountHops(policy, topic, alias);
      if (h < 0) continue;
      auto [it, inserted] = hops.emplace(alias, h);
      if (!inserted) it->second = std::min(it->second, h);
    }
  }
  return hops;
}

HeartbeatObserver::HeartbeatObserver(TopicReader& target_reader, TopicAdmin& target_admin,
                                     const policy::ReplicationPolicy& policy, OffsetsProbe* probe,
                                     Clock clock, Options options)
    : reader_(target_reader),
      admin_(target_admin),
      policy_(policy),
      probe_(probe),
      clock_(std::move(clock)),
      options_(options) {}

HeartbeatObserver::~HeartbeatObserver() { thread_.Stop(); }

absl::Status HeartbeatObserver::RunOnce() {
  auto topics = admin_.ListTopics();
  if (!topics.ok()) return topics.status();
  std::vector<std::string> remote;
  for (const std::string& t : *topics) {
    if (policy_.IsHeartbeatsTopic(t) && policy_.TopicSource(t)) remote.push_back(t);
  }
  const std::map<std::string, int> topology = ComputeTopology(policy_, remote);
  // Newest heartbeat emitted by each upstream cluster among the records new since last pass.
  std::map<std::string, int64_t> newest;
  for (const std::string& t : remote) {
    auto records = reader_.ReadNew(t);
    if (!records.ok()) return records.status();
    for (const KeyValue& kv : *records) {
      auto h = DecodeHeartbeat(kv.key, kv.value);
      if (!h.ok()) continue;
      auto [it, inserted] = newest.emplace(h->source_alias, h->timestamp_ms);
      if (!inserted) it->second = std::max(it->second, h->timestamp_ms);
    }
  }
  const int64_t now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [alias, hops] : topology) upstreams_[alias].hops = hops;
  for (const auto& [alias, ts] : newest) {
    UpstreamStatus& u = upstreams_[alias];
    if (ts > u.last_heartbeat_ms) {
      u.last_heartbeat_ms = ts;
      u.latency_ms = std::max<int64_t>(0, now - ts);
    }
  }
  for (auto& [alias, u] : upstreams_) {
    if (u.last_heartbeat_ms >= 0) u.age_ms = std::max<int64_t>(0, now - u.last_heartbeat_ms);
    if (probe_ && u.last_heartbeat_ms >= 0) {
      probe_->SetHeartbeat(alias, static_cast<double>(u.age_ms) / 1000.0,
                           static_cast<double>(u.latency_ms) / 1000.0, u.hops);
    }
  }
  return absl::OkStatus();
}

void HeartbeatObserver::Start() {
  thread_.StartPasses(
      options_.interval, "heartbeat_observer", [this] { return RunOnce(); },
      [this](const std::string& c) {
        if (probe_) probe_->RecordError(c);
      });
}

void HeartbeatObserver::Stop() { thread_.Stop(); }

std::map<std::string, UpstreamStatus> HeartbeatObserver::Upstreams() const {
  std::lock_guard<std::mutex> lock(mu_);
  return upstreams_;
}

}  // namespace kmirror::offsets
