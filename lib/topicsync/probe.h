// Prometheus metrics of remote topic management, one instance per flow. Call sites use verbs.
//
// Label sets are fixed (flow x change kind, flow x sync task), created up front. Thread-safe
// (prometheus-cpp metrics are atomic; the series never change after construction).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <array>
#include <string>

#include "lib/topicsync/change.h"

namespace kmirror::topicsync {

// The three sync tasks, each with its own error count and last-success time.
enum class Task { kTopics = 0, kConfigs = 1, kAcls = 2 };
std::string_view ToString(Task task);  // "topics", "configs", "acls"

class TopicSyncProbe {
 public:
  TopicSyncProbe(prometheus::Registry& registry, const std::string& flow);

  void RecordChange(ChangeKind kind);
  void RecordError(Task task);
  // Sets the task's last-success gauge to `unix_seconds`.
  void RecordSuccess(Task task, double unix_seconds);

 private:
  std::array<prometheus::Counter*, 6> changes_{};
  std::array<prometheus::Counter*, 3> errors_{};
  std::array<prometheus::Gauge*, 3> last_success_{};
};

}  // namespace kmirror::topicsync
