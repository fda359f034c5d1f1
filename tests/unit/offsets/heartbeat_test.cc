// Heartbeat emission, observation (age, latency) and the topology MirrorClient derives from
// heartbeat topic names.
#include "lib/offsets/heartbeat.h"

#include <prometheus/registry.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/policy/replication_policy.h"
#include "tests/unit/offsets/fakes.h"

namespace kmirror::offsets {
namespace {

using testing::FakeClock;
using testing::FakeCluster;

TEST(HeartbeatEmitterTest, WritesMm2HeartbeatsToTheSourceHeartbeatsTopic) {
  FakeCluster source;
  FakeClock clock;
  HeartbeatEmitter e(source, source, nullptr, clock.AsClock(), {"A", "B"});
  ASSERT_TRUE(e.RunOnce().ok());
  clock.now_ms += 1000;
  ASSERT_TRUE(e.RunOnce().ok());
  EXPECT_TRUE(source.compacted["heartbeats"]);
  const auto& log = source.topics["heartbeats"];
  ASSERT_EQ(log.size(), 2u);
  auto h = DecodeHeartbeat(log[1].key, log[1].value);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, (Heartbeat{"A", "B", clock.now_ms}));
}

TEST(HeartbeatEmitterTest, StartStopIsIdempotent) {
  FakeCluster source;
  FakeClock clock;
  HeartbeatEmitter e(source, source, nullptr, clock.AsClock(),
                     {"A", "B", "heartbeats", std::chrono::milliseconds(10)});
  e.Start();
  e.Stop();
  e.Stop();
  EXPECT_GE(source.topics["heartbeats"].size(), 1u);  // the first tick runs at Start
}

TEST(TopologyTest, HopsFollowMirrorClient) {
  policy::PrefixPolicy prefix;
  // On cluster C: A->C directly, and A->B->C.
  auto hops = ComputeTopology(prefix, {"A.heartbeats", "B.A.heartbeats", "B.heartbeats",
                                       "heartbeats", "orders", "A.orders"});
  EXPECT_EQ(hops, (std::map<std::string, int>{{"A", 1}, {"B", 1}}));
  hops = ComputeTopology(prefix, {"B.A.heartbeats"});
  EXPECT_EQ(hops, (std::map<std::string, int>{{"A", 2}, {"B", 1}}));
  policy::PrefixPolicy underscore("_");
  EXPECT_EQ(ComputeTopology(underscore, {"C_B_A_heartbeats"}),
            (std::map<std::string, int>{{"A", 3}, {"B", 2}, {"C", 1}}));
}

TEST(TopologyTest, IdentityNamingKeepsHeartbeatPrefixes) {
  policy::IdentityPolicy identity("A");
  EXPECT_EQ(ComputeTopology(identity, {"A.heartbeats", "orders"}),
            (std::map<std::string, int>{{"A", 1}}));
}

TEST(HeartbeatObserverTest, ReportsAgeLatencyAndHopsPerUpstream) {
  FakeCluster target;
  FakeClock clock;
  policy::PrefixPolicy prefix;
  prometheus::Registry registry;
  OffsetsProbe probe(registry, "A->B");
  HeartbeatObserver observer(target, target, prefix, &probe, clock.AsClock(), {});
  target.topics["heartbeats"];  // local: not an upstream
  target.topics["A.heartbeats"].push_back(
      {EncodeHeartbeatKey({"A", "B", 0}), EncodeHeartbeatValue({"A", "B", clock.now_ms - 300})});
  ASSERT_TRUE(observer.RunOnce().ok());
  auto up = observer.Upstreams();
  ASSERT_EQ(up.size(), 1u);
  EXPECT_EQ(up["A"].hops, 1);
  EXPECT_EQ(up["A"].latency_ms, 300);
  EXPECT_EQ(up["A"].age_ms, 300);
  // No new heartbeat for 5 s: age grows, latency keeps its last value.
  clock.now_ms += 5000;
  ASSERT_TRUE(observer.RunOnce().ok());
  up = observer.Upstreams();
  EXPECT_EQ(up["A"].age_ms, 5300);
  EXPECT_EQ(up["A"].latency_ms, 300);
  bool found = false;
  for (const auto& f : registry.Collect()) {
    if (f.name != "kmirror_heartbeat_age_seconds") continue;
    ASSERT_EQ(f.metric.size(), 1u);
    EXPECT_DOUBLE_EQ(f.metric[0].gauge.value, 5.3);
    found = true;
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace kmirror::offsets
