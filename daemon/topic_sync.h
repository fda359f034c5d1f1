// Wiring of lib/topicsync into kmirrord: one FlowTopicSync per flow (Kafka admin, ACL ledger,
// metrics, Syncer), the adapter through which the flow's discovery creates and grows remote
// topics, and the `--check-config FILE --plan` dry run.
//
// Thread-safety: as Syncer (see lib/topicsync/syncer.h).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "lib/config/config.h"
#include "lib/dr/selection.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/io.h"
#include "lib/topicsync/kafka_admin.h"
#include "lib/topicsync/syncer.h"

namespace prometheus {
class Registry;
}

namespace kmirror::daemon {

using dr::SelectorFor;

class FlowTopicSync {
 public:
  // `registry` null: no metrics (the dry run).
  static absl::StatusOr<std::unique_ptr<FlowTopicSync>> Create(const config::Config& cfg,
                                                               const config::FlowConfig& f,
                                                               prometheus::Registry* registry);
  topicsync::Syncer& syncer() { return *syncer_; }
  // SIGHUP: takes the flow's new topic and group filters; other topic sync options need a
  // restart.
  absl::Status Reload(const config::FlowConfig& f);
  // The TopicAdmin of the flow's discovery: lists topics with this object's admin clients and
  // creates and grows remote topics through its Syncer. This object must outlive it.
  std::unique_ptr<replication::TopicAdmin> DiscoveryAdmin();

 private:
  FlowTopicSync() = default;
  std::unique_ptr<topicsync::KafkaSyncAdmin> admin_;
  std::unique_ptr<topicsync::KafkaAclLedger> ledger_;
  std::unique_ptr<topicsync::TopicSyncProbe> probe_;
  std::unique_ptr<topicsync::Syncer> syncer_;
};

// Prints, as JSON on `out`, what the next sync of every enabled flow would change:
//   {"flows":[{"flow":"A->B","changes":[...],"errors":[...]}]}
// Returns 0 when every flow was planned without error, 1 otherwise.
int PrintPlan(const config::Config& cfg, std::FILE* out);

}  // namespace kmirror::daemon
