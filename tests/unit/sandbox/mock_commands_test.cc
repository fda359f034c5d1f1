// The sandbox's commands to the librdkafka mock (topic creation, leaders, broker up/down) complete
// promptly: librdkafka 2.0.2's mock loses the wake-up of a command queued right after another one
// and would serve it only at its next poll timeout (up to 1 s). See MockWaker in sandbox.cc.
#include <chrono>
#include <string>

#include "gtest/gtest.h"
#include "lib/sandbox/sandbox.h"

namespace kmirror::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

TEST(MockCommandsTest, TopicCreationAndBrokerMovesDoNotWaitForTheMockPollTimeout) {
  auto cluster = Cluster::Start(ClusterOptions{"A", 3, false, 16});
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  // 8 topics x (1 creation + 16 leaders) + 6 broker moves: about 140 commands issued back to back.
  // Unwoken, about one in four waits a full second (measured: 1-4 s per topic); woken, all of
  // them take milliseconds.
  const auto start = Clock::now();
  for (int t = 0; t < 8; ++t) {
    ASSERT_TRUE((*cluster)->CreateTopic("t" + std::to_string(t), 16, 3).ok());
  }
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE((*cluster)->SetBrokerUp(2, false).ok());
    ASSERT_TRUE((*cluster)->SetBrokerUp(2, true).ok());
  }
  const auto elapsed = Clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(1))
      << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms";
  // Shutting down still takes up to 1 s now and then: librdkafka joins the mock's internal broker
  // thread, which only notices termination at its own 1 s tick.
}

}  // namespace
}  // namespace kmirror::sandbox
