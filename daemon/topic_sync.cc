#include "daemon/topic_sync.h"

#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "daemon/client_properties.h"
#include "lib/kafka/properties.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"
#include "nlohmann/json.hpp"

namespace kmirror::daemon {
namespace {

// The flow discovery's TopicAdmin, served by the flow's topic sync: the same admin clients list
// the topics, and the Syncer creates and grows remote topics.
class SyncedTopicAdmin : public replication::TopicAdmin {
 public:
  SyncedTopicAdmin(topicsync::SyncAdmin* admin, topicsync::Syncer* syncer)
      : admin_(admin), syncer_(syncer) {}
  absl::StatusOr<std::vector<replication::TopicInfo>> ListSourceTopics() override {
    return List(topicsync::Side::kSource);
  }
  absl::StatusOr<std::vector<replication::TopicInfo>> ListTargetTopics() override {
    return List(topicsync::Side::kTarget);
  }
  // The replication factor is the Syncer's, from the same flow configuration.
  absl::Status CreateTargetTopic(const replication::TopicInfo& source, const std::string& remote,
                                 int /*replication_factor*/) override {
    return syncer_->CreateRemoteTopic({source.name, source.partitions}, remote);
  }
  absl::Status AddTargetPartitions(const replication::TopicInfo& source, const std::string& remote,
                                   int32_t current) override {
    return syncer_->GrowRemoteTopic({source.name, source.partitions}, remote, current);
  }

 private:
  absl::StatusOr<std::vector<replication::TopicInfo>> List(topicsync::Side side) {
    auto topics = admin_->ListTopics(side);
    if (!topics.ok()) return topics.status();
    std::vector<replication::TopicInfo> out;
    for (const auto& t : *topics) out.push_back({t.name, t.partitions});
    return out;
  }
  topicsync::SyncAdmin* admin_;
  topicsync::Syncer* syncer_;
};

absl::StatusOr<topicsync::SyncOptions> SyncOptionsFor(const config::FlowConfig& f) {
  auto selector = SelectorFor(f);
  if (!selector.ok()) return selector.status();
  auto groups = policy::NameFilter::Create(f.groups, f.groups_exclude);
  if (!groups.ok()) return groups.status();
  auto group_filter = std::make_shared<policy::NameFilter>(std::move(*groups));
  topicsync::SyncOptions o;
  o.flow = f.name();
  o.replication_factor = f.replication_factor;
  o.config_sync = f.config_sync;
  o.config_sync_interval = Millis(f.config_sync_interval);
  o.config_exclude = f.config_exclude;
  o.defaults_from = f.config_use_defaults_from == config::ConfigDefaultsFrom::kSource
                        ? topicsync::DefaultsFrom::kSource
                        : topicsync::DefaultsFrom::kTarget;
  o.acl_sync = f.acl_sync;
  o.acl_sync_interval = Millis(f.acl_sync_interval);
  o.acl.copy_write = f.acl_copy_write;
  o.acl.downgrade_all = f.acl_downgrade_all;
  o.acl.copy_deny = f.acl_copy_deny;
  o.acl.sync_groups = f.acl_sync_groups;
  o.acl.remove_stale = f.acl_remove_stale;
  std::shared_ptr<policy::TopicSelector> s = *selector;
  o.selection.replicate_topic = [s](const std::string& t) { return s->ShouldReplicate(t); };
  o.selection.remote_topic = [s](const std::string& t) { return s->RemoteTopic(t); };
  o.selection.sync_group = [group_filter](const std::string& g) {
    return group_filter->Matches(g);
  };
  return o;
}

}  // namespace

absl::StatusOr<std::unique_ptr<FlowTopicSync>> FlowTopicSync::Create(
    const config::Config& cfg, const config::FlowConfig& f, prometheus::Registry* registry) {
  auto options = SyncOptionsFor(f);
  if (!options.ok()) return options.status();
  kafka::Properties target = ToProperties(config::TargetProperties(cfg, f));
  if (!target.Contains("client.id")) target.Set("client.id", "kmirror.topicsync." + f.name());
  kafka::Properties source = ToProperties(config::SourceProperties(cfg, f));
  if (!source.Contains("client.id")) source.Set("client.id", "kmirror.topicsync." + f.name());
  std::unique_ptr<FlowTopicSync> sync(new FlowTopicSync());
  auto admin = topicsync::KafkaSyncAdmin::Create(source, target);
  if (!admin.ok()) return admin.status();
  sync->admin_ = std::move(*admin);
  sync->ledger_ = std::make_unique<topicsync::KafkaAclLedger>(
      target, f.name(),
      kafka::InternalTopicSettings{cfg.daemon.internal_replication_factor,
                                   cfg.daemon.internal_min_insync_replicas});
  if (registry != nullptr) {
    sync->probe_ = std::make_unique<topicsync::TopicSyncProbe>(*registry, f.name());
  }
  auto syncer = topicsync::Syncer::Create(std::move(*options), sync->admin_.get(),
                                          sync->ledger_.get(), sync->probe_.get());
  if (!syncer.ok()) return syncer.status();
  sync->syncer_ = std::move(*syncer);
  return sync;
}

absl::Status FlowTopicSync::Reload(const config::FlowConfig& f) {
  auto options = SyncOptionsFor(f);
  if (!options.ok()) return options.status();
  return syncer_->SetSelection(std::move(options->selection));
}

std::unique_ptr<replication::TopicAdmin> FlowTopicSync::DiscoveryAdmin() {
  return std::make_unique<SyncedTopicAdmin>(admin_.get(), syncer_.get());
}

int PrintPlan(const config::Config& cfg, std::FILE* out) {
  nlohmann::json flows = nlohmann::json::array();
  bool ok = true;
  for (const config::FlowConfig& f : cfg.flows) {
    if (!f.enabled) continue;
    nlohmann::json flow{{"flow", f.name()},
                        {"changes", nlohmann::json::array()},
                        {"errors", nlohmann::json::array()}};
    auto sync = FlowTopicSync::Create(cfg, f, nullptr);
    if (!sync.ok()) {
      flow["errors"].push_back(std::string(sync.status().message()));
    } else {
      topicsync::SyncResult plan = (*sync)->syncer().Plan();
      for (const auto& c : plan.changes) flow["changes"].push_back(topicsync::ToJson(c));
      for (const auto& e : plan.errors) flow["errors"].push_back(e);
    }
    ok = ok && flow["errors"].empty();
    flows.push_back(std::move(flow));
  }
  nlohmann::json doc{{"flows", std::move(flows)}};
  std::fprintf(out, "%s\n", doc.dump(2).c_str());
  return ok ? 0 : 1;
}

}  // namespace kmirror::daemon
