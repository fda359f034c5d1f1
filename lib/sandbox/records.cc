#include "lib/sandbox/records.h"

#include <array>

#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {
namespace {

constexpr size_t kCrcAt = 17;         // after baseOffset, batchLength, leaderEpoch, magic
constexpr size_t kAttributesAt = 21;  // the CRC covers everything from here
constexpr size_t kCountAt = 57;

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}

// A zig-zag varint (Kafka's record fields); false when it runs past `data`.
bool ReadVarlong(std::string_view data, size_t& pos, int64_t& out) {
  uint64_t u = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos >= data.size()) return false;
    const auto b = static_cast<uint8_t>(data[pos++]);
    u |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      out = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
      return true;
    }
  }
  return false;
}

void WriteVarlong(std::string& out, int64_t v) {
  auto u = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}

// Fills in batchLength and the CRC of a batch whose other fields are written.
void Seal(std::string& batch) {
  WireWriter len;
  len.Int32(static_cast<int32_t>(batch.size() - 12));
  batch.replace(8, 4, len.data());
  WireWriter crc;
  crc.Int32(static_cast<int32_t>(Crc32c(std::string_view(batch).substr(kAttributesAt))));
  batch.replace(kCrcAt, 4, crc.data());
}

}  // namespace

uint32_t Crc32c(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (char ch : data) c = table[(c ^ static_cast<uint8_t>(ch)) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

std::optional<BatchHeader> ParseBatchHeader(std::string_view data) {
  if (data.size() < kBatchHeaderSize || data[16] != 2) return std::nullopt;
  WireReader r(data);
  BatchHeader h;
  h.base_offset = r.Int64();
  h.length = r.Int32();
  r.Int32();  // partition leader epoch
  r.Int8();   // magic
  r.Int32();  // crc
  h.attributes = r.Int16();
  h.last_offset_delta = r.Int32();
  r.Int64();  // base timestamp
  r.Int64();  // max timestamp
  h.producer_id = r.Int64();
  h.producer_epoch = r.Int16();
  h.base_sequence = r.Int32();
  h.record_count = r.Int32();
  if (!r.ok() || h.length < static_cast<int32_t>(kBatchHeaderSize - 12)) return std::nullopt;
  return h;
}

Batches SplitBatches(std::string_view records) {
  Batches out;
  while (records.size() >= 12) {
    WireReader r(records.substr(8, 4));
    const int32_t length = r.Int32();
    if (length < 0 || records.size() < 12 + static_cast<size_t>(length)) break;
    out.batches.push_back(records.substr(0, 12 + static_cast<size_t>(length)));
    records.remove_prefix(12 + static_cast<size_t>(length));
  }
  out.rest = records;
  return out;
}

namespace {

// One record with its length in front: attributes, timestamp delta 0, its offset delta, key (null
// when nullopt) and value, no headers.
std::string Record(int64_t offset_delta, std::optional<std::string_view> key,
                   std::string_view value) {
  std::string body;
  body.push_back(0);      // attributes
  WriteVarlong(body, 0);  // timestamp delta
  WriteVarlong(body, offset_delta);
  if (key) {
    WriteVarlong(body, static_cast<int64_t>(key->size()));
    body.append(*key);
  } else {
    WriteVarlong(body, -1);
  }
  WriteVarlong(body, static_cast<int64_t>(value.size()));
  body.append(value);
  WriteVarlong(body, 0);  // headers
  std::string out;
  WriteVarlong(out, static_cast<int64_t>(body.size()));
  return out + body;
}

std::string Batch(int64_t producer_id, int16_t producer_epoch, int16_t attributes,
                  int32_t base_sequence, const std::vector<std::string>& records,
                  int64_t timestamp_ms) {
  WireWriter w;
  w.Int64(0);   // base offset: the log assigns it
  w.Int32(0);   // batch length, sealed below
  w.Int32(-1);  // partition leader epoch
  w.Int8(2);    // magic
  w.Int32(0);   // crc, sealed below
  w.Int16(attributes);
  w.Int32(static_cast<int32_t>(records.size()) - 1);  // last offset delta
  w.Int64(timestamp_ms);
  w.Int64(timestamp_ms);
  w.Int64(producer_id);
  w.Int16(producer_epoch);
  w.Int32(base_sequence);
  w.Int32(static_cast<int32_t>(records.size()));
  std::string batch = w.Take();
  for (const std::string& r : records) batch += r;
  Seal(batch);
  return batch;
}

}  // namespace

std::string ControlBatch(int64_t producer_id, int16_t producer_epoch, bool commit,
                         int64_t timestamp_ms) {
  WireWriter key;
  key.Int16(0);               // version
  key.Int16(commit ? 1 : 0);  // type
  WireWriter value;
  value.Int16(0);  // version
  value.Int32(0);  // coordinator epoch
  return Batch(producer_id, producer_epoch, 0x30 /* transactional | control */, -1,
               {Record(0, key.data(), value.data())}, timestamp_ms);
}

std::string DataBatch(int64_t producer_id, int16_t producer_epoch, bool transactional,
                      const std::vector<std::string>& values, int64_t timestamp_ms) {
  std::vector<std::string> records;
  for (size_t i = 0; i < values.size(); ++i) {
    records.push_back(Record(static_cast<int64_t>(i), std::nullopt, values[i]));
  }
  return Batch(producer_id, producer_epoch, transactional ? 0x10 : 0, producer_id >= 0 ? 0 : -1,
               records, timestamp_ms);
}

std::optional<std::string> WithoutRecords(std::string_view batch,
                                          const std::set<int64_t>& deleted) {
  auto h = ParseBatchHeader(batch);
  if (!h || batch.size() != 12 + static_cast<size_t>(h->length)) return std::nullopt;
  auto first = deleted.lower_bound(h->base_offset);
  if (first == deleted.end() || *first > h->last_offset()) return std::string(batch);
  if (h->compressed()) return std::nullopt;
  std::string out(batch.substr(0, kBatchHeaderSize));
  int32_t kept = 0;
  size_t pos = kBatchHeaderSize;
  for (int32_t i = 0; i < h->record_count; ++i) {
    const size_t start = pos;
    int64_t length = 0;
    if (!ReadVarlong(batch, pos, length) || length < 1 ||
        static_cast<uint64_t>(length) > batch.size() - pos) {
      return std::nullopt;
    }
    const size_t end = pos + static_cast<size_t>(length);
    size_t field = pos + 1;  // after the record's attributes
    int64_t timestamp_delta = 0;
    int64_t offset_delta = 0;
    if (!ReadVarlong(batch, field, timestamp_delta) || !ReadVarlong(batch, field, offset_delta) ||
        field > end) {
      return std::nullopt;
    }
    if (!deleted.contains(h->base_offset + offset_delta)) {
      out.append(batch.substr(start, end - start));
      ++kept;
    }
    pos = end;
  }
  if (pos != batch.size()) return std::nullopt;
  WireWriter count;
  count.Int32(kept);
  out.replace(kCountAt, 4, count.data());
  Seal(out);
  return out;
}

}  // namespace kmirror::sandbox
