// Kafka wire encoding for the sandbox front-end: a bounds-checked reader and a growable writer.
//
// Kafka protocol primitives are big-endian. STRING is INT16 length + bytes (-1 = null), BYTES is
// INT32 length + bytes, ARRAY is INT32 count (-1 = null). Flexible versions use unsigned varints
// (COMPACT_* = length + 1, tagged fields); the front-end needs them for the few flexible versions
// it serves (ApiVersions v3, ListGroups v3-4, OffsetFetch v6-7, see api.h).
//
// Not thread-safe; one instance per message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmirror::sandbox {

class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}

  bool ok() const { return ok_; }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  size_t position() const { return pos_; }
  std::string_view rest() const { return ok_ ? data_.substr(pos_) : std::string_view(); }

  int8_t Int8();
  int16_t Int16();
  int32_t Int32();
  int64_t Int64();
  bool Bool() { return Int8() != 0; }
  uint32_t UnsignedVarint();
  std::string String();                         // null reads as ""
  std::optional<std::string> NullableString();  // INT16 length, -1 = null
  std::optional<std::string> Bytes();           // INT32 length, -1 = null
  std::optional<std::string> CompactNullableString();
  std::string CompactString() { return CompactNullableString().value_or(""); }
  // Array length; -1 (null) returns -1. Rejects counts that cannot fit in the remaining bytes.
  int32_t ArrayLength(size_t min_element_size = 1);
  int32_t CompactArrayLength(size_t min_element_size = 1);
  void SkipTaggedFields();
  void Skip(size_t n);

 private:
  bool Need(size_t n);

  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

class WireWriter {
 public:
  void Int8(int8_t v) { buf_.push_back(static_cast<char>(v)); }
  void Int16(int16_t v);
  void Int32(int32_t v);
  void Int64(int64_t v);
  void Bool(bool v) { Int8(v ? 1 : 0); }
  void UnsignedVarint(uint32_t v);
  void String(std::string_view s);
  void NullableString(const std::optional<std::string>& s);
  void Bytes(const std::optional<std::string>& b);
  void CompactString(std::string_view s);
  void CompactArrayLength(int32_t n) { UnsignedVarint(static_cast<uint32_t>(n + 1)); }
  void EmptyTaggedFields() { UnsignedVarint(0); }
  void Raw(std::string_view bytes) { buf_.append(bytes); }

  // Reserves an INT32 slot to fill later (e.g. a count known only after the loop).
  size_t ReserveInt32();
  void PatchInt32(size_t at, int32_t v);

  const std::string& data() const { return buf_; }
  std::string Take() { return std::move(buf_); }
  size_t size() const { return buf_.size(); }

 private:
  std::string buf_;
};

// A frame is INT32 size + payload. Builds a response frame: size, correlation id, body.
std::string ResponseFrame(int32_t correlation_id, std::string_view body);

}  // namespace kmirror::sandbox
