// Translation semantics: a group that committed source offset X resumes on the target exactly
// after the last replicated record whose source offset is below X.
#include "lib/offsets/translator.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/unit/offsets/fakes.h"

namespace kmirror::offsets {
namespace {

using testing::FakeIndex;

const SourcePartition kSp{"t", 0};
const TargetPartition kTp{"A.t", 0};

std::string Remote(std::string_view topic) { return "A." + std::string(topic); }

class TranslatorTest : public ::testing::Test {
 protected:
  // Exact target offset, or -1 for a miss.
  int64_t Translate(int64_t x) {
    auto r = translator_.Translate(kSp, SourceOffset(x));
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->kind == Translation::Kind::kMiss) return -1;
    return r->target.value;
  }
  FakeIndex index_;
  Translator translator_{index_, Remote};
};

TEST_F(TranslatorTest, DenseLogMapsOneToOne) {
  for (int64_t s = 100; s < 110; ++s) index_.Append(kTp, "A", s);
  EXPECT_EQ(Translate(100), 0);
  EXPECT_EQ(Translate(105), 5);
  EXPECT_EQ(Translate(109), 9);
  // Caught up: everything below 110 is replicated, resume at the end.
  EXPECT_EQ(Translate(110), 10);
  // Ahead of replication: record 110 may exist on the source and not be copied yet.
  EXPECT_EQ(Translate(111), -1);
  // Older than anything on the target: the first replicated record.
  EXPECT_EQ(Translate(50), 0);
}

TEST_F(TranslatorTest, GapsInSourceOffsets) {
  // Compacted source: offsets 3, 4, 7, 8 do not exist.
  for (int64_t s : {0, 1, 2, 5, 6, 9}) index_.Append(kTp, "A", s);
  EXPECT_EQ(Translate(3), 3);  // first record >= 3 is source 5 at target 3
  EXPECT_EQ(Translate(4), 3);
  EXPECT_EQ(Translate(5), 3);
  EXPECT_EQ(Translate(7), 5);
  EXPECT_EQ(Translate(9), 5);
  EXPECT_EQ(Translate(10), 6);
  // A transaction marker at 10 makes the end offset 11: not provably exact from the target alone.
  EXPECT_EQ(Translate(11), -1);
  // ... but the flow says everything below 12 was processed.
  translator_.OnSourcePosition(kSp, SourceOffset(12));
  EXPECT_EQ(Translate(11), 6);
  EXPECT_EQ(Translate(12), 6);
  EXPECT_EQ(Translate(13), -1);
}

TEST_F(TranslatorTest, RecordsWithoutProvenanceAreNotSkipped) {
  // Targets 2..4 were written while provenance was off: they may be records the group has not
  // read, so a group at X=2 resumes right after source 1, at target 2.
  index_.Append(kTp, "A", 0);
  index_.Append(kTp, "A", 1);
  for (int i = 0; i < 3; ++i) index_.Append(kTp, std::nullopt, -1);
  for (int64_t s = 5; s < 10; ++s) index_.Append(kTp, "A", s);
  EXPECT_EQ(Translate(1), 1);
  EXPECT_EQ(Translate(2), 2);
  EXPECT_EQ(Translate(5), 2);
  EXPECT_EQ(Translate(6), 6);
  EXPECT_EQ(Translate(10), 10);
}

TEST_F(TranslatorTest, OnlyThisFlowsSourceCounts) {
  // Identity naming, active-active: records from A and C interleave on the same topic.
  index_.Append(kTp, "A", 0);  // t0
  index_.Append(kTp, "C", 0);  // t1
  index_.Append(kTp, "A", 1);  // t2
  index_.Append(kTp, "C", 7);  // t3
  index_.Append(kTp, "C", 8);  // t4
  index_.Append(kTp, "A", 2);  // t5
  EXPECT_EQ(Translate(0), 0);
  EXPECT_EQ(Translate(1), 1);  // after A:0, not skipping C's record
  EXPECT_EQ(Translate(2), 3);
  EXPECT_EQ(Translate(3), 6);
  EXPECT_EQ(Translate(4), -1);  // C's offsets 7, 8 say nothing about A
}

TEST_F(TranslatorTest, EmptyTargetPartition) {
  EXPECT_EQ(Translate(0), 0);   // nothing before 0 to wait for
  EXPECT_EQ(Translate(5), -1);  // no checkpoint before data
  translator_.OnSourcePosition(kSp, SourceOffset(5));
  EXPECT_EQ(Translate(5), 0);  // the flow skipped 0..4 on purpose (e.g. started from latest)
}

TEST_F(TranslatorTest, TargetRetentionMovedTheLogStart) {
  for (int64_t s = 0; s < 10; ++s) index_.Append(kTp, "A", s);
  index_.low[kTp] = 5;
  EXPECT_EQ(Translate(2), 5);  // the oldest retained record
  EXPECT_EQ(Translate(7), 7);
}

TEST_F(TranslatorTest, BinarySearchReadsLogarithmically) {
  for (int64_t s = 0; s < 100000; ++s) index_.Append(kTp, "A", 2 * s);  // every other offset
  EXPECT_EQ(Translate(77777), 38889);
  EXPECT_LE(index_.probes, 20);
  EXPECT_LE(index_.records_read, 40);
}

TEST_F(TranslatorTest, AcknowledgementsAnswerSteadyStateWithoutReadingTheTarget) {
  for (int64_t s = 0; s < 10; ++s) {
    index_.Append(kTp, "A", s);
    translator_.OnReplicated(kSp, SourceOffset(s), TargetOffset(s));
  }
  auto r = translator_.Translate(kSp, SourceOffset(10));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->from_cache);
  EXPECT_EQ(r->target.value, 10);
  EXPECT_EQ(Translate(4), 4);
  EXPECT_EQ(index_.probes, 0);
  EXPECT_EQ(index_.bounds_calls, 0);
}

TEST_F(TranslatorTest, CacheAcrossSourceGapsNeedsAdjacentTargets) {
  // Acks of sources 0 and 5 at adjacent targets 0, 1: the gap 1..4 is proven empty.
  index_.Append(kTp, "A", 0);
  index_.Append(kTp, "A", 5);
  translator_.OnReplicated(kSp, SourceOffset(0), TargetOffset(0));
  translator_.OnReplicated(kSp, SourceOffset(5), TargetOffset(1));
  EXPECT_EQ(Translate(3), 1);
  EXPECT_EQ(index_.probes, 0);
}

TEST_F(TranslatorTest, SearchResultsAreCached) {
  for (int64_t s : {0, 10, 20, 30}) index_.Append(kTp, "A", s);
  EXPECT_EQ(Translate(15), 2);
  const int probes = index_.probes;
  EXPECT_EQ(Translate(15), 2);
  EXPECT_EQ(Translate(12), 2);
  EXPECT_EQ(index_.probes, probes);
}

TEST_F(TranslatorTest, CacheIsBounded) {
  Translator small(index_, Remote, Translator::Options{4});
  for (int64_t s = 0; s < 100; ++s) {
    index_.Append(kTp, "A", s);
    small.OnReplicated(kSp, SourceOffset(s), TargetOffset(s));
  }
  auto old = small.Translate(kSp, SourceOffset(10));
  ASSERT_TRUE(old.ok());
  EXPECT_FALSE(old->from_cache);  // evicted; answered by the search
  EXPECT_EQ(old->target.value, 10);
}

TEST_F(TranslatorTest, RejectsNegativeOffsets) {
  EXPECT_EQ(translator_.Translate(kSp, SourceOffset(-1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Failback: "A.orders" on B (written by A->B) read back for the flow B->A.
class ReverseTranslatorTest : public ::testing::Test {
 protected:
  int64_t Reverse(int64_t y) {
    auto r = reverse_.Translate(kTp, y);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok() || r->kind == Translation::Kind::kMiss) return -1;
    return r->target.value;
  }
  FakeIndex index_;  // ours = "A": the records A->B copied
  ReverseTranslator reverse_{index_};
};

TEST_F(ReverseTranslatorTest, ResumesOnTheOriginalTopicAfterTheLastConsumedRecord) {
  for (int64_t s : {0, 1, 2, 5, 6, 9}) index_.Append(kTp, "A", s);
  index_.Append(kTp, std::nullopt, -1);  // written on B directly
  index_.Append(kTp, "A", 10);
  EXPECT_EQ(Reverse(0), 0);   // consumed nothing: first replicated record
  EXPECT_EQ(Reverse(3), 3);   // consumed sources 0..2
  EXPECT_EQ(Reverse(4), 6);   // consumed source 5: resume right after it
  EXPECT_EQ(Reverse(6), 10);  // consumed source 9 (and the local record is not in the way)
  EXPECT_EQ(Reverse(7), 10);
  EXPECT_EQ(Reverse(8), 11);  // consumed everything
  EXPECT_EQ(Reverse(100), 11);
}

TEST_F(ReverseTranslatorTest, NothingReplicatedIsAMiss) {
  index_.Append(kTp, std::nullopt, -1);
  EXPECT_EQ(Reverse(0), -1);
  EXPECT_EQ(Reverse(1), -1);
}

}  // namespace
}  // namespace kmirror::offsets
