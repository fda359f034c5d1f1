// The control API's routes (HTTP + JSON, lib/control/server.h) over the flow controllers:
//
//   GET  /v1/status                              every flow: phase, partitions, lag, checkpoints
//   GET  /v1/topology                            upstream clusters and hops from heartbeats
//   GET  /v1/flows/{flow}/audit?limit=N          the newest audit entries of a flow
//   POST /v1/flows/{flow}/pause | resume
//   POST /v1/flows/{flow}/failover               {"mode": "planned"|"force", "timeout_ms": N}
//   POST /v1/flows/{flow}/failback               {"preserve": "quarantine"|"file", "file": PATH}
//   POST /v1/flows/{flow}/switch-back            {"timeout_ms": N}
//   POST /v1/flows/{flow}/drill                  {"canary_records": N, "timeout_ms": N}
//   POST /v1/flows/{flow}/groups/{group}/pause | resume     group offset sync into the target
//
// Every POST is recorded as an audit entry (who, when, what, result) in the flow's state topic.
// Thread-safe: handlers run on the server's connection threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lib/control/server.h"
#include "lib/dr/controller.h"

namespace kmirror::daemon {

std::shared_ptr<control::Router> ControlRoutes(const std::string& instance,
                                               std::vector<dr::Controller*> flows);

// The HTTP status and error code for a verb's outcome.
int HttpStatusFor(const absl::Status& status);
std::string ErrorCodeFor(const absl::Status& status);

}  // namespace kmirror::daemon
