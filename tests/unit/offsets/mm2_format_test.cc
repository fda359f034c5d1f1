// Golden byte vectors of MM2's heartbeat, checkpoint and offset-sync records, derived by hand from
// the Schema definitions in org.apache.kafka.connect.mirror.{Heartbeat,Checkpoint,OffsetSync}:
// big-endian INT16/INT32/INT64, STRING = INT16 length + UTF-8 bytes.
#include "lib/offsets/mm2_format.h"

#include <string>

#include "gtest/gtest.h"

namespace kmirror::offsets {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int v : b) s.push_back(static_cast<char>(v));
  return s;
}

TEST(Mm2FormatTest, HeartbeatMatchesMm2Layout) {
  const Heartbeat h{"A", "B", 0x0102030405060708};
  // key: STRING "A", STRING "B"
  EXPECT_EQ(EncodeHeartbeatKey(h), Bytes({0x00, 0x01, 'A', 0x00, 0x01, 'B'}));
  // value: version INT16 0, timestamp INT64
  EXPECT_EQ(EncodeHeartbeatValue(h),
            Bytes({0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
  auto back = DecodeHeartbeat(EncodeHeartbeatKey(h), EncodeHeartbeatValue(h));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, h);
}

TEST(Mm2FormatTest, CheckpointMatchesMm2Layout) {
  const Checkpoint c{"g", "A.t", 3, 5, 258, "m"};
  // key: STRING group, STRING topic, INT32 partition
  EXPECT_EQ(EncodeCheckpointKey(c),
            Bytes({0x00, 0x01, 'g', 0x00, 0x03, 'A', '.', 't', 0x00, 0x00, 0x00, 0x03}));
  // value: version INT16 0, upstreamOffset INT64, offset INT64, metadata STRING
  EXPECT_EQ(EncodeCheckpointValue(c),
            Bytes({0x00, 0x00,                                      // version
                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // upstream 5
                   0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,  // downstream 258
                   0x00, 0x01, 'm'}));                              // metadata
  auto back = DecodeCheckpoint(EncodeCheckpointKey(c), EncodeCheckpointValue(c));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, c);
}

TEST(Mm2FormatTest, CheckpointWithEmptyMetadataEndsWithZeroLength) {
  const Checkpoint c{"g", "t", 0, 0, 0, ""};
  const std::string v = EncodeCheckpointValue(c);
  ASSERT_EQ(v.size(), 2u + 8 + 8 + 2);
  EXPECT_EQ(v.substr(18), Bytes({0x00, 0x00}));
}

TEST(Mm2FormatTest, OffsetSyncHasNoVersion) {
  const OffsetSync s{"t", 1, 1, 256};
  EXPECT_EQ(EncodeOffsetSyncKey(s), Bytes({0x00, 0x01, 't', 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(EncodeOffsetSyncValue(s), Bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                             0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00}));
  auto back = DecodeOffsetSync(EncodeOffsetSyncKey(s), EncodeOffsetSyncValue(s));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

TEST(Mm2FormatTest, NegativeOffsetsAreTwosComplement) {
  const OffsetSync s{"t", 0, -1, 0};
  EXPECT_EQ(EncodeOffsetSyncValue(s).substr(0, 8),
            Bytes({0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(DecodeOffsetSync(EncodeOffsetSyncKey(s), EncodeOffsetSyncValue(s))->upstream_offset,
            -1);
}

TEST(Mm2FormatTest, Utf8NamesAreLengthPrefixedInBytes) {
  const Heartbeat h{"\xc3\xa9", "B", 0};  // "é" is two bytes
  EXPECT_EQ(EncodeHeartbeatKey(h).substr(0, 4), Bytes({0x00, 0x02, 0xc3, 0xa9}));
}

TEST(Mm2FormatTest, RejectsTruncatedAndUnknownVersions) {
  const Checkpoint c{"g", "t", 0, 1, 2, ""};
  const std::string key = EncodeCheckpointKey(c);
  std::string value = EncodeCheckpointValue(c);
  EXPECT_FALSE(DecodeCheckpoint(key.substr(0, key.size() - 1), value).ok());
  EXPECT_FALSE(DecodeCheckpoint(key, value.substr(0, 10)).ok());
  value[1] = 1;  // version 1
  EXPECT_EQ(DecodeCheckpoint(key, value).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeHeartbeat(Bytes({0x00, 0x05, 'A'}), EncodeHeartbeatValue({})).ok());
  EXPECT_FALSE(DecodeOffsetSync(Bytes({0xff, 0xff}), std::string(16, '\0')).ok());
}

}  // namespace
}  // namespace kmirror::offsets
