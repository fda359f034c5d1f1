#include "lib/dr/phases.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace kmirror::dr {
namespace {

using K = Rule::Kind;
constexpr Phase kRun = Phase::kRunning, kPau = Phase::kPaused, kOver = Phase::kFailedOver,
                kBack = Phase::kFailingBack;

struct Row {
  Phase from;
  Verb verb;
  Rule rule;
};

constexpr std::string_view kOnlyRunning = "only a running flow can be paused";
constexpr std::string_view kResumeWhat =
    "resume only restarts a paused flow (a failed-over flow comes back with failback)";
constexpr std::string_view kFinishFailback =
    "finish the failback with failback --switch-back first";
constexpr std::string_view kFailbackFrom = "failback starts from a failed-over flow";
constexpr std::string_view kFailbackFirst = "run failback first";
constexpr std::string_view kSkipWhere = "records are skipped only on a running or paused flow";
constexpr std::string_view kDrillWhat = "a drill tests a running flow";

// Every (phase, verb) pair, once. Group offset sync can be paused in any phase: consumers are
// moved to the target before, during and after a failover.
constexpr std::array<Row, 36> kTable{{
    {kRun, Verb::kPause, {K::kChange, kPau, ""}},
    {kPau, Verb::kPause, {K::kAlready, kPau, "already paused"}},
    {kOver, Verb::kPause, {K::kRefused, kOver, kOnlyRunning}},
    {kBack, Verb::kPause, {K::kRefused, kBack, kOnlyRunning}},

    {kRun, Verb::kResume, {K::kAlready, kRun, "already running"}},
    {kPau, Verb::kResume, {K::kChange, kRun, ""}},
    {kOver, Verb::kResume, {K::kRefused, kOver, kResumeWhat}},
    {kBack, Verb::kResume, {K::kRefused, kBack, kResumeWhat}},

    {kRun, Verb::kFailoverPlanned, {K::kChange, kOver, ""}},
    {kPau, Verb::kFailoverPlanned, {K::kChange, kOver, ""}},
    {kOver,
     Verb::kFailoverPlanned,
     {K::kAlready, kOver, "already failed over; nothing was changed"}},
    {kBack, Verb::kFailoverPlanned, {K::kRefused, kBack, kFinishFailback}},

    {kRun, Verb::kFailoverForced, {K::kChange, kOver, ""}},
    {kPau, Verb::kFailoverForced, {K::kChange, kOver, ""}},
    {kOver,
     Verb::kFailoverForced,
     {K::kAlready, kOver, "already failed over; nothing was changed"}},
    {kBack, Verb::kFailoverForced, {K::kRefused, kBack, kFinishFailback}},

    {kRun, Verb::kFailback, {K::kRefused, kRun, kFailbackFrom}},
    {kPau, Verb::kFailback, {K::kRefused, kPau, kFailbackFrom}},
    {kOver, Verb::kFailback, {K::kChange, kBack, ""}},
    {kBack, Verb::kFailback, {K::kAlready, kBack, "already failing back"}},

    {kRun, Verb::kSwitchBack, {K::kAlready, kRun, "the flow already runs"}},
    {kPau, Verb::kSwitchBack, {K::kAlready, kPau, "the flow already runs (paused)"}},
    {kOver, Verb::kSwitchBack, {K::kRefused, kOver, kFailbackFirst}},
    {kBack, Verb::kSwitchBack, {K::kChange, kRun, ""}},

    {kRun, Verb::kSkip, {K::kChange, kRun, ""}},
    {kPau, Verb::kSkip, {K::kChange, kPau, ""}},
    {kOver, Verb::kSkip, {K::kRefused, kOver, kSkipWhere}},
    {kBack, Verb::kSkip, {K::kRefused, kBack, kSkipWhere}},

    {kRun, Verb::kGroupSync, {K::kChange, kRun, ""}},
    {kPau, Verb::kGroupSync, {K::kChange, kPau, ""}},
    {kOver, Verb::kGroupSync, {K::kChange, kOver, ""}},
    {kBack, Verb::kGroupSync, {K::kChange, kBack, ""}},

    {kRun, Verb::kDrill, {K::kChange, kRun, ""}},
    {kPau, Verb::kDrill, {K::kRefused, kPau, kDrillWhat}},
    {kOver, Verb::kDrill, {K::kRefused, kOver, kDrillWhat}},
    {kBack, Verb::kDrill, {K::kRefused, kBack, kDrillWhat}},
}};

}  // namespace

std::string_view VerbName(Verb verb) {
  switch (verb) {
    case Verb::kPause:
      return "pause";
    case Verb::kResume:
      return "resume";
    case Verb::kFailoverPlanned:
      return "planned failover";
    case Verb::kFailoverForced:
      return "forced failover";
    case Verb::kFailback:
      return "failback";
    case Verb::kSwitchBack:
      return "switch back";
    case Verb::kSkip:
      return "skip";
    case Verb::kGroupSync:
      return "group sync";
    case Verb::kDrill:
      return "drill";
  }
  return "?";
}

Rule RuleFor(Phase from, Verb verb) {
  for (const Row& row : kTable) {
    if (row.from == from && row.verb == verb) return row.rule;
  }
  return Rule{K::kRefused, from, "not a known verb for this phase"};
}

absl::Status Check(const std::string& flow, Phase from, Verb verb) {
  const Rule rule = RuleFor(from, verb);
  if (rule.kind != K::kRefused) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("flow ", flow, " is ", PhaseName(from), "; ", std::string(rule.why)));
}

}  // namespace kmirror::dr
