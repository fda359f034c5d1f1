// Transactions and compaction-like deletions over the mock's logs: the record batch codec, and the
// front-end's rewriting of Produce, EndTxn, InitProducerId, Fetch and ListOffsets traffic.
#include <set>

#include "gtest/gtest.h"
#include "lib/sandbox/handlers.h"
#include "lib/sandbox/records.h"
#include "lib/sandbox/wire.h"
#include "tests/unit/sandbox/fake_backend.h"

namespace kmirror::sandbox {
namespace {

constexpr int64_t kPid = 7;

TEST(RecordsTest, Crc32cIsCastagnoli) { EXPECT_EQ(Crc32c("123456789"), 0xE3069283u); }

TEST(RecordsTest, ControlBatchIsOneSealedTransactionalControlRecord) {
  const std::string b = ControlBatch(kPid, 3, /*commit=*/true, 1000);
  auto h = ParseBatchHeader(b);
  ASSERT_TRUE(h.has_value());
  EXPECT_TRUE(h->control());
  EXPECT_TRUE(h->transactional());
  EXPECT_EQ(h->producer_id, kPid);
  EXPECT_EQ(h->producer_epoch, 3);
  EXPECT_EQ(h->record_count, 1);
  EXPECT_EQ(h->last_offset_delta, 0);
  EXPECT_EQ(b.size(), 12 + static_cast<size_t>(h->length));
  WireReader crc(std::string_view(b).substr(17, 4));
  EXPECT_EQ(static_cast<uint32_t>(crc.Int32()), Crc32c(std::string_view(b).substr(21)));
}

TEST(RecordsTest, DeletedRecordsLeaveTheirBatchButKeepItsOffsets) {
  const std::string b = DataBatch(-1, -1, false, {"a", "bb", "ccc", "d"}, 1000);
  std::string placed = b;
  WireWriter base;
  base.Int64(10);
  placed.replace(0, 8, base.data());
  EXPECT_EQ(WithoutRecords(placed, {}), placed);
  EXPECT_EQ(WithoutRecords(placed, {3, 14}), placed);  // none inside
  auto kept = WithoutRecords(placed, {11, 13});
  ASSERT_TRUE(kept.has_value());
  auto h = ParseBatchHeader(*kept);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->base_offset, 10);
  EXPECT_EQ(h->last_offset(), 13);
  EXPECT_EQ(h->record_count, 2);
  EXPECT_EQ(kept->size(), 12 + static_cast<size_t>(h->length));
  EXPECT_EQ(kept->size(), placed.size() - 17);  // the "bb" and "d" records: 9 and 8 bytes
  WireReader crc(std::string_view(*kept).substr(17, 4));
  EXPECT_EQ(static_cast<uint32_t>(crc.Int32()), Crc32c(std::string_view(*kept).substr(21)));
  auto none = WithoutRecords(placed, {10, 11, 12, 13});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(ParseBatchHeader(*none)->record_count, 0);
  EXPECT_EQ(ParseBatchHeader(*none)->last_offset(), 13);
  // Compressed batches cannot be rewritten.
  std::string compressed = placed;
  compressed[22] = 1;
  EXPECT_FALSE(WithoutRecords(compressed, {11}).has_value());
}

TEST(RecordsTest, SplitBatchesKeepsAPartialTail) {
  const std::string a = DataBatch(-1, -1, false, {"x"}, 1);
  const std::string b = DataBatch(-1, -1, false, {"y", "z"}, 1);
  const std::string set = a + b + b.substr(0, 20);
  Batches s = SplitBatches(set);
  ASSERT_EQ(s.batches.size(), 2u);
  EXPECT_EQ(s.batches[0], a);
  EXPECT_EQ(s.batches[1], b);
  EXPECT_EQ(s.rest.size(), 20u);
}

// The front-end between a client and a fake mock: requests are observed, the test plays the
// mock's responses.
class LogHandlersTest : public ::testing::Test {
 protected:
  LogHandlersTest()
      : state_(ClusterOptions{"A", 3, false, 16}, &backend_,
               {{1, "127.0.0.1", 9001, true},
                {2, "127.0.0.1", 9002, true},
                {3, "127.0.0.1", 9003, true}}),
        handlers_(&state_, {{0, 0, 7}, {1, 0, 11}, {2, 0, 5}, {3, 0, 2}, {22, 0, 4}, {26, 0, 1}}) {
    std::lock_guard<std::mutex> lock(state_.mu);
    EXPECT_TRUE(state_.CreateTopic("t", 1, 3, {}, {}).ok());
  }

  std::optional<Observation> Observe(int16_t key, int16_t version, const std::string& body) {
    RequestHeader h{key, version, 1, "test", 0};
    return handlers_.ObserveRequest(h, body, ClientInfo{1, "/127.0.0.1"});
  }
  ResponseEdit Answer(const Observation& o, const std::string& body) {
    return handlers_.ObserveResponse(o, body, ClientInfo{1, "/127.0.0.1"});
  }

  // Produce v3 of one batch to t:0, answered by the mock at `base_offset` (or refused). Returns
  // whether the front-end observed it.
  bool Produce(const std::string& batch, int64_t base_offset, int16_t error = err::kNone,
               const std::string& transactional_id = "tx") {
    WireWriter w;
    w.NullableString(transactional_id);
    w.Int16(-1);
    w.Int32(1000);
    w.Int32(1);
    w.String("t");
    w.Int32(1);
    w.Int32(0);
    w.Bytes(batch);
    auto o = Observe(api::kProduce, 3, w.data());
    if (error == err::kNone) {
      backend_.end[{"t", 0}] = base_offset + ParseBatchHeader(batch)->last_offset_delta + 1;
    }
    if (!o) return false;  // neither transactional nor compressed: relayed untouched
    WireWriter r;
    r.Int32(1);
    r.String("t");
    r.Int32(1);
    r.Int32(0);
    r.Int16(error);
    r.Int64(error == err::kNone ? base_offset : -1);
    r.Int64(-1);
    r.Int32(0);
    EXPECT_FALSE(Answer(*o, r.data()).body.has_value());
    return true;
  }
  std::string TxnBatch(std::vector<std::string> values, int16_t epoch = 0) {
    return DataBatch(kPid, epoch, true, values, 1000);
  }

  // EndTxn v1 for kPid; returns the error the client gets.
  int16_t EndTxn(bool commit, int16_t epoch = 0) {
    WireWriter w;
    w.String("tx");
    w.Int64(kPid);
    w.Int16(epoch);
    w.Bool(commit);
    auto o = Observe(api::kEndTxn, 1, w.data());
    EXPECT_TRUE(o.has_value());
    WireWriter r;
    r.Int32(0);
    r.Int16(err::kNone);
    ResponseEdit e = Answer(*o, r.data());
    if (!e.body) return err::kNone;
    WireReader back(*e.body);
    back.Int32();
    return back.Int16();
  }

  struct FetchView {
    int64_t high = -1;
    int64_t lso = -1;
    std::vector<std::pair<int64_t, int64_t>> aborted;  // (producer id, first offset)
    std::string records;
    bool hold = false;
  };
  // Fetch v11 of t:0 at `offset`; the mock answers with `batch` placed at `base`.
  FetchView Fetch(bool read_committed, int64_t offset, const std::string& batch, int64_t base) {
    WireWriter w;
    w.Int32(-1);
    w.Int32(500);
    w.Int32(1);
    w.Int32(1 << 20);
    w.Int8(read_committed ? 1 : 0);
    w.Int32(0);
    w.Int32(-1);
    w.Int32(1);
    w.String("t");
    w.Int32(1);
    w.Int32(0);
    w.Int32(-1);
    w.Int64(offset);
    w.Int64(0);
    w.Int32(1 << 20);
    w.Int32(0);
    w.String("");
    FetchView v;
    auto o = Observe(api::kFetch, 11, w.data());
    std::string placed = batch;
    if (!placed.empty()) {
      WireWriter b;
      b.Int64(base);
      placed.replace(0, 8, b.data());
    }
    WireWriter r;
    r.Int32(0);
    r.Int16(0);
    r.Int32(0);
    r.Int32(1);
    r.String("t");
    r.Int32(1);
    r.Int32(0);
    r.Int16(0);
    r.Int64(backend_.end[{"t", 0}]);
    r.Int64(backend_.end[{"t", 0}]);  // the mock's LSO is its end
    r.Int64(0);
    r.Int32(0);
    r.Int32(-1);
    r.Bytes(placed);
    if (!o) {  // not observed: relayed as the mock sent it
      v.high = v.lso = backend_.end[{"t", 0}];
      v.records = placed;
      return v;
    }
    ResponseEdit e = Answer(*o, r.data());
    EXPECT_TRUE(e.body.has_value());
    const std::string body = e.body.value_or("");
    WireReader back(body);
    back.Int32();
    back.Int16();
    back.Int32();
    back.Int32();
    back.String();
    back.Int32();
    back.Int32();
    EXPECT_EQ(back.Int16(), 0);
    v.high = back.Int64();
    v.lso = back.Int64();
    back.Int64();
    const int32_t na = back.Int32();
    for (int32_t i = 0; i < na; ++i) {
      const int64_t pid = back.Int64();
      v.aborted.emplace_back(pid, back.Int64());
    }
    back.Int32();
    v.records = back.Bytes().value_or("");
    EXPECT_TRUE(back.ok());
    EXPECT_EQ(back.remaining(), 0u);
    v.hold = e.hold;
    return v;
  }

  FakeBackend backend_;
  ClusterState state_;
  Handlers handlers_;
};

TEST_F(LogHandlersTest, PlainTrafficIsNotObserved) {
  const std::string plain = DataBatch(-1, -1, false, {"a"}, 1);
  EXPECT_FALSE(Produce(plain, 0, err::kNone, ""));
  EXPECT_EQ(Fetch(true, 0, plain, 0).records.substr(8), plain.substr(8));
}

TEST_F(LogHandlersTest, OpenTransactionHidesItselfAndWhatFollowsFromReadCommitted) {
  const std::string batch = TxnBatch({"a", "b"});
  Produce(batch, 0);
  FetchView committed = Fetch(true, 0, batch, 0);
  EXPECT_EQ(committed.lso, 0);
  EXPECT_EQ(committed.high, 2);
  EXPECT_TRUE(committed.records.empty());
  EXPECT_TRUE(committed.hold);  // answered after the fetch wait, not in a tight loop
  FetchView uncommitted = Fetch(false, 0, batch, 0);
  EXPECT_EQ(uncommitted.lso, 0);
  EXPECT_EQ(uncommitted.records.size(), batch.size());
  EXPECT_FALSE(uncommitted.hold);

  EXPECT_EQ(EndTxn(true), err::kNone);
  ASSERT_EQ((backend_.appended[{"t", 0}].size()), 1u);  // the commit marker, at offset 2
  auto marker = ParseBatchHeader(backend_.appended[{"t", 0}][0]);
  ASSERT_TRUE(marker.has_value());
  EXPECT_TRUE(marker->control());
  EXPECT_EQ(marker->producer_id, kPid);
  FetchView after = Fetch(true, 0, batch, 0);
  EXPECT_EQ(after.lso, 3);
  EXPECT_EQ(after.records.size(), batch.size());
  EXPECT_TRUE(after.aborted.empty());
}

TEST_F(LogHandlersTest, AbortedTransactionIsListedForReadCommittedReaders) {
  Produce(TxnBatch({"a"}), 0);
  ASSERT_EQ(EndTxn(true), err::kNone);  // marker at 1
  const std::string aborted = TxnBatch({"x", "y"});
  Produce(aborted, 2);
  ASSERT_EQ(EndTxn(false), err::kNone);  // marker at 4
  FetchView v = Fetch(true, 2, aborted, 2);
  EXPECT_EQ(v.lso, 5);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{kPid, 2}}));
  EXPECT_EQ(v.records.size(), aborted.size());  // the client drops it, up to the abort marker
  // A reader past the abort marker, or read_uncommitted, is told nothing.
  EXPECT_TRUE(Fetch(true, 5, "", 5).aborted.empty());
  EXPECT_TRUE(Fetch(false, 2, aborted, 2).aborted.empty());
}

TEST_F(LogHandlersTest, MarkerThatCannotBeWrittenKeepsTheTransactionOpenUntilARetry) {
  Produce(TxnBatch({"a"}), 0);
  backend_.fail_appends = true;
  EXPECT_EQ(EndTxn(true), err::kConcurrentTransactions);  // retriable: the client sends it again
  EXPECT_EQ(Fetch(true, 0, TxnBatch({"a"}), 0).lso, 0);
  backend_.fail_appends = false;
  EXPECT_EQ(EndTxn(true), err::kNone);
  EXPECT_EQ(Fetch(true, 0, TxnBatch({"a"}), 0).lso, 2);
}

TEST_F(LogHandlersTest, ARefusedBatchOpensNothing) {
  Produce(TxnBatch({"a"}), 0, /*error=*/10);
  std::lock_guard<std::mutex> lock(state_.mu);
  EXPECT_EQ(state_.logs().Find({"t", 0})->LastStable(0), 0);
  EXPECT_TRUE(state_.logs().OpenPartitions(kPid).empty());
}

TEST_F(LogHandlersTest, ANewProducerEpochAbortsWhatThePreviousOneLeftOpen) {
  WireWriter init;
  init.NullableString("tx");
  init.Int32(60000);
  auto first = Observe(api::kInitProducerId, 1, init.data());
  ASSERT_TRUE(first.has_value());
  WireWriter r0;
  r0.Int32(0);
  r0.Int16(0);
  r0.Int64(kPid);
  r0.Int16(0);
  Answer(*first, r0.data());
  Produce(TxnBatch({"a", "b", "c"}), 0);
  auto second = Observe(api::kInitProducerId, 1, init.data());
  ASSERT_TRUE(second.has_value());
  WireWriter r1;
  r1.Int32(0);
  r1.Int16(0);
  r1.Int64(kPid);
  r1.Int16(1);  // the mock bumps the epoch
  Answer(*second, r1.data());
  ASSERT_EQ((backend_.appended[{"t", 0}].size()), 1u);
  auto marker = ParseBatchHeader(backend_.appended[{"t", 0}][0]);
  EXPECT_EQ(marker->producer_epoch, 1);
  FetchView v = Fetch(true, 0, TxnBatch({"a", "b", "c"}), 0);
  EXPECT_EQ(v.lso, 4);
  EXPECT_EQ(v.aborted, (std::vector<std::pair<int64_t, int64_t>>{{kPid, 0}}));
}

TEST_F(LogHandlersTest, ListOffsetsLatestIsTheLastStableOffsetForReadCommitted) {
  Produce(DataBatch(-1, -1, false, {"p"}, 1), 0, err::kNone, "");  // not observed
  Produce(TxnBatch({"a"}), 1);
  auto list = [&](int8_t isolation) {
    WireWriter w;
    w.Int32(-1);
    w.Int8(isolation);
    w.Int32(1);
    w.String("t");
    w.Int32(1);
    w.Int32(0);
    w.Int32(-1);
    w.Int64(-1);
    auto o = Observe(api::kListOffsets, 4, w.data());
    if (!o) return int64_t{2};  // relayed: the mock's end
    WireWriter r;
    r.Int32(0);
    r.Int32(1);
    r.String("t");
    r.Int32(1);
    r.Int32(0);
    r.Int16(0);
    r.Int64(-1);
    r.Int64(2);
    r.Int32(0);
    const std::string body = Answer(*o, r.data()).body.value_or("");
    WireReader back(body);
    back.Int32();
    back.Int32();
    back.String();
    back.Int32();
    back.Int32();
    back.Int16();
    back.Int64();
    return back.Int64();
  };
  EXPECT_EQ(list(1), 1);
  EXPECT_EQ(list(0), 2);
}

TEST_F(LogHandlersTest, DeletedRecordsAreLeftOutOfFetchedBatches) {
  const std::string batch = DataBatch(-1, -1, false, {"a", "b", "c"}, 1);
  backend_.end[{"t", 0}] = 3;
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.logs().Delete({"t", 0}, {1});
  }
  FetchView v = Fetch(false, 0, batch, 0);
  auto h = ParseBatchHeader(v.records);
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->record_count, 2);
  EXPECT_EQ(h->last_offset(), 2);
}

}  // namespace
}  // namespace kmirror::sandbox
