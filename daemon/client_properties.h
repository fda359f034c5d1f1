// Client properties for a flow's librdkafka clients, from the configuration. Shared by every piece
// of daemon wiring that creates a client.
#pragma once

#include <chrono>
#include <string>

#include "absl/time/time.h"
#include "lib/config/config.h"
#include "lib/kafka/properties.h"

namespace kmirror::daemon {

// A configured duration as the milliseconds the client APIs and threads take.
inline std::chrono::milliseconds Millis(absl::Duration d) {
  return std::chrono::milliseconds(absl::ToInt64Milliseconds(d));
}

inline kafka::Properties ToProperties(const config::ClientProperties& map) {
  kafka::Properties p;
  for (const auto& [k, v] : map) p.Set(k, v);
  return p;
}

// The flow's source-side (or target-side) properties with a client.id naming `role`, unless the
// configuration sets one.
inline kafka::Properties FlowClient(const config::Config& cfg, const config::FlowConfig& f,
                                    bool source_side, const std::string& role) {
  kafka::Properties p = ToProperties(source_side ? config::SourceProperties(cfg, f)
                                                 : config::TargetProperties(cfg, f));
  if (!p.Contains("client.id")) {
    p.Set("client.id", "kmirror." + role + "." + cfg.daemon.instance_id + "." + f.name());
  }
  return p;
}

}  // namespace kmirror::daemon
