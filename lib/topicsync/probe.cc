#include "lib/topicsync/probe.h"

namespace kmirror::topicsync {

std::string_view ToString(Task task) {
  switch (task) {
    case Task::kTopics:
      return "topics";
    case Task::kConfigs:
      return "configs";
    case Task::kAcls:
      return "acls";
  }
  return "unknown";
}

TopicSyncProbe::TopicSyncProbe(prometheus::Registry& registry, const std::string& flow) {
  auto& changes = prometheus::BuildCounter()
                      .Name("kmirror_topic_sync_changes_total")
                      .Help("Changes applied to the target by topic management, by kind")
                      .Register(registry);
  auto& errors = prometheus::BuildCounter()
                     .Name("kmirror_topic_sync_errors_total")
                     .Help("Failed topic management attempts (retried with backoff), by task")
                     .Register(registry);
  auto& last = prometheus::BuildGauge()
                   .Name("kmirror_topic_sync_last_success_timestamp_seconds")
                   .Help("Unix time of the last fully successful run of each sync task")
                   .Register(registry);
  for (size_t i = 0; i < changes_.size(); ++i) {
    changes_[i] =
        &changes.Add({{"flow", flow}, {"kind", std::string(ToString(static_cast<ChangeKind>(i)))}});
  }
  for (size_t i = 0; i < errors_.size(); ++i) {
    const std::string task(ToString(static_cast<Task>(i)));
    errors_[i] = &errors.Add({{"flow", flow}, {"task", task}});
    last_success_[i] = &last.Add({{"flow", flow}, {"task", task}});
  }
}

void TopicSyncProbe::RecordChange(ChangeKind kind) {
  changes_[static_cast<size_t>(kind)]->Increment();
}

void TopicSyncProbe::RecordError(Task task) { errors_[static_cast<size_t>(task)]->Increment(); }

void TopicSyncProbe::RecordSuccess(Task task, double unix_seconds) {
  last_success_[static_cast<size_t>(task)]->Set(unix_seconds);
}

}  // namespace kmirror::topicsync
