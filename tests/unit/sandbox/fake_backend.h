// The mock operations of a sandbox cluster, recorded in memory for handler tests.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/sandbox/cluster_state.h"

namespace kmirror::sandbox {

class FakeBackend : public MockBackend {
 public:
  absl::Status CreateTopic(const std::string& name, int partitions, int) override {
    created[name] = partitions;
    return absl::OkStatus();
  }
  absl::Status SetLeader(const std::string& topic, int32_t p, int32_t broker) override {
    leaders[{topic, p}] = broker;
    return absl::OkStatus();
  }
  absl::Status SetCoordinator(const std::string&, const std::string& key, int32_t b) override {
    coordinators[key] = b;
    return absl::OkStatus();
  }
  // Appends at the partition's end (set `end` to place it after records the test produced).
  absl::StatusOr<int64_t> Append(const std::string& topic, int32_t p, int32_t,
                                 std::string_view batch) override {
    if (fail_appends) return absl::UnavailableError("broker down");
    appended[{topic, p}].emplace_back(batch);
    return end[{topic, p}]++;
  }
  absl::StatusOr<std::string> BatchAt(const std::string&, int32_t, int32_t, int64_t) override {
    return absl::NotFoundError("the fake keeps no log");
  }
  std::map<std::string, int> created;
  std::map<std::pair<std::string, int32_t>, int32_t> leaders;
  std::map<std::string, int32_t> coordinators;
  bool fail_appends = false;
  std::map<std::pair<std::string, int32_t>, std::vector<std::string>> appended;
  std::map<std::pair<std::string, int32_t>, int64_t> end;
};

}  // namespace kmirror::sandbox
