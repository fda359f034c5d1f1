// Kafka record batches (message format v2) as the sandbox front-end needs them: reading a batch's
// header, splitting a partition's record set into batches, writing the control batch that marks a
// transaction's end, and rewriting a batch without some of its records the way compaction does.
//
// Layout (big-endian): baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8 (2),
// crc u32 (CRC-32C of everything after it), attributes i16, lastOffsetDelta i32,
// baseTimestamp i64, maxTimestamp i64, producerId i64, producerEpoch i16, baseSequence i32,
// recordCount i32, then the records. Attributes: bits 0-2 compression, bit 4 transactional,
// bit 5 control. A record is a zig-zag varint length followed by attributes i8,
// timestampDelta varlong, offsetDelta varint, key, value and headers.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace kmirror::sandbox {

constexpr size_t kBatchHeaderSize = 61;

struct BatchHeader {
  int64_t base_offset = 0;
  int32_t length = 0;  // bytes after the length field
  int16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t producer_id = -1;
  int16_t producer_epoch = -1;
  int32_t base_sequence = -1;
  int32_t record_count = 0;

  int64_t last_offset() const { return base_offset + last_offset_delta; }
  bool compressed() const { return (attributes & 0x7) != 0; }
  bool transactional() const { return (attributes & 0x10) != 0; }
  bool control() const { return (attributes & 0x20) != 0; }
};

// The header of the v2 batch at the start of `data`; nullopt when it is not one (too short, or
// another magic).
std::optional<BatchHeader> ParseBatchHeader(std::string_view data);

// A record set split into whole batches; a trailing partial batch (a fetch response may end with
// one) is left in `rest`.
struct Batches {
  std::vector<std::string_view> batches;
  std::string_view rest;
};
Batches SplitBatches(std::string_view records);

// CRC-32C (Castagnoli), as Kafka checksums batches.
uint32_t Crc32c(std::string_view data);

// The control batch a transaction coordinator writes at the end of a transaction: one record,
// key (version 0, type 1 commit / 0 abort), value (version 0, coordinator epoch). Its base offset
// is 0; the log assigns the real one.
std::string ControlBatch(int64_t producer_id, int16_t producer_epoch, bool commit,
                         int64_t timestamp_ms);

// An uncompressed batch of records with these values (no keys, no headers), as a producer sends
// it: base offset 0, sequence 0. For tests and fixtures.
std::string DataBatch(int64_t producer_id, int16_t producer_epoch, bool transactional,
                      const std::vector<std::string>& values, int64_t timestamp_ms);

// `batch` without the records whose offsets are in `deleted`: base offset and last offset delta
// stay, as after Kafka's compaction, so offsets never move and a batch that keeps no record still
// tells the reader where to continue. nullopt when the batch cannot be rewritten (compressed, or
// malformed); `batch` itself is returned unchanged when none of its records is deleted.
std::optional<std::string> WithoutRecords(std::string_view batch, const std::set<int64_t>& deleted);

}  // namespace kmirror::sandbox
