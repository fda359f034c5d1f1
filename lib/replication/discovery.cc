#include "lib/replication/discovery.h"

#include <map>

#include "lib/common/logging.h"

namespace kmirror::replication {

TopicDiscovery::TopicDiscovery(DiscoveryOptions options, TopicAdmin* admin)
    : options_(std::move(options)), admin_(admin) {}

absl::StatusOr<std::vector<std::string>> TopicDiscovery::RunOnce() {
  auto log = common::Logger("discovery");
  auto source = admin_->ListSourceTopics();
  if (!source.ok()) return source.status();
  auto target = admin_->ListTargetTopics();
  if (!target.ok()) return target.status();
  std::map<std::string, int32_t> remote;
  for (const auto& t : *target) remote[t.name] = t.partitions;

  std::vector<std::string> selected;
  for (const auto& t : *source) {
    if (!options_.should_replicate(t.name)) continue;
    const std::string name = options_.remote_topic(t.name);
    auto it = remote.find(name);
    if (it == remote.end()) {
      absl::Status created = admin_->CreateTargetTopic(t, name, options_.replication_factor);
      if (!created.ok()) {
        log->error(
            "msg=\"cannot create remote topic; not replicating it yet\" flow={} topic={} "
            "remote={} partitions={} error=\"{}\"",
            options_.flow, t.name, name, t.partitions, created.message());
        continue;
      }
    } else if (it->second < t.partitions) {
      // Until the remote topic has grown, the new partitions have nowhere to go; the others
      // keep replicating. New partitions start from their beginning once assigned.
      absl::Status grown = admin_->AddTargetPartitions(t, name, it->second);
      if (!grown.ok()) {
        log->warn(
            "msg=\"cannot add partitions to the remote topic; retrying\" flow={} topic={} "
            "remote={} source_partitions={} remote_partitions={} error=\"{}\"",
            options_.flow, t.name, name, t.partitions, it->second, grown.message());
      }
    }
    if (announced_.insert(t.name).second) {
      log->info("msg=\"topic selected\" flow={} topic={} remote={}", options_.flow, t.name, name);
    }
    selected.push_back(t.name);
  }
  std::sort(selected.begin(), selected.end());
  return selected;
}

}  // namespace kmirror::replication
