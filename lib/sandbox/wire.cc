#include "lib/sandbox/wire.h"

#include <cstring>

namespace kmirror::sandbox {

bool WireReader::Need(size_t n) {
  if (!ok_ || data_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

int8_t WireReader::Int8() {
  if (!Need(1)) return 0;
  return static_cast<int8_t>(data_[pos_++]);
}

int16_t WireReader::Int16() {
  if (!Need(2)) return 0;
  uint16_t v = (static_cast<uint8_t>(data_[pos_]) << 8) | static_cast<uint8_t>(data_[pos_ + 1]);
  pos_ += 2;
  return static_cast<int16_t>(v);
}

int32_t WireReader::Int32() {
  if (!Need(4)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 4;
  return static_cast<int32_t>(v);
}

int64_t WireReader::Int64() {
  if (!Need(8)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_ + i]);
  pos_ += 8;
  return static_cast<int64_t>(v);
}

uint32_t WireReader::UnsignedVarint() {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (!Need(1)) return 0;
    uint8_t b = static_cast<uint8_t>(data_[pos_++]);
    v |= static_cast<uint32_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ok_ = false;
  return 0;
}

std::string WireReader::String() { return NullableString().value_or(""); }

std::optional<std::string> WireReader::NullableString() {
  int16_t len = Int16();
  if (!ok_ || len < 0) return std::nullopt;
  if (!Need(static_cast<size_t>(len))) return std::nullopt;
  std::string s(data_.substr(pos_, len));
  pos_ += len;
  return s;
}

std::optional<std::string> WireReader::Bytes() {
  int32_t len = Int32();
  if (!ok_ || len < 0) return std::nullopt;
  if (!Need(static_cast<size_t>(len))) return std::nullopt;
  std::string s(data_.substr(pos_, len));
  pos_ += len;
  return s;
}

std::optional<std::string> WireReader::CompactNullableString() {
  uint32_t len = UnsignedVarint();
  if (!ok_ || len == 0) return std::nullopt;
  if (!Need(len - 1)) return std::nullopt;
  std::string s(data_.substr(pos_, len - 1));
  pos_ += len - 1;
  return s;
}

int32_t WireReader::ArrayLength(size_t min_element_size) {
  int32_t n = Int32();
  if (!ok_ || n < 0) return ok_ ? -1 : 0;
  if (static_cast<size_t>(n) * min_element_size > remaining()) {
    ok_ = false;
    return 0;
  }
  return n;
}

int32_t WireReader::CompactArrayLength(size_t min_element_size) {
  uint32_t n = UnsignedVarint();
  if (!ok_) return 0;
  if (n == 0) return -1;
  if (static_cast<size_t>(n - 1) * min_element_size > remaining()) {
    ok_ = false;
    return 0;
  }
  return static_cast<int32_t>(n - 1);
}

void WireReader::SkipTaggedFields() {
  uint32_t count = UnsignedVarint();
  for (uint32_t i = 0; ok_ && i < count; ++i) {
    UnsignedVarint();  // tag
    Skip(UnsignedVarint());
  }
}

void WireReader::Skip(size_t n) {
  if (Need(n)) pos_ += n;
}

void WireWriter::Int16(int16_t v) {
  auto u = static_cast<uint16_t>(v);
  buf_.push_back(static_cast<char>(u >> 8));
  buf_.push_back(static_cast<char>(u & 0xff));
}

void WireWriter::Int32(int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8)
    buf_.push_back(static_cast<char>((u >> shift) & 0xff));
}

void WireWriter::Int64(int64_t v) {
  auto u = static_cast<uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8)
    buf_.push_back(static_cast<char>((u >> shift) & 0xff));
}

void WireWriter::UnsignedVarint(uint32_t v) {
  while (v >= 0x80) {
    buf_.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  buf_.push_back(static_cast<char>(v));
}

void WireWriter::String(std::string_view s) {
  Int16(static_cast<int16_t>(s.size()));
  buf_.append(s);
}

void WireWriter::NullableString(const std::optional<std::string>& s) {
  if (!s) {
    Int16(-1);
    return;
  }
  String(*s);
}

void WireWriter::Bytes(const std::optional<std::string>& b) {
  if (!b) {
    Int32(-1);
    return;
  }
  Int32(static_cast<int32_t>(b->size()));
  buf_.append(*b);
}

void WireWriter::CompactString(std::string_view s) {
  UnsignedVarint(static_cast<uint32_t>(s.size() + 1));
  buf_.append(s);
}

size_t WireWriter::ReserveInt32() {
  size_t at = buf_.size();
  Int32(0);
  return at;
}

void WireWriter::PatchInt32(size_t at, int32_t v) {
  auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) buf_[at + i] = static_cast<char>((u >> (24 - 8 * i)) & 0xff);
}

std::string ResponseFrame(int32_t correlation_id, std::string_view body) {
  WireWriter w;
  w.Int32(static_cast<int32_t>(4 + body.size()));
  w.Int32(correlation_id);
  w.Raw(body);
  return w.Take();
}

}  // namespace kmirror::sandbox
