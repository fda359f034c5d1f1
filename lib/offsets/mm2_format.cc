#include "lib/offsets/mm2_format.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "absl/status/status.h"

namespace kmirror::offsets {
namespace {

// Strings longer than INT16_MAX cannot be expressed by Kafka's STRING type; MM2 would throw. Group
// and topic names are far shorter in practice, so truncating is never silent: callers validate.
void PutString(std::string& out, std::string_view s) {
  const size_t n = std::min<size_t>(s.size(), std::numeric_limits<int16_t>::max());
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.append(s.data(), n);
}

template <typename T>
void PutInt(std::string& out, T v) {
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(v);
  for (int shift = static_cast<int>(sizeof(T) * 8) - 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((u >> shift) & 0xff));
  }
}

// Reads Kafka protocol fields from a byte view; every getter fails once input runs out.
class Reader {
 public:
  Reader(std::string_view data, const char* what) : data_(data), what_(what) {}

  template <typename T>
  bool Int(T& v) {
    if (data_.size() < sizeof(T)) return Fail("truncated");
    std::make_unsigned_t<T> u = 0;
    for (size_t i = 0; i < sizeof(T); ++i) u = (u << 8) | static_cast<uint8_t>(data_[i]);
    v = static_cast<T>(u);
    data_.remove_prefix(sizeof(T));
    return true;
  }
  bool String(std::string& s) {
    int16_t n = 0;
    if (!Int(n)) return false;
    if (n < 0) return Fail("null or negative-length STRING");
    if (data_.size() < static_cast<size_t>(n)) return Fail("truncated STRING");
    s.assign(data_.data(), static_cast<size_t>(n));
    data_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  bool Version() {
    int16_t v = 0;
    if (!Int(v)) return false;
    if (v != kMm2FormatVersion) return Fail("unsupported version " + std::to_string(v));
    return true;
  }
  // MM2's Schema.read ignores trailing bytes; so do we (a future version may append fields).
  absl::Status status() const { return status_; }

 private:
  bool Fail(const std::string& why) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(std::string(what_) + ": " + why);
    return false;
  }
  std::string_view data_;
  const char* what_;
  absl::Status status_;
};

}  // namespace

std::string EncodeHeartbeatKey(const Heartbeat& h) {
  std::string out;
  PutString(out, h.source_alias);
  PutString(out, h.target_alias);
  return out;
}

std::string EncodeHeartbeatValue(const Heartbeat& h) {
  std::string out;
  PutInt<int16_t>(out, kMm2FormatVersion);
  PutInt<int64_t>(out, h.timestamp_ms);
  return out;
}

absl::StatusOr<Heartbeat> DecodeHeartbeat(std::string_view key, std::string_view value) {
  Heartbeat h;
  Reader k(key, "heartbeat key");
  if (!k.String(h.source_alias) || !k.String(h.target_alias)) return k.status();
  Reader v(value, "heartbeat value");
  if (!v.Version() || !v.Int(h.timestamp_ms)) return v.status();
  return h;
}

std::string EncodeCheckpointKey(const Checkpoint& c) {
  std::string out;
  PutString(out, c.group);
  PutString(out, c.topic);
  PutInt<int32_t>(out, c.partition);
  return out;
}

std::string EncodeCheckpointValue(const Checkpoint& c) {
  std::string out;
  PutInt<int16_t>(out, kMm2FormatVersion);
  PutInt<int64_t>(out, c.upstream_offset);
  PutInt<int64_t>(out, c.downstream_offset);
  PutString(out, c.metadata);
  return out;
}

absl::StatusOr<Checkpoint> DecodeCheckpoint(std::string_view key, std::string_view value) {
  Checkpoint c;
  Reader k(key, "checkpoint key");
  if (!k.String(c.group) || !k.String(c.topic) || !k.Int(c.partition)) return k.status();
  Reader v(value, "checkpoint value");
  if (!v.Version() || !v.Int(c.upstream_offset) || !v.Int(c.downstream_offset) ||
      !v.String(c.metadata)) {
    return v.status();
  }
  return c;
}

std::string EncodeOffsetSyncKey(const OffsetSync& s) {
  std::string out;
  PutString(out, s.topic);
  PutInt<int32_t>(out, s.partition);
  return out;
}

std::string EncodeOffsetSyncValue(const OffsetSync& s) {
  std::string out;
  PutInt<int64_t>(out, s.upstream_offset);
  PutInt<int64_t>(out, s.downstream_offset);
  return out;
}

absl::StatusOr<OffsetSync> DecodeOffsetSync(std::string_view key, std::string_view value) {
  OffsetSync s;
  Reader k(key, "offset sync key");
  if (!k.String(s.topic) || !k.Int(s.partition)) return k.status();
  Reader v(value, "offset sync value");
  if (!v.Int(s.upstream_offset) || !v.Int(s.downstream_offset)) return v.status();
  return s;
}

}  // namespace kmirror::offsets
