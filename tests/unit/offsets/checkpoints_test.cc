// Checkpoint emission (MM2 scenarios adapted: no checkpoint before data, restart keeps
// monotonic checkpoints, group rewinds, excluded groups) and group offset sync rules.
#include "lib/offsets/checkpoints.h"

#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/offsets/group_sync.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"
#include "lib/policy/topic_selector.h"
#include "tests/unit/offsets/fakes.h"

namespace kmirror::offsets {
namespace {

using testing::FakeClock;
using testing::FakeCluster;
using testing::FakeGroups;
using testing::FakeIndex;

constexpr char kCheckpoints[] = "A.checkpoints.internal";
const TargetPartition kTp{"A.orders", 0};

double Value(prometheus::Registry& registry, const std::string& name, const std::string& label = "",
             const std::string& label_value = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      bool match = label.empty();
      for (const auto& l : m.label) match = match || (l.name == label && l.value == label_value);
      if (!match) continue;
      if (family.type == prometheus::MetricType::Counter) return m.counter.value;
      return m.gauge.value;
    }
  }
  return -1;
}

class CheckpointEmitterTest : public ::testing::Test {
 protected:
  CheckpointEmitterTest()
      : selector_(std::make_shared<policy::PrefixPolicy>(), policy::NameFilter::DefaultTopics(),
                  "A", "B"),
        groups_filter_(policy::NameFilter::DefaultGroups()) {
    for (int64_t s = 0; s < 100; ++s) index_.Append(kTp, "A", s);
  }
  std::unique_ptr<CheckpointEmitter> MakeEmitter(GroupOffsetSync* sync = nullptr) {
    return std::make_unique<CheckpointEmitter>(
        CheckpointEmitter::Io{source_groups_, target_, target_, target_}, translator_, selector_,
        groups_filter_, sync, &probe_, clock_.AsClock(),
        CheckpointEmitter::Options{kCheckpoints, std::chrono::milliseconds(100)});
  }
  std::vector<Checkpoint> Written() {
    std::vector<Checkpoint> out;
    for (const KeyValue& kv : target_.topics[kCheckpoints]) {
      auto c = DecodeCheckpoint(kv.key, kv.value);
      EXPECT_TRUE(c.ok());
      if (c.ok()) out.push_back(*c);
    }
    return out;
  }
  CheckpointEmitter::PassResult Run(CheckpointEmitter& e) {
    auto r = e.RunOnce();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CheckpointEmitter::PassResult{};
  }

  policy::TopicSelector selector_;
  policy::NameFilter groups_filter_;
  FakeIndex index_;
  Translator translator_{index_, [](std::string_view t) { return "A." + std::string(t); }};
  FakeGroups source_groups_;
  FakeGroups target_groups_;
  FakeCluster target_;
  FakeClock clock_;
  prometheus::Registry registry_;
  OffsetsProbe probe_{registry_, "A->B"};
};

TEST_F(CheckpointEmitterTest, TranslatesCommittedOffsetsIntoMm2Checkpoints) {
  source_groups_.Set("app", "orders", 0, 42, "meta");
  auto e = MakeEmitter();
  auto r = Run(*e);
  EXPECT_EQ(r.written, 1);
  EXPECT_TRUE(target_.compacted[kCheckpoints]);
  EXPECT_EQ(Written(), (std::vector<Checkpoint>{{"app", "A.orders", 0, 42, 42, "meta"}}));
  EXPECT_EQ(Value(registry_, "kmirror_checkpoints_written_total"), 1);
  EXPECT_EQ(Value(registry_, "kmirror_checkpointed_groups"), 1);
  EXPECT_EQ(Value(registry_, "kmirror_checkpointed_partitions"), 1);
}

TEST_F(CheckpointEmitterTest, OnlyChangesAreWritten) {
  source_groups_.Set("app", "orders", 0, 42);
  auto e = MakeEmitter();
  Run(*e);
  EXPECT_EQ(Run(*e).written, 0);
  source_groups_.Set("app", "orders", 0, 50);
  EXPECT_EQ(Run(*e).written, 1);
  EXPECT_EQ(Written().back().downstream_offset, 50);
}

TEST_F(CheckpointEmitterTest, FiltersGroupsAndTopics) {
  source_groups_.Set("console-consumer-1", "orders", 0, 1);  // MM2 default exclude
  source_groups_.Set("app", "__consumer_offsets", 0, 1);     // internal topic
  source_groups_.Set("app", "B.orders", 0, 1);               // came from the target: a cycle
  auto e = MakeEmitter();
  auto r = Run(*e);
  EXPECT_EQ(r.groups, 1);
  EXPECT_EQ(r.written, 0);
}

TEST_F(CheckpointEmitterTest, NoCheckpointBeforeData) {
  source_groups_.Set("app", "orders", 0, 150);  // ahead of the 100 replicated records
  auto e = MakeEmitter();
  auto r = Run(*e);
  EXPECT_EQ(r.misses, 1);
  EXPECT_TRUE(Written().empty());
  EXPECT_EQ(Value(registry_, "kmirror_translation_misses_total"), 1);
}

TEST_F(CheckpointEmitterTest, MonotonicUnlessTheSourceGroupRewinds) {
  source_groups_.Set("app", "orders", 0, 60);
  auto e = MakeEmitter();
  Run(*e);
  // The group rewound on the source (reset-offsets): the lower checkpoint is written.
  source_groups_.Set("app", "orders", 0, 20);
  EXPECT_EQ(Run(*e).written, 1);
  EXPECT_EQ(Written().back().downstream_offset, 20);
}

TEST_F(CheckpointEmitterTest, TranslationGoingBackWithoutARewindIsNotWritten) {
  source_groups_.Set("app", "orders", 0, 60);
  auto e = MakeEmitter();
  Run(*e);
  // The target now holds fewer records ahead of source 61 (another writer's first), but the
  // previous checkpoint still points inside it: it stays rather than move consumers back.
  translator_.Forget(SourcePartition{"orders", 0});
  index_.logs[kTp].clear();
  for (int64_t s = 0; s < 40; ++s) index_.Append(kTp, "X", s);
  for (int64_t s = 50; s < 100; ++s) index_.Append(kTp, "A", s);  // 61 at target 51, end 90
  source_groups_.Set("app", "orders", 0, 61);
  EXPECT_EQ(Run(*e).written, 0);
  EXPECT_EQ(e->Last("app", "A.orders", 0)->downstream_offset, 60);
}

// The flow saw the target topic recreated (OnTargetReset): the cache is dropped, and a previous
// checkpoint past the new end is replaced, never kept.
TEST_F(CheckpointEmitterTest, ACheckpointPastARecreatedTargetsEndIsReplaced) {
  source_groups_.Set("app", "orders", 0, 60);
  auto e = MakeEmitter();
  Run(*e);
  ASSERT_EQ(e->Last("app", "A.orders", 0)->downstream_offset, 60);
  AckObserver& observer = translator_;
  observer.OnTargetReset(SourcePartition{"orders", 0});
  index_.logs[kTp].clear();
  for (int64_t s = 50; s < 100; ++s) index_.Append(kTp, "A", s);  // 61 now at target 11, end 50
  source_groups_.Set("app", "orders", 0, 61);
  EXPECT_EQ(Run(*e).written, 1);
  EXPECT_EQ(e->Last("app", "A.orders", 0)->downstream_offset, 11);
}

TEST_F(CheckpointEmitterTest, RestartReadsBackCheckpointsAndStaysMonotonic) {
  source_groups_.Set("app", "orders", 0, 60);
  MakeEmitter()->RunOnce().IgnoreError();
  ASSERT_EQ(Written().size(), 1u);
  // A new instance, whose translation would now go back for the same group position (the
  // previous checkpoint still inside the target).
  translator_.Forget(SourcePartition{"orders", 0});
  index_.logs[kTp].clear();
  for (int64_t s = 0; s < 40; ++s) index_.Append(kTp, "X", s);
  for (int64_t s = 50; s < 100; ++s) index_.Append(kTp, "A", s);
  source_groups_.Set("app", "orders", 0, 61);
  auto e = MakeEmitter();
  EXPECT_EQ(Run(*e).written, 0);
  EXPECT_EQ(e->Last("app", "A.orders", 0)->upstream_offset, 60);
  // And an unchanged group is not rewritten after a restart.
  EXPECT_EQ(Run(*e).written, 0);
}

TEST_F(CheckpointEmitterTest, GroupFarBehindStillTranslatesExactly) {
  source_groups_.Set("slow", "orders", 0, 3);
  source_groups_.Set("fast", "orders", 0, 100);
  auto e = MakeEmitter();
  EXPECT_EQ(Run(*e).written, 2);
  EXPECT_EQ(e->Last("slow", "A.orders", 0)->downstream_offset, 3);
  EXPECT_EQ(e->Last("fast", "A.orders", 0)->downstream_offset, 100);
}

TEST_F(CheckpointEmitterTest, GroupSyncWritesIdleTargetGroups) {
  GroupOffsetSync sync(target_groups_, &probe_);
  source_groups_.Set("app", "orders", 0, 42);
  auto e = MakeEmitter(&sync);
  EXPECT_EQ(Run(*e).groups_synced, 1);
  EXPECT_EQ(target_groups_.Get("app", "A.orders", 0), 42);
  EXPECT_EQ(Value(registry_, "kmirror_group_offset_syncs_total"), 1);
}

TEST(FailbackCheckpointTest, RemoteTopicsFromTheTargetAreCheckpointedUnderTheirOriginalName) {
  // Flow B->A. On B, "A.orders" holds what A->B copied (provenance source "A").
  policy::TopicSelector selector(std::make_shared<policy::PrefixPolicy>(),
                                 policy::NameFilter::DefaultTopics(), "B", "A");
  const policy::NameFilter groups = policy::NameFilter::DefaultGroups();
  FakeIndex forward_index;  // "B.orders" on A: empty here
  forward_index.ours = "B";
  Translator forward(forward_index, [](std::string_view t) { return "B." + std::string(t); });
  FakeIndex b_index;
  for (int64_t s = 100; s < 110; ++s) b_index.Append({"A.orders", 0}, "A", s);
  ReverseTranslator reverse(b_index);
  FakeGroups source_groups;                    // groups on B
  source_groups.Set("app", "A.orders", 0, 4);  // consumed up to A's offset 103
  FakeCluster target;                          // cluster A
  FakeClock clock;
  CheckpointEmitter emitter({source_groups, target, target, target}, forward, selector, groups,
                            nullptr, nullptr, clock.AsClock(), {"B.checkpoints.internal"});
  emitter.SetReverseTranslator(&reverse);
  auto r = emitter.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->written, 1);
  EXPECT_EQ(emitter.Last("app", "orders", 0), (Checkpoint{"app", "orders", 0, 4, 104, ""}));
}

class GroupOffsetSyncTest : public ::testing::Test {
 protected:
  absl::StatusOr<GroupOffsetSync::Outcome> Sync(int64_t offset) {
    return sync_.Sync("app", {CommittedOffset{"A.orders", 0, offset, ""}});
  }
  FakeGroups target_;
  prometheus::Registry registry_;
  OffsetsProbe probe_{registry_, "A->B"};
  GroupOffsetSync sync_{target_, &probe_};
};

TEST_F(GroupOffsetSyncTest, CommitsIntoAnEmptyOrUnknownGroup) {
  EXPECT_EQ(*Sync(10), GroupOffsetSync::Outcome::kWritten);  // unknown (Dead) group
  target_.SetMembers("app", kafka::GroupState::kEmpty, 0);
  EXPECT_EQ(*Sync(20), GroupOffsetSync::Outcome::kWritten);
  EXPECT_EQ(target_.Get("app", "A.orders", 0), 20);
}

TEST_F(GroupOffsetSyncTest, NeverTouchesAGroupWithActiveMembers) {
  target_.SetMembers("app", kafka::GroupState::kStable, 1);
  EXPECT_EQ(*Sync(10), GroupOffsetSync::Outcome::kSkippedActive);
  target_.SetMembers("app", kafka::GroupState::kPreparingRebalance, 0);
  EXPECT_EQ(*Sync(10), GroupOffsetSync::Outcome::kSkippedActive);
  EXPECT_TRUE(target_.commits.empty());
  EXPECT_EQ(
      Value(registry_, "kmirror_group_offset_syncs_skipped_total", "reason", "active_members"), 2);
}

// A target group past the end of its partition (the target topic was recreated with fewer
// records) is moved back to the translated offset: there, consumers would skip every new record.
TEST_F(GroupOffsetSyncTest, AGroupPastARecreatedPartitionsEndIsMovedBack) {
  target_.Set("app", "A.orders", 0, 60);
  EXPECT_EQ(*sync_.Sync("app", {CommittedOffset{"A.orders", 0, 11, "", /*log_end=*/60}}),
            GroupOffsetSync::Outcome::kUnchanged);  // at the end, not past it
  EXPECT_EQ(*sync_.Sync("app", {CommittedOffset{"A.orders", 0, 11, "", /*log_end=*/50}}),
            GroupOffsetSync::Outcome::kWritten);
  EXPECT_EQ(target_.Get("app", "A.orders", 0), 11);
}

TEST_F(GroupOffsetSyncTest, NeverMovesATargetOffsetBackwards) {
  target_.Set("app", "A.orders", 0, 30);
  EXPECT_EQ(*Sync(20), GroupOffsetSync::Outcome::kUnchanged);
  EXPECT_EQ(*Sync(30), GroupOffsetSync::Outcome::kUnchanged);
  EXPECT_EQ(target_.Get("app", "A.orders", 0), 30);
  EXPECT_EQ(*Sync(31), GroupOffsetSync::Outcome::kWritten);
  EXPECT_EQ(target_.Get("app", "A.orders", 0), 31);
}

TEST_F(GroupOffsetSyncTest, PausedGroupsAreSkippedAndTheHookSeesChanges) {
  std::vector<std::pair<std::string, bool>> seen;
  sync_.SetPauseHook([&](const std::string& g, bool paused) { seen.emplace_back(g, paused); });
  sync_.Pause("app");
  sync_.Pause("app");  // no change, no call
  EXPECT_EQ(*Sync(10), GroupOffsetSync::Outcome::kSkippedPaused);
  EXPECT_EQ(sync_.Paused(), (std::set<std::string>{"app"}));
  sync_.Resume("app");
  EXPECT_EQ(*Sync(10), GroupOffsetSync::Outcome::kWritten);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, bool>>{{"app", true}, {"app", false}}));
  EXPECT_EQ(Value(registry_, "kmirror_group_offset_syncs_skipped_total", "reason", "paused"), 1);
}

}  // namespace
}  // namespace kmirror::offsets
