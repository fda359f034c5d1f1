// The flow state's compare-and-set across instances, against the sandbox: two kmirrord instances
// (two stores) racing to change the same flow. Exactly one change is recorded; the other is told.
#include "gtest/gtest.h"
#include "lib/dr/kafka_state_store.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

class StateStoreTest : public TwoClusterTest {
 protected:
  std::unique_ptr<dr::KafkaStateStore> Store() {
    auto s =
        dr::KafkaStateStore::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("B")}});
    EXPECT_TRUE(s.ok()) << s.status();
    return std::move(*s);
  }
  static dr::FlowState State(dr::Phase phase, int64_t version, const std::string& by) {
    dr::FlowState s;
    s.flow = "A->B";
    s.phase = phase;
    s.version = version;
    s.changed_by = by;
    return s;
  }
};

// The second instance checks the version, and the first records its change before the second
// writes: the second's write is fenced by the first's transactional id, so it fails and the
// first change stands. Without fencing both writes would land, the later one silently undoing
// the earlier.
TEST_F(StateStoreTest, TwoInstancesRacingOnOneFlowLetExactlyOneChangeStand) {
  auto one = Store();
  auto two = Store();
  ASSERT_TRUE(one->LoadFlow("A->B").ok());
  ASSERT_TRUE(two->LoadFlow("A->B").ok());
  absl::Status first;
  two->SetBeforeWriteForTest(
      [&] { first = one->SaveFlow(State(dr::Phase::kFailedOver, 1, "one")); });
  absl::Status second = two->SaveFlow(State(dr::Phase::kPaused, 1, "two"));
  ASSERT_TRUE(first.ok()) << first;
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition) << second;
  auto three = Store();
  auto stored = three->LoadFlow("A->B");
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->phase, dr::Phase::kFailedOver);
  EXPECT_EQ((*stored)->changed_by, "one");
  // Afterwards each instance sees the newest version and can move on from it.
  two->SetBeforeWriteForTest(nullptr);
  EXPECT_EQ(two->SaveFlow(State(dr::Phase::kPaused, 1, "two")).code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(two->SaveFlow(State(dr::Phase::kFailingBack, 2, "two")).ok());
}

}  // namespace
}  // namespace kmirror::testing
