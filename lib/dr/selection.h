// A flow's topic selection and naming from its configuration, and the reverse flow B->A that a
// failback runs. Pure functions; thread-safe.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "lib/config/config.h"
#include "lib/policy/topic_selector.h"

namespace kmirror::dr {

// The flow's topic filters and remote naming (shared by discovery, topic sync and the control
// plane).
absl::StatusOr<std::shared_ptr<policy::TopicSelector>> SelectorFor(const config::FlowConfig& f);

// The flow B->A that carries records back while A->B fails back. Empty per-flow client
// overrides (they are role-specific), its own source group, checkpoints and group offset sync on.
config::FlowConfig ReverseFlow(const config::FlowConfig& f);

}  // namespace kmirror::dr
