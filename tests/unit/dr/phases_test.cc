#include "lib/dr/phases.h"

#include "gtest/gtest.h"

namespace kmirror::dr {
namespace {

constexpr Phase kPhases[] = {Phase::kRunning, Phase::kPaused, Phase::kFailedOver,
                             Phase::kFailingBack};
constexpr Verb kVerbs[] = {Verb::kPause,          Verb::kResume,    Verb::kFailoverPlanned,
                           Verb::kFailoverForced, Verb::kFailback,  Verb::kSwitchBack,
                           Verb::kSkip,           Verb::kGroupSync, Verb::kDrill};

TEST(PhasesTest, EveryPhaseAndVerbHasARuleWithAReason) {
  for (Phase p : kPhases) {
    for (Verb v : kVerbs) {
      const Rule r = RuleFor(p, v);
      EXPECT_NE(r.why, "not a known verb for this phase") << PhaseName(p) << " " << VerbName(v);
      if (r.kind != Rule::Kind::kChange) {
        EXPECT_FALSE(r.why.empty());
        EXPECT_EQ(r.to, p) << "only a change moves the phase";
      }
    }
  }
}

TEST(PhasesTest, TheDrCycleIsTheOnlyWayRoundAndEveryStepIsSafeToRepeat) {
  EXPECT_EQ(RuleFor(Phase::kRunning, Verb::kFailoverPlanned).to, Phase::kFailedOver);
  EXPECT_EQ(RuleFor(Phase::kPaused, Verb::kFailoverForced).to, Phase::kFailedOver);
  EXPECT_EQ(RuleFor(Phase::kFailedOver, Verb::kFailback).to, Phase::kFailingBack);
  EXPECT_EQ(RuleFor(Phase::kFailingBack, Verb::kSwitchBack).to, Phase::kRunning);
  // Repeating a step that is done answers "already", never an error.
  EXPECT_EQ(RuleFor(Phase::kFailedOver, Verb::kFailoverPlanned).kind, Rule::Kind::kAlready);
  EXPECT_EQ(RuleFor(Phase::kFailingBack, Verb::kFailback).kind, Rule::Kind::kAlready);
  EXPECT_EQ(RuleFor(Phase::kRunning, Verb::kSwitchBack).kind, Rule::Kind::kAlready);
  EXPECT_EQ(RuleFor(Phase::kPaused, Verb::kPause).kind, Rule::Kind::kAlready);
  // Skipping a step is refused with what to do instead.
  absl::Status s = Check("A->B", Phase::kFailedOver, Verb::kResume);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "flow A->B is failed_over; resume only restarts a paused flow (a failed-over flow "
            "comes back with failback)");
  EXPECT_EQ(Check("A->B", Phase::kFailingBack, Verb::kFailoverForced).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Check("A->B", Phase::kRunning, Verb::kFailback).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Check("A->B", Phase::kFailedOver, Verb::kGroupSync).ok());
}

}  // namespace
}  // namespace kmirror::dr
