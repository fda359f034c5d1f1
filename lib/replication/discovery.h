// Topic discovery for a flow: lists source topics, selects those the flow replicates, makes sure
// each remote topic exists on the target with (at least) the source's partition count, creating
// or growing it through TopicAdmin, and returns the subscription the flow's consumer should have.
//
// Runs on the flow's discovery thread, never on the worker. Not thread-safe.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/replication/io.h"

namespace kmirror::replication {

struct DiscoveryOptions {
  std::string flow;  // for logs
  std::function<bool(const std::string&)> should_replicate;
  std::function<std::string(const std::string&)> remote_topic;
  int replication_factor = -1;
};

class TopicDiscovery {
 public:
  TopicDiscovery(DiscoveryOptions options, TopicAdmin* admin);
  // New selection rules (SIGHUP); topics already announced are not logged again.
  void SetOptions(DiscoveryOptions options) { options_ = std::move(options); }
  // Returns the sorted list of source topics to subscribe to. Topics whose remote topic could not
  // be created are left out (and retried next time), so nothing is produced to a missing topic.
  absl::StatusOr<std::vector<std::string>> RunOnce();

 private:
  DiscoveryOptions options_;
  TopicAdmin* admin_;
  std::set<std::string> announced_;  // topics already logged as selected
};

}  // namespace kmirror::replication
