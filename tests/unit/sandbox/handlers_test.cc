#include "lib/sandbox/handlers.h"

#include <map>

#include "gtest/gtest.h"
#include "lib/sandbox/wire.h"
#include "tests/unit/sandbox/fake_backend.h"

namespace kmirror::sandbox {
namespace {

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

// ---- Groups and committed offsets ------------------------------------------------------------

class GroupHandlersTest : public HandlersTest {
 protected:
  std::string CallOn(int32_t broker, int16_t key, int16_t version, const std::string& body) {
    RequestHeader h;
    h.api_key = key;
    h.api_version = version;
    h.correlation_id = 1;
    h.client_id = "test";
    auto out = handlers_.HandleLocal(h, body, ClientInfo{broker, "/127.0.0.1"});
    EXPECT_TRUE(out.has_value());
    return out.value_or("");
  }

  int32_t CoordinatorOf(const std::string& group) {
    std::lock_guard<std::mutex> lock(state_.mu);
    return state_.Coordinator(0, group);
  }

  // A consumer group whose one member joined and synced through `broker`.
  void JoinedGroup(const std::string& group, int32_t broker, const std::string& member) {
    std::lock_guard<std::mutex> lock(state_.mu);
    const SteadyTime now = std::chrono::steady_clock::now();
    JoinRequestInfo join{group, "consumer", {{"range", "meta"}}, std::nullopt, "c", "/h", 10000};
    state_.groups().OnJoinRequest(join, now);
    state_.groups().OnJoinResponse(join, broker, 0, 1, "range", member, now);
    state_.groups().OnSyncResponse(group, member, broker, 0, "", now);
  }

  // OffsetCommit v7 for topic "t".
  static std::string CommitBody(const std::string& group, int32_t generation,
                                const std::string& member,
                                const std::vector<std::pair<int32_t, int64_t>>& offsets) {
    WireWriter w;
    w.String(group);
    w.Int32(generation);
    w.String(member);
    w.NullableString(std::nullopt);  // group instance id
    w.Int32(1);
    w.String("t");
    w.Int32(static_cast<int32_t>(offsets.size()));
    for (const auto& [partition, offset] : offsets) {
      w.Int32(partition);
      w.Int64(offset);
      w.Int32(7);  // leader epoch
      w.NullableString("m" + std::to_string(partition));
    }
    return w.Take();
  }

  std::optional<std::string> Commit(int32_t broker, const std::string& body) {
    RequestHeader h{api::kOffsetCommit, 7, 1, "test", 0};
    return handlers_.HandleInsteadOfForwarding(h, body, ClientInfo{broker, "/127.0.0.1"});
  }

  // Per-partition error codes of an OffsetCommit v7 response for one topic.
  static std::map<int32_t, int16_t> CommitErrors(const std::string& response) {
    WireReader r(response);
    r.Int32();  // throttle
    std::map<int32_t, int16_t> out;
    EXPECT_EQ(r.Int32(), 1);
    EXPECT_EQ(r.String(), "t");
    int32_t n = r.Int32();
    for (int32_t i = 0; i < n; ++i) {
      int32_t p = r.Int32();
      out[p] = r.Int16();
    }
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
  }

  struct Fetched {
    int64_t offset;
    int32_t epoch;
    std::string metadata;
    int16_t error;
    bool operator==(const Fetched& o) const {
      return offset == o.offset && epoch == o.epoch && metadata == o.metadata && error == o.error;
    }
  };
  // OffsetFetch v5 (non-flexible) of topic "t": partitions -> result; sets *group_error.
  std::map<int32_t, Fetched> FetchV5(int32_t broker, const std::string& group,
                                     const std::vector<int32_t>& partitions, int16_t* group_error) {
    WireWriter w;
    w.String(group);
    w.Int32(1);
    w.String("t");
    w.Int32(static_cast<int32_t>(partitions.size()));
    for (int32_t p : partitions) w.Int32(p);
    std::string response = CallOn(broker, api::kOffsetFetch, 5, w.data());
    WireReader r(response);
    r.Int32();  // throttle
    std::map<int32_t, Fetched> out;
    int32_t nt = r.Int32();
    for (int32_t t = 0; t < nt; ++t) {
      EXPECT_EQ(r.String(), "t");
      int32_t np = r.Int32();
      for (int32_t i = 0; i < np; ++i) {
        int32_t p = r.Int32();
        Fetched f;
        f.offset = r.Int64();
        f.epoch = r.Int32();
        f.metadata = r.NullableString().value_or("<null>");
        f.error = r.Int16();
        out[p] = f;
      }
    }
    *group_error = r.Int16();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
  }
};

TEST_F(GroupHandlersTest, ApiVersionsAdvertisesFlexibleListGroupsAndOffsetFetch) {
  std::string r_bytes = Call(api::kApiVersions, 0, "");
  WireReader r(r_bytes);
  EXPECT_EQ(r.Int16(), 0);
  std::map<int16_t, int16_t> max;
  int32_t n = r.Int32();
  for (int32_t i = 0; i < n; ++i) {
    int16_t k = r.Int16();
    r.Int16();
    max[k] = r.Int16();
  }
  EXPECT_EQ(max[api::kListGroups], 4);
  EXPECT_EQ(max[api::kOffsetFetch], 7);
}

// ListGroups v4 (KIP-518): each group's state, and a case-insensitive states filter. Before v4
// clients (librdkafka's ListConsumerGroups among them) cannot tell an empty group from a stable
// one.
TEST_F(GroupHandlersTest, ListGroupsV4ReportsStatesAndFiltersByState) {
  JoinedGroup("busy", 1, "m-1");
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.groups().OnOffsetCommit("simple", "", 1, std::chrono::steady_clock::now());
  }
  auto list = [&](int16_t version, std::vector<std::string> states) {
    WireWriter w;
    w.EmptyTaggedFields();  // request header tags
    if (version >= 4) {
      w.CompactArrayLength(static_cast<int32_t>(states.size()));
      for (const auto& st : states) w.CompactString(st);
    }
    w.EmptyTaggedFields();
    std::string response = CallOn(1, api::kListGroups, version, version >= 3 ? w.data() : "");
    WireReader r(response);
    std::map<std::string, std::pair<std::string, std::string>> out;  // id -> (protocol, state)
    if (version >= 3) r.SkipTaggedFields();                          // response header tags
    r.Int32();                                                       // throttle
    EXPECT_EQ(r.Int16(), 0);
    int32_t n = version >= 3 ? r.CompactArrayLength() : r.Int32();
    for (int32_t i = 0; i < n; ++i) {
      std::string id = version >= 3 ? r.CompactString() : r.String();
      std::string protocol = version >= 3 ? r.CompactString() : r.String();
      std::string state = version >= 4 ? r.CompactString() : "";
      if (version >= 3) r.SkipTaggedFields();
      out[id] = {protocol, state};
    }
    if (version >= 3) r.SkipTaggedFields();
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r.remaining(), 0u);
    return out;
  };
  using Listing = std::map<std::string, std::pair<std::string, std::string>>;
  EXPECT_EQ(list(4, {}), (Listing{{"busy", {"consumer", "Stable"}}, {"simple", {"", "Empty"}}}));
  EXPECT_EQ(list(4, {"empty"}), (Listing{{"simple", {"", "Empty"}}}));
  EXPECT_EQ(list(4, {"Stable", "Dead"}), (Listing{{"busy", {"consumer", "Stable"}}}));
  EXPECT_EQ(list(3, {}), (Listing{{"busy", {"consumer", ""}}, {"simple", {"", ""}}}));
  EXPECT_EQ(list(2, {}), (Listing{{"busy", {"consumer", ""}}, {"simple", {"", ""}}}));
  // Another broker coordinates neither.
  std::string other = CallOn(2, api::kListGroups, 2, "");
  WireReader r(other);
  r.Int32();
  EXPECT_EQ(r.Int16(), 0);
  EXPECT_EQ(r.Int32(), 0);
}

// Kafka's coordinator accepts a commit without generation (AlterConsumerGroupOffsets) to a group
// that has no members, even one that had members before. The mock refuses it (UNKNOWN_MEMBER_ID),
// so the front-end answers it and is the offset store of record.
TEST_F(GroupHandlersTest, AdminCommitToEmptiedGroupIsAnsweredByTheFrontEnd) {
  ASSERT_EQ(CreateTopic("t", 2, 3).first, err::kNone);
  const int32_t coordinator = CoordinatorOf("g");
  JoinedGroup("g", coordinator, "m-1");
  // While the member is there, commits go to the mock (it checks member and generation).
  EXPECT_FALSE(Commit(coordinator, CommitBody("g", 1, "m-1", {{0, 1}})).has_value());
  EXPECT_FALSE(Commit(coordinator, CommitBody("g", -1, "", {{0, 1}})).has_value());
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.groups().OnLeave("g", "m-1");
  }
  auto response = Commit(coordinator, CommitBody("g", -1, "", {{0, 42}, {5, 1}}));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(CommitErrors(*response),
            (std::map<int32_t, int16_t>{{0, err::kNone}, {5, err::kUnknownTopicOrPartition}}));
  const int32_t elsewhere = coordinator == 1 ? 2 : 1;
  response = Commit(elsewhere, CommitBody("g", -1, "", {{1, 3}}));
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(CommitErrors(*response), (std::map<int32_t, int16_t>{{1, err::kNotCoordinator}}));

  int16_t group_error = -1;
  EXPECT_EQ(FetchV5(coordinator, "g", {0, 1}, &group_error),
            (std::map<int32_t, Fetched>{{0, {42, 7, "m0", 0}}, {1, {-1, -1, "", 0}}}));
  EXPECT_EQ(group_error, err::kNone);
  // The wrong broker says NOT_COORDINATOR once, for the group (v2+).
  EXPECT_TRUE(FetchV5(elsewhere, "g", {0}, &group_error).empty());
  EXPECT_EQ(group_error, err::kNotCoordinator);
  const Group* g = state_.groups().Find("g");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->state, "Empty");
  EXPECT_EQ(g->protocol_type, "consumer");
}

// OffsetFetch v7 is flexible; a null topic list asks for every committed partition. librdkafka
// 2.0.2 writes that null list as four zero bytes (a placeholder it never finalizes), leaving three
// bytes after the request's last field, which must be ignored.
TEST_F(GroupHandlersTest, OffsetFetchV7WithNullTopicsReturnsEveryCommittedPartition) {
  ASSERT_EQ(CreateTopic("t", 3, 3).first, err::kNone);
  const int32_t coordinator = CoordinatorOf("solo");
  ASSERT_TRUE(Commit(coordinator, CommitBody("solo", -1, "", {{2, 9}, {0, 4}})).has_value());

  WireWriter w;
  w.EmptyTaggedFields();  // request header tags
  w.CompactString("solo");
  w.Raw(std::string(4, '\0'));  // librdkafka's unfinalized array placeholder: compact null + 3
  w.Bool(false);                // require_stable
  w.EmptyTaggedFields();
  std::string response = CallOn(coordinator, api::kOffsetFetch, 7, w.data());
  WireReader r(response);
  r.SkipTaggedFields();  // response header tags
  r.Int32();             // throttle
  ASSERT_EQ(r.CompactArrayLength(), 1);
  EXPECT_EQ(r.CompactString(), "t");
  ASSERT_EQ(r.CompactArrayLength(), 2);
  std::map<int32_t, int64_t> offsets;
  for (int i = 0; i < 2; ++i) {
    int32_t p = r.Int32();
    offsets[p] = r.Int64();
    EXPECT_EQ(r.Int32(), 7);  // leader epoch
    EXPECT_EQ(r.CompactString(), "m" + std::to_string(p));
    EXPECT_EQ(r.Int16(), err::kNone);
    r.SkipTaggedFields();
  }
  r.SkipTaggedFields();
  EXPECT_EQ(r.Int16(), err::kNone);
  r.SkipTaggedFields();
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
  EXPECT_EQ(offsets, (std::map<int32_t, int64_t>{{0, 4}, {2, 9}}));

  // An unknown group has nothing committed: an empty list, no error.
  WireWriter unknown;
  unknown.EmptyTaggedFields();
  unknown.CompactString("nobody");
  unknown.CompactArrayLength(-1);
  unknown.Bool(false);
  unknown.EmptyTaggedFields();
  response = CallOn(CoordinatorOf("nobody"), api::kOffsetFetch, 7, unknown.data());
  WireReader u(response);
  u.SkipTaggedFields();
  u.Int32();
  EXPECT_EQ(u.CompactArrayLength(), 0);
  EXPECT_EQ(u.Int16(), err::kNone);
}

// A member's commit goes to the mock; what the mock accepted is recorded from its response.
TEST_F(GroupHandlersTest, ForwardedCommitIsRecordedForThePartitionsThatSucceeded) {
  ASSERT_EQ(CreateTopic("t", 2, 3).first, err::kNone);
  const int32_t coordinator = CoordinatorOf("g");
  JoinedGroup("g", coordinator, "m-1");
  RequestHeader h{api::kOffsetCommit, 7, 1, "test", 0};
  const ClientInfo client{coordinator, "/127.0.0.1"};
  const std::string body = CommitBody("g", 1, "m-1", {{0, 10}, {1, 11}});
  ASSERT_FALSE(handlers_.HandleInsteadOfForwarding(h, body, client).has_value());
  std::optional<Observation> o = handlers_.ObserveRequest(h, body, client);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->commits.size(), 2u);
  WireWriter mock_response;
  mock_response.Int32(0);
  mock_response.Int32(1);
  mock_response.String("t");
  mock_response.Int32(2);
  mock_response.Int32(0);
  mock_response.Int16(err::kNone);
  mock_response.Int32(1);
  mock_response.Int16(22);  // ILLEGAL_GENERATION
  handlers_.ObserveResponse(*o, mock_response.data(), client);
  int16_t group_error = -1;
  EXPECT_EQ(FetchV5(coordinator, "g", {0, 1}, &group_error),
            (std::map<int32_t, Fetched>{{0, {10, 7, "m0", 0}}, {1, {-1, -1, "", 0}}}));
}

// Injected OffsetCommit errors fail the next commits whichever way they would have gone.
TEST_F(GroupHandlersTest, InjectedOffsetCommitErrorIsAnsweredByTheFrontEnd) {
  ASSERT_EQ(CreateTopic("t", 1, 3).first, err::kNone);
  const int32_t coordinator = CoordinatorOf("g");
  JoinedGroup("g", coordinator, "m-1");
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.PushInjectedErrors(api::kOffsetCommit, {27});  // REBALANCE_IN_PROGRESS
  }
  const std::string body = CommitBody("g", 1, "m-1", {{0, 5}});
  auto response = Commit(coordinator, body);
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(CommitErrors(*response), (std::map<int32_t, int16_t>{{0, 27}}));
  EXPECT_FALSE(Commit(coordinator, body).has_value());  // the next one goes to the mock again
  int16_t group_error = -1;
  EXPECT_EQ(FetchV5(coordinator, "g", {0}, &group_error)[0].offset, -1);
}

}  // namespace
}  // namespace kmirror::sandbox
