// Pieces shared by the controller's verbs (controller.cc, failover.cc, drill.cc). Internal to
// lib/dr.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "absl/status/status.h"
#include "lib/dr/controller.h"
#include "lib/replication/flow.h"

namespace kmirror::dr::internal {

inline OpResult Fail(absl::Status status, nlohmann::json report = nlohmann::json::object()) {
  return OpResult{std::move(status), std::move(report)};
}

// Every partition of the status as JSON (what verbs report).
nlohmann::json PartitionsJson(const replication::FlowStatus& st);

// Every partition knows where it starts and where its source ends.
bool AllStarted(const replication::FlowStatus& st);

// Every partition has replicated all the unit knows of its source, and nothing is in flight.
// With `may_hold_none`, holding no partition counts as drained.
bool Drained(const replication::FlowStatus& st, bool may_hold_none = false);

// The marks as reported (with last_replicated_source_offset); `missing_total` their sum.
nlohmann::json MarksReport(const std::vector<PartitionMark>& marks, int64_t& missing_total);

}  // namespace kmirror::dr::internal
