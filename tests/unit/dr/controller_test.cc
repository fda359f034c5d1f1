// The DR controller on fakes: every verb, both failover modes, failback with divergence, the
// drill, several instances sharing a flow (one of them dead, one with a skewed clock), racing
// verbs and an unreadable state topic. Simulated time: a 60 s drain wait takes microseconds.
#include "lib/dr/controller.h"

#include "gtest/gtest.h"
#include "lib/config/config.h"
#include "tests/unit/dr/fakes.h"

namespace kmirror::dr {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::FakeCluster;
using testing::FakeDrillIo;
using testing::FakePreserver;
using testing::FakeUnitFactory;
using testing::ManualClock;
using testing::MemoryStateStore;
using testing::SkewedClock;
using testing::UnitState;

constexpr char kFlow[] = "A->B";

config::Config TestConfig() {
  auto cfg = config::ParseConfig(R"(
[daemon]
instance_id = "one"
[clusters.A]
bootstrap_servers = "a:9092"
[clusters.B]
bootstrap_servers = "b:9092"
[[flows]]
source = "A"
target = "B"
)");
  EXPECT_TRUE(cfg.ok()) << cfg.status();
  return *cfg;
}

// An application partition of `orders` at `position` of `end`, copied to A.orders.
replication::PartitionStatus Orders(int32_t p, int64_t position, int64_t end) {
  replication::PartitionStatus s;
  s.source = {"orders", p};
  s.target = {"A.orders", p};
  s.position = position;
  s.source_end = end;
  s.resolved = true;
  return s;
}

class ControllerTest : public ::testing::Test {
 protected:
  struct Instance {
    std::string id;
    FakeUnitFactory units;
    std::unique_ptr<Clock> own_clock;  // a skewed wall clock, or null
    std::unique_ptr<Controller> c;
    std::shared_ptr<UnitState> Forward() { return units.Last(kFlow); }
  };

  // An instance of the flow whose forward unit holds `partitions` (fully copied unless scripted).
  Instance& Add(const std::string& id, std::vector<replication::PartitionStatus> partitions,
                std::chrono::milliseconds skew = 0ms) {
    auto inst = std::make_unique<Instance>();
    inst->id = id;
    inst->units.prepare = [partitions](UnitState& u) {
      if (u.flow.name() == kFlow) u.status.partitions = partitions;
    };
    if (skew != 0ms) inst->own_clock = std::make_unique<SkewedClock>(clock_, skew);
    config::Config cfg = TestConfig();
    cfg.daemon.instance_id = id;
    ControllerDeps deps;
    deps.clock = inst->own_clock ? inst->own_clock.get() : static_cast<Clock*>(&clock_);
    deps.store = &store_;
    deps.units = &inst->units;
    deps.source = &source_;
    deps.target = &target_;
    deps.preserver = &preserver_;
    deps.drill = &drill_;
    deps.on_phase = [this, id](std::optional<Phase> p) { phases_[id] = p; };
    auto c = Controller::Create(cfg, cfg.flows[0], std::move(deps), Controller::Options{});
    EXPECT_TRUE(c.ok()) << c.status();
    inst->c = std::move(*c);
    instances_.push_back(std::move(inst));
    return *instances_.back();
  }
  // Runs an instance's control loop every state poll (5 s) of simulated time.
  void Loop(Instance& i) {
    Controller* c = i.c.get();
    clock_.Every(5s, [c, &i, this] {
      if (!dead_.count(i.id)) (void)c->Poll();
    });
  }
  // Source and target hold `orders` (4 partitions of 20 records), all copied.
  void Copied(int parts = 4) {
    for (int p = 0; p < parts; ++p) {
      source_.Set("orders", p, 0, 20);
      target_.Set("A.orders", p, 0, 20);
      target_.last_source[{"A.orders", p}] = 19;
    }
  }
  std::string PhaseOf(Instance& i) { return i.c->Status()["phase"]; }

  ManualClock clock_;
  MemoryStateStore store_;
  FakeCluster source_, target_;
  FakePreserver preserver_;
  FakeDrillIo drill_{source_};
  std::vector<std::unique_ptr<Instance>> instances_;
  std::map<std::string, std::optional<Phase>> phases_;
  std::set<std::string> dead_;
};

TEST_F(ControllerTest, NothingStartsUntilTheStateIsReadThenTheFlowRuns) {
  store_.readable = false;
  Instance& one = Add("one", {Orders(0, 20, 20)});
  EXPECT_FALSE(one.c->Poll().ok());
  EXPECT_EQ(one.Forward(), nullptr);  // a failed-over flow must not resume by accident
  EXPECT_EQ(PhaseOf(one), "unknown");
  EXPECT_FALSE(phases_["one"].has_value());
  OpResult refused = one.c->Pause("test");
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kUnavailable) << refused.status;
  store_.readable = true;
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_NE(one.Forward(), nullptr);
  EXPECT_TRUE(one.Forward()->started);
  EXPECT_EQ(PhaseOf(one), "running");
  EXPECT_EQ(phases_["one"], Phase::kRunning);
  EXPECT_TRUE(one.c->Ready());
  // The canary topic exists on the source before the first discovery.
  EXPECT_TRUE(source_.topics.count(std::string(policy::kDrillTopic)));
}

TEST_F(ControllerTest, PauseAndResumeArePersistedAndSafeToRepeat) {
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  OpResult paused = one.c->Pause("op");
  ASSERT_TRUE(paused.status.ok()) << paused.status;
  EXPECT_EQ(paused.report["changed"], true);
  EXPECT_TRUE(one.Forward()->paused);
  EXPECT_EQ(store_.Get(FlowKey(kFlow)).value()["phase"], "paused");
  OpResult again = one.c->Pause("op");
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.report["changed"], false);
  EXPECT_EQ(store_.saves, 1);
  ASSERT_TRUE(one.c->Resume("op").status.ok());
  EXPECT_FALSE(one.Forward()->paused);
  EXPECT_EQ(one.c->Resume("op").report["changed"], false);
  EXPECT_EQ(store_.saves, 2);
}

TEST_F(ControllerTest, EveryVerbIsCheckedAgainstThePhaseTable) {
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  OpResult failback = one.c->Failback({}, "op");
  EXPECT_EQ(failback.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(failback.status.message().find("failback starts from a failed-over flow"),
            std::string::npos);
  OpResult switch_back = one.c->SwitchBack(1s, "op");
  EXPECT_TRUE(switch_back.status.ok());
  EXPECT_EQ(switch_back.report["changed"], false);
  ASSERT_TRUE(one.c->Pause("op").status.ok());
  EXPECT_EQ(one.c->Drill({}, "op").status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(one.c->Skip("orders", 0, 5, "op").status.code(), absl::StatusCode::kFailedPrecondition)
      << "position 20 is past offset 5";
  EXPECT_EQ(store_.saves, 1);
}

TEST_F(ControllerTest, PlannedFailoverWaitsForTheLagThenRecordsMarksFromTheTarget) {
  Copied(2);
  source_.Set("orders", 1, 0, 25);  // 5 records still to copy on partition 1
  Instance& one = Add("one", {Orders(0, 20, 20), Orders(1, 20, 25)});
  ASSERT_TRUE(one.c->Poll().ok());
  // Partition 1 drains 3 s into the failover, and the target then holds its 25 records.
  const auto drained_at = clock_.Elapsed() + 3s;
  one.Forward()->on_status = [this, drained_at](replication::FlowStatus& st) {
    if (clock_.Elapsed() < drained_at) return;
    st.partitions[1].position = 25;
    target_.Set("A.orders", 1, 0, 25);
    target_.last_source[{"A.orders", 1}] = 24;
  };
  target_.Set("B.only", 0, 0, 7);  // written on B: the reverse flow starts at its end
  OpResult out = one.c->Failover(/*planned=*/true, 60s, "op");
  ASSERT_TRUE(out.status.ok()) << out.status << out.report.dump(2);
  EXPECT_GE(clock_.Elapsed(), drained_at);
  EXPECT_EQ(out.report["rpo_records"], 0);
  ASSERT_EQ(out.report["marks"].size(), 2u);
  EXPECT_EQ(out.report["marks"][1]["last_replicated_source_offset"], 24);
  EXPECT_EQ(out.report["marks"][1]["source_end"], 25);
  EXPECT_EQ(out.report["marks"][1]["target_end"], 25);
  EXPECT_TRUE(one.Forward()->stopped);
  EXPECT_EQ(one.Forward()->final_checkpoints, 1);
  json state = store_.Get(FlowKey(kFlow)).value();
  EXPECT_EQ(state["phase"], "failed_over");
  EXPECT_EQ(state["reverse_start"]["B.only:0"], 7);
  EXPECT_EQ(phases_["one"], Phase::kFailedOver);
  // Twice: nothing changes, the marks are reported again.
  OpResult again = one.c->Failover(true, 60s, "op");
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.report["changed"], false);
  EXPECT_EQ(again.report["marks"].size(), 2u);
}

TEST_F(ControllerTest, PlannedFailoverThatCannotDrainChangesNothing) {
  Copied(1);
  source_.Set("orders", 0, 0, 30);
  Instance& one = Add("one", {Orders(0, 20, 30)});  // never catches up
  ASSERT_TRUE(one.c->Poll().ok());
  const auto before = clock_.Elapsed();
  OpResult out = one.c->Failover(true, 60s, "op");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded) << out.status;
  EXPECT_NE(out.status.message().find("10 records behind"), std::string::npos) << out.status;
  EXPECT_GE(clock_.Elapsed() - before, 60s);
  EXPECT_EQ(out.report["lag_records"], 10);
  EXPECT_EQ(PhaseOf(one), "running");
  EXPECT_FALSE(one.Forward()->paused);
  EXPECT_FALSE(one.Forward()->stopped);
  EXPECT_EQ(store_.saves, 0);
}

TEST_F(ControllerTest, ForcedFailoverCountsWhatTheTargetLacks) {
  Copied(2);
  target_.last_source[{"A.orders", 1}] = 11;  // 8 of partition 1's 20 never arrived
  source_.down = true;                        // A is gone: its ends are the last observation
  Instance& one = Add("one", {Orders(0, 20, 20), Orders(1, 12, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  OpResult out = one.c->Failover(/*planned=*/false, 60s, "op");
  ASSERT_TRUE(out.status.ok()) << out.status << out.report.dump(2);
  EXPECT_EQ(out.report["rpo_records"], 8);
  EXPECT_EQ(out.report["marks"][1]["missing_records"], 8);
  EXPECT_FALSE(out.report.contains("warning")) << out.report.dump(2);
  EXPECT_EQ(PhaseOf(one), "failed_over");
}

TEST_F(ControllerTest, FailbackPreservesTheDivergenceAndSwitchBackResumesAboveIt) {
  Copied(1);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  target_.Set("A.orders", 0, 0, 20);
  ASSERT_TRUE(one.c->Failover(true, 60s, "op").status.ok());
  source_.Set("orders", 0, 0, 23);  // 3 records written on A after the failover
  preserver_.fail = absl::UnavailableError("quarantine topic not writable");
  OpResult refused = one.c->Failback({}, "op");
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PhaseOf(one), "failed_over");
  preserver_.fail = absl::OkStatus();
  OpResult fb = one.c->Failback({}, "op");
  ASSERT_TRUE(fb.status.ok()) << fb.status;
  EXPECT_EQ(fb.report["divergence"]["records"], 3);
  ASSERT_EQ(preserver_.ranges.size(), 1u);
  EXPECT_EQ(preserver_.ranges[0].from, 20);
  EXPECT_EQ(preserver_.ranges[0].to, 23);
  auto reverse = one.units.Last("B->A");
  ASSERT_NE(reverse, nullptr);
  EXPECT_TRUE(reverse->started);
  EXPECT_EQ(reverse->flow.group_id, "kmirror.B-A.failback");
  EXPECT_EQ(one.c->Failback({}, "op").report["changed"], false);

  replication::PartitionStatus back = Orders(0, 5, 5);
  back.source = {"A.orders", 0};
  back.target = {"orders", 0};
  reverse->status.partitions = {back};
  OpResult sb = one.c->SwitchBack(10s, "op");
  ASSERT_TRUE(sb.status.ok()) << sb.status;
  EXPECT_TRUE(reverse->stopped);
  EXPECT_EQ(reverse->final_checkpoints, 1);
  EXPECT_EQ(PhaseOf(one), "running");
  // The forward flow resumes no lower than the divergent records' end.
  auto forward = one.Forward();
  ASSERT_NE(forward, nullptr);
  ASSERT_TRUE(forward->options.start_floor);
  EXPECT_EQ(forward->options.start_floor({"orders", 0}).value(), std::optional<int64_t>(23));
}

// Topics and partitions created on A after the failover have no mark: all their records are
// divergent too, and the flow resumes above them.
TEST_F(ControllerTest, FailbackCoversTopicsAndPartitionsCreatedAfterTheFailover) {
  Copied(1);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(one.c->Failover(true, 60s, "op").status.ok());
  source_.Set("orders", 1, 0, 4);              // a partition added on A
  source_.Set("refunds", 0, 0, 2);             // a topic created on A
  source_.Set("__consumer_offsets", 0, 0, 9);  // not the flow's
  OpResult fb = one.c->Failback({}, "op");
  ASSERT_TRUE(fb.status.ok()) << fb.status;
  EXPECT_EQ(fb.report["divergence"]["records"], 4 + 2);
  std::map<std::string, std::pair<int64_t, int64_t>> ranges;
  for (const auto& r : preserver_.ranges) {
    ranges[PartitionKey(r.topic, r.partition)] = {r.from, r.to};
  }
  EXPECT_EQ(ranges, (std::map<std::string, std::pair<int64_t, int64_t>>{
                        {"orders:0", {20, 20}}, {"orders:1", {0, 4}}, {"refunds:0", {0, 2}}}));
  auto floors = store_.Get(FlowKey(kFlow)).value()["resume_floor"];
  EXPECT_EQ(floors["refunds:0"], 2);
  EXPECT_EQ(floors["orders:1"], 4);
}

// Two instances share the flow: a planned failover on one waits for the other's fresh report of
// its drained share, records its partitions' marks, and the other stops at its next poll.
TEST_F(ControllerTest, PlannedFailoverCoversTheOtherInstancesPartitions) {
  Copied(4);
  Instance& one = Add("one", {Orders(0, 20, 20), Orders(1, 20, 20)});
  Instance& two = Add("two", {Orders(2, 20, 20), Orders(3, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  Loop(two);
  OpResult out = one.c->Failover(true, 60s, "op");
  ASSERT_TRUE(out.status.ok()) << out.status << out.report.dump(2);
  EXPECT_EQ(out.report["partitions_by_instance"], (json{{"one", 2}, {"two", 2}}));
  EXPECT_EQ(out.report["marks"].size(), 4u);
  EXPECT_FALSE(out.report.contains("warning")) << out.report.dump(2);
  EXPECT_EQ(PhaseOf(two), "failed_over");
  ASSERT_TRUE(two.c->Stop(0ms).ok());  // joins the thread that stops its unit
  EXPECT_TRUE(two.Forward()->stopped);
}

TEST_F(ControllerTest, APausedFlowSharedWithAnotherInstanceIsNotFailedOver) {
  Copied(2);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Instance& two = Add("two", {Orders(1, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  ASSERT_TRUE(one.c->Pause("op").status.ok());
  OpResult out = one.c->Failover(true, 60s, "op");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(out.status.message().find("is paused and other instances hold"), std::string::npos);
}

TEST_F(ControllerTest, APlannedFailoverWaitsForAPeerStillCopying) {
  Copied(2);
  source_.Set("orders", 1, 0, 30);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Instance& two = Add("two", {Orders(1, 20, 30)});  // 10 behind until it catches up
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  Loop(two);
  OpResult out = one.c->Failover(true, 20s, "op");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded) << out.status;
  EXPECT_EQ(out.report["instances_not_drained"], (json{"two"}));
  EXPECT_EQ(PhaseOf(one), "running");
  const auto caught_up = clock_.Elapsed() + 7s;
  two.Forward()->on_status = [this, caught_up](replication::FlowStatus& st) {
    if (clock_.Elapsed() >= caught_up) st.partitions[0].position = 30;
  };
  target_.last_source[{"A.orders", 1}] = 29;
  OpResult ok = one.c->Failover(true, 60s, "op");
  ASSERT_TRUE(ok.status.ok()) << ok.status << ok.report.dump(2);
  EXPECT_EQ(ok.report["rpo_records"], 0);
}

// Three instances; one is killed (stops reporting). After three polls of this instance's own
// time it is stale: the failover no longer waits for it and takes its partitions' marks from its
// last report.
TEST_F(ControllerTest, APeerThatStoppedReportingIsJudgedStaleOnTheLocalClock) {
  Copied(3);
  target_.last_source[{"A.orders", 2}] = 14;  // the dead instance's partition lacks 5 records
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Instance& two = Add("two", {Orders(1, 20, 20)});
  Instance& three = Add("three", {Orders(2, 15, 20)});
  for (Instance* i : {&one, &two, &three}) ASSERT_TRUE(i->c->Poll().ok());
  Loop(two);
  Loop(three);
  dead_.insert("three");
  ASSERT_TRUE(one.c->Poll().ok());
  clock_.Advance(16s);
  ASSERT_TRUE(one.c->Poll().ok());
  json status = one.c->Status();
  std::map<std::string, std::string> states;
  for (const auto& i : status["instances"]) states[i["instance"]] = i["state"];
  EXPECT_EQ(states["two"], "active");
  EXPECT_EQ(states["three"], "stale");
  OpResult out = one.c->Failover(/*planned=*/false, 60s, "op");
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(out.report["partitions_by_instance"], (json{{"one", 1}, {"three", 1}, {"two", 1}}));
  EXPECT_EQ(out.report["rpo_records"], 5);
}

// A live peer whose wall clock is an hour behind is neither stale nor skipped.
TEST_F(ControllerTest, APeerWithASkewedClockIsStillWaitedForAndCounted) {
  Copied(2);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Instance& two = Add("two", {Orders(1, 20, 20)}, /*skew=*/-3600s);
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  Loop(two);
  clock_.Advance(20s);
  ASSERT_TRUE(one.c->Poll().ok());
  const json status = one.c->Status();
  for (const auto& i : status["instances"]) EXPECT_EQ(i["state"], "active") << i.dump();
  OpResult out = one.c->Failover(true, 60s, "op");
  ASSERT_TRUE(out.status.ok()) << out.status << out.report.dump(2);
  EXPECT_EQ(out.report["partitions_by_instance"], (json{{"one", 1}, {"two", 1}}));
  EXPECT_EQ(PhaseOf(two), "failed_over");
}

// Two verbs on two instances race: the state moves under the second between its read and its
// write. Exactly one wins; the other is told, and changes nothing.
TEST_F(ControllerTest, RacingVerbsOnTwoInstancesLetExactlyOneWin) {
  Copied(1);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Instance& two = Add("two", {});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  OpResult first;
  store_.before_save = [&] { first = two.c->Pause("two's operator"); };
  OpResult second = one.c->Failover(false, 60s, "one's operator");
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_EQ(second.status.code(), absl::StatusCode::kFailedPrecondition) << second.status;
  EXPECT_NE(second.status.message().find("failover not recorded"), std::string::npos);
  EXPECT_EQ(store_.Get(FlowKey(kFlow)).value()["phase"], "paused");
  // The loser is back where the stored state says.
  EXPECT_EQ(PhaseOf(one), "paused");
  ASSERT_NE(one.Forward(), nullptr);
  EXPECT_FALSE(one.Forward()->stopped);
}

TEST_F(ControllerTest, AVerbIsRefusedWhenTheStateCannotBeReadAndNothingChanges) {
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  store_.readable = false;
  OpResult out = one.c->Failover(true, 10s, "op");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(out.status.message().find("cannot read its state"), std::string::npos);
  EXPECT_FALSE(one.c->Poll().ok());
  EXPECT_FALSE(one.c->Status()["state_error"].is_null());
  EXPECT_FALSE(one.Forward()->stopped);  // the last known state (running) is kept
}

// An instance cut off from the state topic copies on for the grace period only: another
// instance may have failed the flow over meanwhile. Once the state reads again, it applies it.
TEST_F(ControllerTest, ReplicationStopsWhenTheStateStaysUnreadablePastTheGracePeriod) {
  Instance& one = Add("one", {Orders(0, 20, 20)});
  Loop(one);
  ASSERT_TRUE(one.c->Poll().ok());
  auto first = one.Forward();
  store_.readable = false;
  clock_.Advance(25s);
  EXPECT_EQ(one.c->Status()["replication"]["flow"], kFlow) << "still inside the grace period";
  clock_.Advance(10s);
  EXPECT_FALSE(one.c->Status().contains("replication"));
  EXPECT_TRUE(one.c->Status().contains("replication_stopped"));
  EXPECT_FALSE(one.c->Ready());
  store_.readable = true;
  clock_.Advance(5s);
  ASSERT_NE(one.Forward(), first);
  EXPECT_TRUE(one.Forward()->started);
  EXPECT_TRUE(one.c->Ready());
  ASSERT_TRUE(one.c->Stop(0ms).ok());
  EXPECT_TRUE(first->stopped);
}

TEST_F(ControllerTest, SkipIsPersistedForEveryInstanceAndRefusedAtAnotherOffset) {
  replication::PartitionStatus stopped = Orders(0, 7, 20);
  stopped.stopped = true;
  stopped.stop_offset = 7;
  Instance& one = Add("one", {stopped});
  Instance& two = Add("two", {});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(two.c->Poll().ok());
  EXPECT_EQ(one.c->Skip("orders", 0, 8, "op").status.code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(one.c->Skip("orders", 0, 7, "op").status.ok());
  EXPECT_EQ((one.Forward()->skips), (std::map<SourcePartition, int64_t>{{{"orders", 0}, 7}}));
  ASSERT_TRUE(two.c->Poll().ok());
  EXPECT_EQ((two.Forward()->skips), (std::map<SourcePartition, int64_t>{{{"orders", 0}, 7}}));
}

TEST_F(ControllerTest, GroupSyncPausesReachEveryUnitAndSurviveARestart) {
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  ASSERT_TRUE(one.c->PauseGroup("billing", true, "op").status.ok());
  EXPECT_EQ(one.Forward()->paused_groups, std::set<std::string>{"billing"});
  Instance& restarted = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(restarted.c->Poll().ok());
  EXPECT_EQ(restarted.Forward()->paused_groups, std::set<std::string>{"billing"});
  ASSERT_TRUE(one.c->PauseGroup("billing", false, "op").status.ok());
  EXPECT_TRUE(one.Forward()->paused_groups.empty());
}

TEST_F(ControllerTest, DrillPassesOnAHealthyFlowAndNamesTheFirstFailure) {
  Copied(1);
  Instance& one = Add("one", {Orders(0, 20, 20)});
  ASSERT_TRUE(one.c->Poll().ok());
  target_.Set("A.kmirror-drill", 0, 0, 0);
  auto forward = one.Forward();
  forward->last_checkpoint_ms = clock_.WallMs();
  forward->upstreams = std::map<std::string, Upstream>{{"A", {1, 1000, 50}}};
  // The flow copies each canary 1 s after it was written.
  forward->on_status = [this](replication::FlowStatus& st) {
    auto wm = source_.QueryWatermarks(std::string(policy::kDrillTopic), 0);
    if (!wm.ok()) return;
    replication::PartitionStatus canary;
    canary.source = {std::string(policy::kDrillTopic), 0};
    canary.target = {"A.kmirror-drill", 0};
    canary.position = clock_.Elapsed() >= 1s ? wm->high : 0;
    canary.source_end = wm->high;
    canary.resolved = true;
    st.partitions.push_back(canary);
  };
  target_.Set("A.kmirror-drill", 0, 0, 20);
  OpResult ok = one.c->Drill({}, "op");
  ASSERT_TRUE(ok.status.ok()) << ok.status << ok.report.dump(2);
  std::map<std::string, json> checks;
  for (const auto& c : ok.report["checks"]) checks[c["name"]] = c;
  EXPECT_EQ(checks.size(), 6u);
  EXPECT_EQ(checks["compare"]["records"], 20 + 5);
  EXPECT_EQ(checks["estimate"]["rpo_records"], 0);
  EXPECT_TRUE(store_.List("drill/", 10)->size() == 1);

  drill_.translation_shift = 1;
  OpResult off = one.c->Drill({}, "op");
  EXPECT_FALSE(off.status.ok());
  EXPECT_NE(off.status.message().find("translation:"), std::string::npos) << off.status;
}

}  // namespace
}  // namespace kmirror::dr
