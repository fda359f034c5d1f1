#include "lib/sandbox/handlers.h"

#include <map>

#include "gtest/gtest.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {
namespace {

class FakeBackend : public MockBackend {
 public:
  absl::Status CreateTopic(const std::string& name, int partitions, int) override {
    created[name] = partitions;
    return absl::OkStatus();
  }
  absl::Status SetLeader(const std::string& topic, int32_t p, int32_t broker) override {
    leaders[{topic, p}] = broker;
    return absl::OkStatus();
  }
  absl::Status SetCoordinator(const std::string&, const std::string& key, int32_t b) override {
    coordinators[key] = b;
    return absl::OkStatus();
  }
  std::map<std::string, int> created;
  std::map<std::pair<std::string, int32_t>, int32_t> leaders;
  std::map<std::string, int32_t> coordinators;
};

class HandlersTest : public ::testing::Test {
 protected:
  HandlersTest()
      : state_(ClusterOptions{"A", 3, false, 16}, &backend_,
               {{1, "127.0.0.1", 9001, true},
                {2, "127.0.0.1", 9002, true},
                {3, "127.0.0.1", 9003, true}}),
        handlers_(&state_, {{0, 0, 7}, {1, 0, 11}, {3, 0, 2}, {11, 0, 5}}) {}

  std::string Call(int16_t key, int16_t version, const std::string& body) {
    RequestHeader h;
    h.api_key = key;
    h.api_version = version;
    h.correlation_id = 1;
    h.client_id = "test";
    auto out = handlers_.HandleLocal(h, body, ClientInfo{1, "/127.0.0.1"});
    EXPECT_TRUE(out.has_value());
    return out.value_or("");
  }

  // CreateTopics v4 for one topic; returns (error code, message).
  std::pair<int16_t, std::optional<std::string>> CreateTopic(
      const std::string& name, int32_t partitions, int16_t rf,
      std::map<std::string, std::string> configs = {}) {
    WireWriter w;
    w.Int32(1);
    w.String(name);
    w.Int32(partitions);
    w.Int16(rf);
    w.Int32(0);
    w.Int32(static_cast<int32_t>(configs.size()));
    for (const auto& [k, v] : configs) {
      w.String(k);
      w.NullableString(v);
    }
    w.Int32(1000);
    w.Bool(false);
    std::string r_bytes = Call(api::kCreateTopics, 4, w.data());
    WireReader r(r_bytes);
    r.Int32();  // throttle
    EXPECT_EQ(r.Int32(), 1);
    EXPECT_EQ(r.String(), name);
    int16_t code = r.Int16();
    auto msg = r.NullableString();
    EXPECT_TRUE(r.ok());
    return {code, msg};
  }

  FakeBackend backend_;
  ClusterState state_;
  Handlers handlers_;
};

TEST_F(HandlersTest, ApiVersionsAdvertisesLocalAndMockApis) {
  std::string r_bytes = Call(api::kApiVersions, 0, "");
  WireReader r(r_bytes);
  EXPECT_EQ(r.Int16(), 0);
  int32_t n = r.Int32();
  std::map<int16_t, std::pair<int16_t, int16_t>> apis;
  for (int32_t i = 0; i < n; ++i) {
    int16_t k = r.Int16();
    int16_t lo = r.Int16();
    apis[k] = {lo, r.Int16()};
  }
  EXPECT_EQ(apis[api::kProduce].second, 7);
  EXPECT_EQ(apis[api::kMetadata].second, 8);  // served locally, not the mock's 2
  EXPECT_EQ(apis[api::kCreateTopics].second, 4);
  EXPECT_EQ(apis[api::kJoinGroup].second, 5);
}

TEST_F(HandlersTest, ApiVersionsV3IsFlexibleAndUnknownVersionGetsError) {
  std::string r_bytes = Call(api::kApiVersions, 3, "");
  WireReader r(r_bytes);
  EXPECT_EQ(r.Int16(), 0);
  int32_t n = r.CompactArrayLength();
  EXPECT_GT(n, 5);
  RequestHeader h{api::kApiVersions, 9, 1, "x", 0};
  auto out = handlers_.HandleLocal(h, "", ClientInfo{1, "/h"});
  ASSERT_TRUE(out);
  WireReader e(*out);
  EXPECT_EQ(e.Int16(), err::kUnsupportedVersion);
}

TEST_F(HandlersTest, CreateTopicHonoursPartitionsAndRejectsDuplicates) {
  EXPECT_EQ(CreateTopic("orders", 12, 3).first, err::kNone);
  EXPECT_EQ(backend_.created["orders"], 16);  // capacity for growth
  EXPECT_EQ(state_.Topic("orders")->partitions(), 12);
  EXPECT_EQ(CreateTopic("orders", 12, 3).first, err::kTopicAlreadyExists);
  EXPECT_EQ(CreateTopic("bad name", 1, 1).first, err::kInvalidTopic);
  EXPECT_EQ(CreateTopic("zero", 0, 1).first, err::kInvalidPartitions);
  auto [code, msg] = CreateTopic("wide", 1, 4);
  EXPECT_EQ(code, err::kInvalidReplicationFactor);
  EXPECT_EQ(msg, "Replication factor: 4 larger than available brokers: 3.");
  EXPECT_EQ(CreateTopic("cfg", 1, 1, {{"retention.ms", "x"}}).first, err::kInvalidConfig);
  EXPECT_EQ(state_.Topic("cfg"), nullptr);
  EXPECT_EQ(CreateTopic("defaults", -1, -1).first, err::kNone);
  EXPECT_EQ(state_.Topic("defaults")->partitions(), 1);
  EXPECT_EQ(state_.Topic("defaults")->replicas[0].size(), 3u);
}

TEST_F(HandlersTest, MetadataListsTopicsLiveBrokersAndMovesLeadersOffDownBrokers) {
  ASSERT_EQ(CreateTopic("t", 3, 2).first, err::kNone);
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    ASSERT_TRUE(state_.SetBrokerUp(2, false).ok());
  }
  WireWriter req;
  req.Int32(1);
  req.String("t");
  req.Bool(false);
  std::string r_bytes = Call(api::kMetadata, 5, req.data());
  WireReader r(r_bytes);
  r.Int32();  // throttle
  int32_t brokers = r.Int32();
  EXPECT_EQ(brokers, 2);
  for (int i = 0; i < brokers; ++i) {
    EXPECT_NE(r.Int32(), 2);
    r.String();
    r.Int32();
    r.NullableString();
  }
  EXPECT_EQ(r.NullableString()->size(), 22u);  // cluster id
  EXPECT_EQ(r.Int32(), 1);                     // controller: lowest live broker
  ASSERT_EQ(r.Int32(), 1);
  EXPECT_EQ(r.Int16(), 0);
  EXPECT_EQ(r.String(), "t");
  r.Bool();
  ASSERT_EQ(r.Int32(), 3);
  for (int p = 0; p < 3; ++p) {
    int16_t perr = r.Int16();
    EXPECT_EQ(r.Int32(), p);
    int32_t leader = r.Int32();
    EXPECT_NE(leader, 2);
    EXPECT_EQ(perr == 0, leader != -1);
    int32_t nrep = r.Int32();
    for (int i = 0; i < nrep; ++i) r.Int32();
    int32_t nisr = r.Int32();
    for (int i = 0; i < nisr; ++i) EXPECT_NE(r.Int32(), 2);
    int32_t noff = r.Int32();
    for (int i = 0; i < noff; ++i) EXPECT_EQ(r.Int32(), 2);
  }
  EXPECT_TRUE(r.ok());
}

TEST_F(HandlersTest, MetadataForUnknownTopicWithoutAutoCreate) {
  WireWriter req;
  req.Int32(1);
  req.String("nope");
  std::string r_bytes = Call(api::kMetadata, 1, req.data());
  WireReader r(r_bytes);
  int32_t brokers = r.Int32();
  for (int i = 0; i < brokers; ++i) {
    r.Int32();
    r.String();
    r.Int32();
    r.NullableString();
  }
  r.Int32();
  ASSERT_EQ(r.Int32(), 1);
  EXPECT_EQ(r.Int16(), err::kUnknownTopicOrPartition);
  EXPECT_TRUE(backend_.created.empty());
}

TEST_F(HandlersTest, CreatePartitionsGrowsWithinCapacity) {
  ASSERT_EQ(CreateTopic("t", 3, 1).first, err::kNone);
  auto grow = [&](int32_t count) {
    WireWriter w;
    w.Int32(1);
    w.String("t");
    w.Int32(count);
    w.Int32(-1);
    w.Int32(1000);
    w.Bool(false);
    std::string r_bytes = Call(api::kCreatePartitions, 1, w.data());
    WireReader r(r_bytes);
    r.Int32();
    r.Int32();
    r.String();
    return r.Int16();
  };
  EXPECT_EQ(grow(2), err::kInvalidPartitions);
  EXPECT_EQ(grow(6), err::kNone);
  EXPECT_EQ(state_.Topic("t")->partitions(), 6);
  EXPECT_TRUE(backend_.leaders.count({"t", 5}));
  EXPECT_EQ(grow(17), err::kInvalidPartitions);
}

TEST_F(HandlersTest, AlterThenDescribeConfigsRoundTrip) {
  ASSERT_EQ(CreateTopic("t", 1, 1, {{"cleanup.policy", "compact"}}).first, err::kNone);
  WireWriter alter;
  alter.Int32(1);
  alter.Int8(2);
  alter.String("t");
  alter.Int32(1);
  alter.String("retention.ms");
  alter.NullableString("1000");
  alter.Bool(false);
  std::string ar_bytes = Call(api::kAlterConfigs, 1, alter.data());
  WireReader ar(ar_bytes);
  ar.Int32();
  ar.Int32();
  EXPECT_EQ(ar.Int16(), 0);

  WireWriter d;
  d.Int32(1);
  d.Int8(2);
  d.String("t");
  d.Int32(2);
  d.String("retention.ms");
  d.String("cleanup.policy");
  d.Bool(true);
  std::string r_bytes = Call(api::kDescribeConfigs, 1, d.data());
  WireReader r(r_bytes);
  r.Int32();
  ASSERT_EQ(r.Int32(), 1);
  EXPECT_EQ(r.Int16(), 0);
  r.NullableString();
  EXPECT_EQ(r.Int8(), 2);
  EXPECT_EQ(r.String(), "t");
  ASSERT_EQ(r.Int32(), 2);
  std::map<std::string, std::pair<std::string, int8_t>> got;
  for (int i = 0; i < 2; ++i) {
    std::string name = r.String();
    std::string value = r.NullableString().value_or("<null>");
    r.Bool();
    int8_t source = r.Int8();
    r.Bool();
    int32_t syn = r.Int32();
    for (int s = 0; s < syn; ++s) {
      r.String();
      r.NullableString();
      r.Int8();
    }
    got[name] = {value, source};
  }
  EXPECT_TRUE(r.ok());
  // AlterConfigs replaced the overrides: cleanup.policy went back to its default.
  EXPECT_EQ(got["retention.ms"], std::make_pair(std::string("1000"), int8_t{1}));
  EXPECT_EQ(got["cleanup.policy"], std::make_pair(std::string("delete"), int8_t{5}));
}

TEST_F(HandlersTest, InjectedErrorIsReturnedOnce) {
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.PushInjectedErrors(api::kCreateTopics, {err::kInvalidRequest});
  }
  EXPECT_EQ(CreateTopic("t", 1, 1).first, err::kInvalidRequest);
  EXPECT_EQ(CreateTopic("t", 1, 1).first, err::kNone);
}

TEST_F(HandlersTest, FindCoordinatorPinsAndMovesWhenBrokerGoesDown) {
  auto find = [&] {
    WireWriter w;
    w.String("group-1");
    w.Int8(0);
    std::string r_bytes = Call(api::kFindCoordinator, 1, w.data());
    WireReader r(r_bytes);
    r.Int32();
    EXPECT_EQ(r.Int16(), 0);
    r.NullableString();
    return r.Int32();
  };
  int32_t first = find();
  EXPECT_EQ(backend_.coordinators["group-1"], first);
  EXPECT_EQ(find(), first);
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    ASSERT_TRUE(state_.SetBrokerUp(first, false).ok());
  }
  int32_t second = find();
  EXPECT_NE(second, first);
  EXPECT_EQ(backend_.coordinators["group-1"], second);
}

TEST_F(HandlersTest, MalformedRequestIsRefused) {
  RequestHeader h{api::kCreateTopics, 4, 1, "x", 0};
  EXPECT_FALSE(handlers_.HandleLocal(h, "\x00\x00", ClientInfo{1, "/h"}));
  RequestHeader too_new{api::kCreateTopics, 5, 1, "x", 0};
  EXPECT_FALSE(handlers_.HandleLocal(too_new, "", ClientInfo{1, "/h"}));
}

}  // namespace
}  // namespace kmirror::sandbox
