// The phases of a flow and what every operator verb does in each: one table (phases.cc, drawn in
// lib/dr/README.md). A verb asks the table first; the controller only carries the rule out.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "lib/dr/state.h"

namespace kmirror::dr {

enum class Verb {
  kPause,
  kResume,
  kFailoverPlanned,
  kFailoverForced,
  kFailback,
  kSwitchBack,
  kSkip,       // give up one stopped record
  kGroupSync,  // pause or resume the offset sync of one consumer group
  kDrill,
};
std::string_view VerbName(Verb verb);

struct Rule {
  enum class Kind {
    kChange,   // the verb runs and leaves the flow in `to`
    kAlready,  // nothing to do: the flow is where the verb would take it (answered OK)
    kRefused,  // FailedPrecondition with `why`
  };
  Kind kind = Kind::kRefused;
  Phase to = Phase::kRunning;
  std::string_view why;  // kRefused: what the operator should do instead; kAlready: a note
};

// The rule for `verb` on a flow in `from`.
Rule RuleFor(Phase from, Verb verb);

// OK for kChange and kAlready; the refusal as FailedPrecondition naming the flow and its phase.
absl::Status Check(const std::string& flow, Phase from, Verb verb);

}  // namespace kmirror::dr
