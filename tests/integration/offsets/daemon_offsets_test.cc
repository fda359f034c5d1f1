// Consumer offsets end to end with kmirrord as a process: a group's committed source offsets are
// checkpointed in MM2's format and synced into the same group on the target, so that a consumer
// on the target resumes at exactly the next record; a group with an active member on the target
// is never touched.
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "tests/support/two_clusters.h"

namespace kmirror::testing {
namespace {

// The MM2 checkpoint value: version INT16, upstream INT64, downstream INT64, metadata STRING.
struct CheckpointValue {
  int64_t upstream = -1;
  int64_t downstream = -1;
};
int64_t BigEndian64(const std::string& s, size_t at) {
  int64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
std::optional<CheckpointValue> DecodeCheckpointValue(const std::string& v) {
  if (v.size() < 2 + 8 + 8 + 2 || v[0] != 0 || v[1] != 0) return std::nullopt;
  return CheckpointValue{BigEndian64(v, 2), BigEndian64(v, 10)};
}
// Key: group STRING, topic STRING, partition INT32 (STRING = INT16 length + bytes).
std::string CheckpointKey(const std::string& group, const std::string& topic, int32_t partition) {
  std::string k;
  for (const std::string* s : {&group, &topic}) {
    k.push_back(static_cast<char>(s->size() >> 8));
    k.push_back(static_cast<char>(s->size() & 0xff));
    k += *s;
  }
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<char>(partition >> shift));
  return k;
}

class DaemonOffsetsTest : public TwoClusterTest {
 protected:
  // The newest checkpoint in `cluster`'s `topic` for (group, checkpointed topic, partition).
  std::optional<CheckpointValue> LastCheckpoint(const std::string& group, int32_t partition,
                                                const std::string& cluster = "B",
                                                const std::string& topic = "A.checkpoints.internal",
                                                const std::string& checkpointed = "A.orders") {
    auto records = ReadAll(sb_->Bootstrap(cluster), topic, 1);
    std::optional<CheckpointValue> last;
    const std::string key = CheckpointKey(group, checkpointed, partition);
    for (const Copy& c : records[0]) {
      if (c.key == key && c.value) last = DecodeCheckpointValue(*c.value);
    }
    return last;
  }
};

TEST_F(DaemonOffsetsTest, ATargetConsumerResumesAtExactlyTheNextRecord) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 2, 3).ok());
  ASSERT_TRUE(sb_->CreateTopic("B", "A.orders", 2, 3).ok());
  // Target offsets differ from source offsets: partition 0 of the remote topic already holds 10
  // records that did not come from A.
  Produce("B", "A.orders", 0, 10, "local-");
  Produce("A", "orders", 0, 100, "p0-");
  Produce("A", "orders", 1, 100, "p1-");
  // The application's group on A has read 37 and 55 records.
  auto committed =
      Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 37}, {"orders", 1, 55}});
  ASSERT_TRUE(committed.ok()) << committed.status();

  Kmirrord k(dir_.path(), FlowConfig(*sb_, "checkpoint_interval = \"500ms\"\n"));
  k.Start();
  // Checkpoints (MM2 format) carry the exact translation, and the target group gets the offsets.
  ASSERT_TRUE(WaitFor([&] {
    auto c0 = LastCheckpoint("app", 0), c1 = LastCheckpoint("app", 1);
    return c0 && c1 && c0->downstream == 47 && c1->downstream == 55;
  })) << k.Log();
  EXPECT_EQ(LastCheckpoint("app", 0)->upstream, 37);
  ASSERT_TRUE(WaitFor([&] {
    return Committed("B", "app", "A.orders", 0) == 47 && Committed("B", "app", "A.orders", 1) == 55;
  })) << k.Log();

  // A consumer of group "app" on B starts exactly where the group stopped on A.
  {
    auto consumer =
        kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("B")},
                                                  {"group.id", "app"},
                                                  {"enable.auto.commit", "false"},
                                                  {"auto.offset.reset", "error"},
                                                  {"session.timeout.ms", "6000"}});
    ASSERT_TRUE(consumer.ok()) << consumer.status();
    ASSERT_TRUE((*consumer)->Subscribe({"A.orders"}).ok());
    std::map<int32_t, std::string> first;
    ASSERT_TRUE(WaitFor([&] {
      auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(200), 100);
      if (batch.ok()) {
        for (kafka::Message& m : *batch) {
          if (m.ok() && !first.count(m.partition()) && m.value()) {
            first[m.partition()] = std::string(*m.value());
          }
        }
      }
      return first.size() == 2;
    }));
    EXPECT_EQ(first[0], "p0-37");
    EXPECT_EQ(first[1], "p1-55");

    // While that consumer is a member of "app" on B, the group is not written: the source group
    // moves on, the checkpoint follows, the target group's offsets stay.
    auto moved = Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 60}});
    ASSERT_TRUE(moved.ok()) << moved.status();
    ASSERT_TRUE(WaitFor([&] {
      (void)(*consumer)->ConsumeBatch(std::chrono::milliseconds(100), 10);  // stay in the group
      auto c0 = LastCheckpoint("app", 0);
      return c0 && c0->downstream == 70;
    })) << k.Log();
    for (int i = 0; i < 5; ++i) {
      (void)(*consumer)->ConsumeBatch(std::chrono::milliseconds(200), 10);
    }
    EXPECT_EQ(Committed("B", "app", "A.orders", 0), 47);
    EXPECT_GT(
        k.Sample(
             "kmirror_group_offset_syncs_skipped_total{flow=\"A->B\",reason=\"active_members\"}")
            .value_or(0),
        0)
        << k.Log();
  }
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0);
}

// MM2's "replicate from latest" scenario: records before the flow started are never copied, so a
// group behind them resumes on the target at the first record that was (source offset >= its
// committed offset); no checkpoint is written before there is data to point at.
TEST_F(DaemonOffsetsTest, ReplicatingFromLatestCheckpointsOnlyWhatWasReplicated) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  Produce("A", "orders", 0, 100, "old-");
  ASSERT_TRUE(Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 40}}).ok());
  Kmirrord k(dir_.path(), FlowConfig(*sb_,
                                     "checkpoint_interval = \"500ms\"\n"
                                     "sync_group_offsets = true\nstart_from = \"latest\"\n"));
  k.Start();
  // Running, with nothing copied: no checkpoint for the group yet.
  ASSERT_TRUE(WaitFor([&] {
    return k.Sample("kmirror_translation_misses_total{flow=\"A->B\"}").value_or(0) > 0 ||
           LastCheckpoint("app", 0).has_value();
  })) << k.Log();
  EXPECT_FALSE(LastCheckpoint("app", 0).has_value());
  // Once the partition is assigned (and its "latest" position taken), new records are copied.
  ASSERT_TRUE(WaitFor([&] {
    return k
        .Sample("kmirror_replication_lag_records{flow=\"A->B\",partition=\"0\",topic=\"orders\"}")
        .has_value();
  })) << k.Log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Produce("A", "orders", 0, 10, "new-");  // source offsets 100..109, target 0..9
  ASSERT_TRUE(WaitFor([&] {
    auto c = LastCheckpoint("app", 0);
    return c && c->upstream == 40 && c->downstream == 0;
  })) << k.Log();
  ASSERT_TRUE(Admin("A")->AlterConsumerGroupOffsets("app", {{"orders", 0, 105}}).ok());
  ASSERT_TRUE(WaitFor([&] {
    auto c = LastCheckpoint("app", 0);
    return c && c->upstream == 105 && c->downstream == 5;
  })) << k.Log();
  ASSERT_TRUE(WaitFor([&] { return Committed("B", "app", "A.orders", 0) == 5; })) << k.Log();
  auto copied = ReadAll(sb_->Bootstrap("B"), "A.orders", 1);
  ASSERT_EQ(copied[0].size(), 10u);
  EXPECT_EQ(copied[0][5].value, "new-5");
}

TEST_F(DaemonOffsetsTest, ActiveActiveNeverLoopsAndCheckpointsTranslateBackForFailback) {
  ASSERT_TRUE(sb_->CreateTopic("A", "orders", 1, 3).ok());
  ASSERT_TRUE(sb_->CreateTopic("B", "orders", 1, 3).ok());
  ASSERT_TRUE(sb_->CreateTopic("B", "A.orders", 1, 3).ok());
  Produce("B", "A.orders", 0, 5, "local-");  // B's copy of A.orders is offset by 5 records
  Produce("A", "orders", 0, 20, "a-");
  Produce("B", "orders", 0, 20, "b-");
  const std::string config =
      "[daemon]\ninstance_id = \"aa\"\n"
      "[clusters.A]\nbootstrap_servers = \"" +
      sb_->Bootstrap("A") +
      "\"\n"
      "[clusters.B]\nbootstrap_servers = \"" +
      sb_->Bootstrap("B") +
      "\"\n"
      "[[flows]]\nsource = \"A\"\ntarget = \"B\"\ntopic_refresh_interval = \"1s\"\n"
      "checkpoint_interval = \"500ms\"\n"
      "[[flows]]\nsource = \"B\"\ntarget = \"A\"\ntopic_refresh_interval = \"1s\"\n"
      "checkpoint_interval = \"500ms\"\n"
      "[metrics]\nlisten = \"127.0.0.1:0\"\n";
  Kmirrord k(dir_.path(), config);
  k.Start();
  ASSERT_TRUE(WaitFor([&] {
    return CountAll(ReadAll(sb_->Bootstrap("B"), "A.orders", 1)) == 25 &&
           CountAll(ReadAll(sb_->Bootstrap("A"), "B.orders", 1)) == 20;
  })) << k.Log();

  // Failback: the application consumed A.orders on B up to offset 17 (the 12 records from A
  // after B's 5 local ones). The flow B->A checkpoints that under the original name "orders" at
  // the original offset 12, and syncs it into the empty group on A.
  auto committed = Admin("B")->AlterConsumerGroupOffsets("app", {{"A.orders", 0, 17}});
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_TRUE(WaitFor([&] {
    auto c = LastCheckpoint("app", 0, "A", "B.checkpoints.internal", "orders");
    return c && c->upstream == 17 && c->downstream == 12;
  })) << k.Log();
  ASSERT_TRUE(WaitFor([&] { return Committed("A", "app", "orders", 0) == 12; })) << k.Log();

  // Several heartbeat and refresh rounds later, nothing came back: no A.B.* on B, no B.A.* on A,
  // and the copies hold exactly the other side's records.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  auto md_a = Admin("A")->Metadata(std::nullopt);
  auto md_b = Admin("B")->Metadata(std::nullopt);
  ASSERT_TRUE(md_a.ok() && md_b.ok());
  for (const auto& t : md_a->topics) EXPECT_NE(t.name.rfind("B.A.", 0), 0u) << t.name;
  for (const auto& t : md_b->topics) EXPECT_NE(t.name.rfind("A.B.", 0), 0u) << t.name;
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("B"), "A.orders", 1)), 25u);
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("A"), "B.orders", 1)), 20u);
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("A"), "orders", 1)), 20u);
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("B"), "orders", 1)), 20u);
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0);
}

TEST_F(DaemonOffsetsTest, ActiveActiveWithIdentityNamingStopsLoopsByProvenance) {
  ASSERT_TRUE(sb_->CreateTopic("A", "shared", 1, 3).ok());
  ASSERT_TRUE(sb_->CreateTopic("B", "shared", 1, 3).ok());
  Produce("A", "shared", 0, 10, "a-");
  Produce("B", "shared", 0, 10, "b-");
  std::string flows;
  for (const char* dir : {"source = \"A\"\ntarget = \"B\"", "source = \"B\"\ntarget = \"A\""}) {
    flows += std::string("[[flows]]\n") + dir +
             "\nreplication_policy = \"identity\"\ntopics = [\"shared\"]\n"
             "topic_refresh_interval = \"1s\"\n";
  }
  Kmirrord k(dir_.path(), "[daemon]\ninstance_id = \"id\"\n[clusters.A]\nbootstrap_servers = \"" +
                              sb_->Bootstrap("A") + "\"\n[clusters.B]\nbootstrap_servers = \"" +
                              sb_->Bootstrap("B") + "\"\n" + flows +
                              "[metrics]\nlisten = \"127.0.0.1:0\"\n");
  k.Start();
  ASSERT_TRUE(WaitFor([&] {
    return CountAll(ReadAll(sb_->Bootstrap("A"), "shared", 1)) >= 20 &&
           CountAll(ReadAll(sb_->Bootstrap("B"), "shared", 1)) >= 20;
  })) << k.Log();
  // Each side's copies came back to the other flow, which skipped them (their origin is its
  // target): both topics hold the 20 records, and stay so.
  ASSERT_TRUE(WaitFor([&] {
    return k.Sample("kmirror_records_skipped_total{flow=\"A->B\",reason=\"origin_is_target\"}") ==
               10 &&
           k.Sample("kmirror_records_skipped_total{flow=\"B->A\",reason=\"origin_is_target\"}") ==
               10;
  })) << k.Log();
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("A"), "shared", 1)), 20u);
  EXPECT_EQ(CountAll(ReadAll(sb_->Bootstrap("B"), "shared", 1)), 20u);
  k.proc().Signal(SIGTERM);
  EXPECT_EQ(k.proc().Wait(std::chrono::seconds(30)), 0);
}

}  // namespace
}  // namespace kmirror::testing
