// lib/offsets against a kmirror-sandbox process: the Kafka implementations of the seams write and
// read MM2-format offset syncs, checkpoints and heartbeats, translation is exact record by record
// over a real target partition, and group offset sync respects active members.
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "lib/offsets/checkpoints.h"
#include "lib/offsets/group_sync.h"
#include "lib/offsets/heartbeat.h"
#include "lib/offsets/kafka_io.h"
#include "lib/offsets/offset_syncs.h"
#include "lib/offsets/translator.h"
#include "lib/policy/name_filter.h"
#include "lib/policy/replication_policy.h"
#include "lib/policy/topic_selector.h"
#include "lib/replication/provenance.h"
#include "tests/support/sandbox_process.h"

namespace kmirror::offsets {
namespace {

using ::kmirror::testing::SandboxProcess;

#define ASSERT_OK(expr)                            \
  do {                                             \
    const absl::Status _st = (expr);               \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st; \
  } while (0)

constexpr auto kWait = std::chrono::seconds(30);

template <typename T>
T Unwrap(absl::StatusOr<T> v) {
  EXPECT_TRUE(v.ok()) << v.status();
  return std::move(v).value();
}

// One record of the filled target partition: its provenance (source cluster, offset) or none.
struct Planned {
  std::optional<std::string> source;
  int64_t offset = -1;
};

class OffsetsSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto sp = SandboxProcess::Start({"A:1", "B:1"});
    ASSERT_TRUE(sp.ok()) << sp.status();
    sb_ = std::move(sp).value();
    admin_a_ = Unwrap(kafka::AdminClient::Create(Props("A")));
    admin_b_ = Unwrap(kafka::AdminClient::Create(Props("B")));
  }
  kafka::Properties Props(const std::string& cluster) {
    return kafka::Properties{{"bootstrap.servers", sb_->Bootstrap(cluster)}};
  }
  // Produces `plan` to topic[0] on `cluster`, in order, one record each, and waits.
  void Fill(const std::string& cluster, const std::string& topic,
            const std::vector<Planned>& plan) {
    int delivered = 0;
    auto producer =
        Unwrap(kafka::Producer::Create(Props(cluster), [&](const kafka::DeliveryReport& r) {
          EXPECT_TRUE(r.status.ok()) << r.status;
          ++delivered;
        }));
    int i = 0;
    for (const Planned& p : plan) {
      kafka::ProduceRecord r;
      r.topic = topic;
      r.partition = 0;
      r.value = "v" + std::to_string(i++);
      if (p.source) {
        r.headers.push_back(
            {std::string(replication::kProvenanceHeader),
             replication::EncodeProvenance({*p.source, *p.source, SourceOffset(p.offset)})});
      }
      ASSERT_OK(producer->Produce(r));
    }
    ASSERT_OK(producer->Flush(kWait));
    EXPECT_EQ(delivered, static_cast<int>(plan.size()));
  }
  std::unique_ptr<KafkaTargetIndex> Index(const std::string& source_alias) {
    KafkaTargetIndex::Options o;
    o.source_alias = source_alias;
    o.decode = [](std::string_view v) -> std::optional<RecordProvenance> {
      auto p = replication::DecodeProvenance(v);
      if (!p) return std::nullopt;
      return RecordProvenance{p->source, p->offset};
    };
    return Unwrap(KafkaTargetIndex::Create(Props("B"), o));
  }

  std::unique_ptr<SandboxProcess> sb_;
  std::unique_ptr<kafka::AdminClient> admin_a_, admin_b_;
};

TEST_F(OffsetsSandboxTest, OffsetSyncsAreWrittenCompactedAndReadBack) {
  auto writer = Unwrap(KafkaRecordWriter::Create(Props("B")));
  KafkaTopicAdmin topics(*admin_b_);
  OffsetSyncWriter::Options o;
  o.topic = policy::PrefixPolicy().OffsetSyncsTopic("A");  // on the target: named after the source
  OffsetSyncWriter syncs(*writer, topics, nullptr, SystemClock(), o);
  for (int64_t i = 0; i < 10; ++i)
    syncs.OnReplicated({"orders", 0}, SourceOffset(i), TargetOffset(i));
  syncs.OnReplicated({"orders", 0}, SourceOffset(20), TargetOffset(10));  // gap
  syncs.OnReplicated({"orders", 1}, SourceOffset(5), TargetOffset(0));
  ASSERT_OK(syncs.Flush());

  auto configs = Unwrap(admin_b_->DescribeConfigs({{kafka::ConfigResourceType::kTopic, o.topic}}));
  ASSERT_EQ(configs.size(), 1u);
  std::string policy_value;
  for (const auto& e : configs[0].entries) {
    if (e.name == "cleanup.policy" && e.value) policy_value = *e.value;
  }
  EXPECT_EQ(policy_value, "compact");

  auto reader = Unwrap(KafkaTopicReader::Create(Props("B")));
  auto latest = Unwrap(ReadLatestOffsetSyncs(*reader, o.topic));
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[(SourcePartition{"orders", 0})], (OffsetSync{"orders", 0, 20, 10}));
  EXPECT_EQ(latest[(SourcePartition{"orders", 1})], (OffsetSync{"orders", 1, 5, 0}));
}

// The target partition: A's records with a compaction gap, a record without provenance and a
// record copied from another cluster, as under identity naming in active-active.
std::vector<Planned> MixedPlan() {
  std::vector<Planned> plan;
  for (int64_t s = 0; s < 20; ++s) plan.push_back({"A", s});
  for (int64_t s = 30; s < 40; ++s) plan.push_back({"A", s});  // 20..29 compacted away
  plan.push_back({std::nullopt, -1});
  plan.push_back({"C", 7});
  for (int64_t s = 40; s < 50; ++s) plan.push_back({"A", s});
  return plan;
}

TEST_F(OffsetsSandboxTest, TranslationIsExactRecordByRecord) {
  ASSERT_OK(sb_->CreateTopic("B", "A.orders", 1));
  const std::vector<Planned> plan = MixedPlan();
  Fill("B", "A.orders", plan);
  auto index = Index("A");
  Translator translator(*index, [](std::string_view t) { return "A." + std::string(t); });

  auto consumer =
      Unwrap(kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("B")},
                                                       {"group.id", "verifier"},
                                                       {"enable.auto.commit", "false"},
                                                       {"enable.partition.eof", "true"}}));
  for (int64_t x = 0; x <= 50; ++x) {
    auto t = Unwrap(translator.Translate({"orders", 0}, SourceOffset(x)));
    ASSERT_EQ(t.kind, Translation::Kind::kExact) << "x=" << x;
    // A consumer resuming at t sees exactly A's records with source offset >= x: nothing the
    // source group already consumed (no re-read) and nothing it had not (no skip).
    std::vector<int64_t> expected;
    for (const Planned& p : plan) {
      if (p.source == "A" && p.offset >= x) expected.push_back(p.offset);
    }
    std::vector<int64_t> seen;
    ASSERT_OK(consumer->Assign({{"A.orders", 0, t.target.value}}));
    bool eof = false;
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!eof && std::chrono::steady_clock::now() < deadline) {
      for (auto& m : Unwrap(consumer->ConsumeBatch(std::chrono::milliseconds(200), 1000))) {
        if (m.is_partition_eof()) {
          eof = true;
          break;
        }
        ASSERT_TRUE(m.ok()) << m.status();
        auto h = m.header(replication::kProvenanceHeader);
        if (!h || !*h) continue;
        auto p = replication::DecodeProvenance(**h);
        if (p && p->source == "A") seen.push_back(p->offset.value);
      }
    }
    ASSERT_TRUE(eof);
    EXPECT_EQ(seen, expected) << "x=" << x << " target=" << t.target.value;
  }
  // Ahead of replication: not translated.
  EXPECT_EQ(Unwrap(translator.Translate({"orders", 0}, SourceOffset(51))).kind,
            Translation::Kind::kMiss);

  // Failback over the same partition: a group on B at offset y has consumed the records below y,
  // so on A it resumes one past the last source offset among them.
  auto b_index = Index("A");
  ReverseTranslator reverse(*b_index);
  for (int64_t y = 0; y <= static_cast<int64_t>(plan.size()); ++y) {
    int64_t expected = -1;
    for (int64_t i = 0; i < y; ++i) {
      if (plan[i].source == "A") expected = plan[i].offset + 1;
    }
    if (expected < 0) {
      for (size_t i = static_cast<size_t>(y); i < plan.size() && expected < 0; ++i) {
        if (plan[i].source == "A") expected = plan[i].offset;
      }
    }
    auto r = Unwrap(reverse.Translate({"A.orders", 0}, y));
    ASSERT_EQ(r.kind, Translation::Kind::kExact) << "y=" << y;
    EXPECT_EQ(r.target.value, expected) << "y=" << y;
  }
}

TEST_F(OffsetsSandboxTest, CheckpointsAndGroupOffsetSyncEndToEnd) {
  ASSERT_OK(sb_->CreateTopic("A", "orders", 1));
  ASSERT_OK(sb_->CreateTopic("B", "A.orders", 1));
  Fill("B", "A.orders", MixedPlan());
  // The source group committed 35 (it consumed up to source offset 34).
  auto committed = Unwrap(admin_a_->AlterConsumerGroupOffsets("app", {{"orders", 0, 35, "m"}}));
  ASSERT_OK(committed.at(0).status);

  auto index = Index("A");
  policy::TopicSelector selector(std::make_shared<policy::PrefixPolicy>(),
                                 policy::NameFilter::DefaultTopics(), "A", "B");
  Translator translator(*index, [&](std::string_view t) { return selector.RemoteTopic(t); });
  KafkaGroupAdmin source_groups(*admin_a_), target_groups(*admin_b_);
  auto writer = Unwrap(KafkaRecordWriter::Create(Props("B")));
  auto reader = Unwrap(KafkaTopicReader::Create(Props("B")));
  KafkaTopicAdmin target_topics(*admin_b_);
  GroupOffsetSync group_sync(target_groups, nullptr);
  const policy::NameFilter groups = policy::NameFilter::DefaultGroups();
  const std::string topic = policy::PrefixPolicy().CheckpointsTopic("A");
  CheckpointEmitter emitter({source_groups, *writer, *reader, target_topics}, translator, selector,
                            groups, &group_sync, nullptr, SystemClock(),
                            {topic, std::chrono::milliseconds(100)});
  auto pass = Unwrap(emitter.RunOnce());
  EXPECT_EQ(pass.written, 1);
  EXPECT_EQ(pass.groups_synced, 1);

  // Source 35 is the 16th of A's records after the gap: target offset 25.
  auto records = Unwrap(reader->ReadAll(topic));
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(Unwrap(DecodeCheckpoint(records[0].key, records[0].value)),
            (Checkpoint{"app", "A.orders", 0, 35, 25, "m"}));
  auto target = Unwrap(admin_b_->ListConsumerGroupOffsets("app", std::nullopt));
  ASSERT_EQ(target.size(), 1u);
  EXPECT_EQ(target[0].topic, "A.orders");
  EXPECT_EQ(target[0].offset, 25);

  // A second emitter (a restart) reads the topic back and writes nothing new.
  CheckpointEmitter restarted({source_groups, *writer, *reader, target_topics}, translator,
                              selector, groups, nullptr, nullptr, SystemClock(),
                              {topic, std::chrono::milliseconds(100)});
  EXPECT_EQ(Unwrap(restarted.RunOnce()).written, 0);
}

TEST_F(OffsetsSandboxTest, GroupOffsetSyncSkipsAGroupWithAnActiveMember) {
  ASSERT_OK(sb_->CreateTopic("B", "A.orders", 1));
  Fill("B", "A.orders", MixedPlan());
  auto member =
      Unwrap(kafka::Consumer::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap("B")},
                                                       {"group.id", "app"},
                                                       {"enable.auto.commit", "false"},
                                                       {"auto.offset.reset", "earliest"}}));
  ASSERT_OK(member->Subscribe({"A.orders"}));
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (std::chrono::steady_clock::now() < deadline) {
    (void)member->Poll(std::chrono::milliseconds(100));
    auto a = member->Assignment();
    if (a.ok() && !a->empty()) break;
  }
  ASSERT_FALSE(Unwrap(member->Assignment()).empty());

  KafkaGroupAdmin target_groups(*admin_b_);
  GroupOffsetSync sync(target_groups, nullptr);
  auto outcome = Unwrap(sync.Sync("app", {CommittedOffset{"A.orders", 0, 25, ""}}));
  EXPECT_EQ(outcome, GroupOffsetSync::Outcome::kSkippedActive);
  auto offsets = Unwrap(admin_b_->ListConsumerGroupOffsets("app", std::nullopt));
  for (const auto& o : offsets) EXPECT_NE(o.offset, 25);
  ASSERT_OK(member->Close());
}

TEST_F(OffsetsSandboxTest, HeartbeatsAreEmittedOnTheSourceAndObservedOnTheTarget) {
  auto writer_a = Unwrap(KafkaRecordWriter::Create(Props("A")));
  KafkaTopicAdmin topics_a(*admin_a_);
  HeartbeatEmitter emitter(*writer_a, topics_a, nullptr, SystemClock(), {"A", "B"});
  ASSERT_OK(emitter.RunOnce());
  ASSERT_OK(emitter.RunOnce());
  auto reader_a = Unwrap(KafkaTopicReader::Create(Props("A")));
  auto beats = Unwrap(reader_a->ReadAll("heartbeats"));
  ASSERT_EQ(beats.size(), 2u);
  auto h = Unwrap(DecodeHeartbeat(beats[1].key, beats[1].value));
  EXPECT_EQ(h.source_alias, "A");
  EXPECT_EQ(h.target_alias, "B");

  // What the flow would do: copy them to A.heartbeats on B.
  auto writer_b = Unwrap(KafkaRecordWriter::Create(Props("B")));
  KafkaTopicAdmin topics_b(*admin_b_);
  ASSERT_OK(topics_b.EnsureTopic("A.heartbeats", true));
  ASSERT_OK(writer_b->Write("A.heartbeats", 0, beats));

  auto reader_b = Unwrap(KafkaTopicReader::Create(Props("B")));
  policy::PrefixPolicy prefix;
  HeartbeatObserver observer(*reader_b, topics_b, prefix, nullptr, SystemClock(), {});
  ASSERT_OK(observer.RunOnce());
  auto up = observer.Upstreams();
  ASSERT_EQ(up.count("A"), 1u);
  EXPECT_EQ(up["A"].hops, 1);
  EXPECT_EQ(up["A"].last_heartbeat_ms, h.timestamp_ms);
  EXPECT_GE(up["A"].age_ms, 0);
  EXPECT_LT(up["A"].age_ms, 60000);
}

}  // namespace
}  // namespace kmirror::offsets
