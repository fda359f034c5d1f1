// In-memory implementations of the lib/offsets seams for unit tests.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lib/offsets/seams.h"
#include "lib/offsets/translator.h"

namespace kmirror::offsets::testing {

// A settable clock.
struct FakeClock {
  int64_t now_ms = 1'700'000'000'000;
  Clock AsClock() {
    return [this] { return now_ms; };
  }
};

// A target partition: each record either carries provenance (source alias, offset) or not.
struct FakeRecord {
  std::optional<std::string> source;  // nullopt: no provenance header
  int64_t source_offset = -1;
};

class FakeIndex : public TargetIndex {
 public:
  std::map<TargetPartition, std::vector<FakeRecord>> logs;  // index = target offset
  std::map<TargetPartition, int64_t> low;                   // log start (retention)
  std::string ours = "A";
  int bounds_calls = 0;
  int probes = 0;
  int64_t records_read = 0;

  void Append(const TargetPartition& p, std::optional<std::string> source, int64_t offset) {
    logs[p].push_back(FakeRecord{std::move(source), offset});
  }
  absl::StatusOr<Bounds> GetBounds(const TargetPartition& p) override {
    ++bounds_calls;
    return Bounds{TargetOffset(low[p]), TargetOffset(static_cast<int64_t>(logs[p].size()))};
  }
  absl::StatusOr<std::optional<IndexEntry>> NextOurs(const TargetPartition& p, TargetOffset from,
                                                     TargetOffset limit) override {
    ++probes;
    const auto& log = logs[p];
    for (int64_t t = std::max(from.value, low[p]);
         t < limit.value && t < static_cast<int64_t>(log.size()); ++t) {
      ++records_read;
      if (log[t].source == ours)
        return IndexEntry{TargetOffset(t), SourceOffset(log[t].source_offset)};
    }
    return std::optional<IndexEntry>();
  }
};

// One cluster's topics (single partition each, like MM2's internal topics) and its admin.
class FakeCluster : public RecordWriter, public TopicReader, public TopicAdmin {
 public:
  std::map<std::string, std::vector<KeyValue>> topics;
  std::map<std::string, bool> compacted;
  std::map<std::string, size_t> read_positions;
  absl::Status write_error = absl::OkStatus();
  int writes = 0;

  absl::Status Write(const std::string& topic, int32_t partition,
                     const std::vector<KeyValue>& records) override {
    if (!write_error.ok()) return write_error;
    if (partition != 0) return absl::InvalidArgumentError("internal topics have one partition");
    if (!topics.count(topic)) return absl::NotFoundError("no topic " + topic);
    ++writes;
    auto& log = topics[topic];
    log.insert(log.end(), records.begin(), records.end());
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<KeyValue>> ReadAll(const std::string& topic) override {
    return topics[topic];
  }
  absl::StatusOr<std::vector<KeyValue>> ReadNew(const std::string& topic) override {
    auto& log = topics[topic];
    size_t& pos = read_positions[topic];
    std::vector<KeyValue> out(log.begin() + static_cast<std::ptrdiff_t>(pos), log.end());
    pos = log.size();
    return out;
  }
  absl::Status EnsureTopic(const std::string& topic, bool is_compacted) override {
    if (!topics.count(topic)) {
      topics[topic];
      compacted[topic] = is_compacted;
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::string>> ListTopics() override {
    std::vector<std::string> out;
    for (const auto& [name, log] : topics) out.push_back(name);
    return out;
  }
};

class FakeGroups : public GroupAdmin {
 public:
  std::map<std::string, GroupInfo> info;
  std::map<std::string, std::map<std::pair<std::string, int32_t>, CommittedOffset>> offsets;
  std::vector<std::string> commits;  // groups committed to, in order

  void Set(const std::string& group, const std::string& topic, int32_t partition, int64_t offset,
           const std::string& metadata = "") {
    offsets[group][{topic, partition}] = CommittedOffset{topic, partition, offset, metadata};
  }
  void SetMembers(const std::string& group, kafka::GroupState state, int32_t members) {
    info[group] = GroupInfo{group, state, members};
  }
  int64_t Get(const std::string& group, const std::string& topic, int32_t partition) {
    auto g = offsets.find(group);
    if (g == offsets.end()) return -1;
    auto it = g->second.find({topic, partition});
    return it == g->second.end() ? -1 : it->second.offset;
  }
  absl::StatusOr<std::vector<std::string>> ListGroups() override {
    std::set<std::string> names;
    for (const auto& [g, o] : offsets) names.insert(g);
    for (const auto& [g, i] : info) names.insert(g);
    return std::vector<std::string>(names.begin(), names.end());
  }
  absl::StatusOr<GroupInfo> DescribeGroup(const std::string& group) override {
    auto it = info.find(group);
    if (it == info.end()) return GroupInfo{group, kafka::GroupState::kDead, 0};
    return it->second;
  }
  absl::StatusOr<std::vector<CommittedOffset>> Committed(const std::string& group) override {
    std::vector<CommittedOffset> out;
    for (const auto& [tp, c] : offsets[group]) out.push_back(c);
    return out;
  }
  absl::Status Commit(const std::string& group,
                      const std::vector<CommittedOffset>& committed) override {
    commits.push_back(group);
    for (const CommittedOffset& c : committed) offsets[group][{c.topic, c.partition}] = c;
    return absl::OkStatus();
  }
};

}  // namespace kmirror::offsets::testing
