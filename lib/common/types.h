// Strong types for words both clusters share. Mixing a source offset with a target offset, or a
// source topic with its remote (target) name, is the classic replicator bug: the compiler catches
// it here. Trivially copyable value types; thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <tuple>

namespace kmirror {

template <typename Tag>
struct Offset {
  int64_t value = -1;
  constexpr Offset() = default;
  constexpr explicit Offset(int64_t v) : value(v) {}
  constexpr auto operator<=>(const Offset&) const = default;
  constexpr Offset Next() const { return Offset(value + 1); }
  constexpr bool valid() const { return value >= 0; }
};
using SourceOffset = Offset<struct SourceOffsetTag>;
using TargetOffset = Offset<struct TargetOffsetTag>;

template <typename Tag>
struct Partition {
  std::string topic;
  int32_t partition = -1;
  auto operator<=>(const Partition&) const = default;
  std::string ToString() const { return topic + "-" + std::to_string(partition); }
};
// A partition named as it exists on the source cluster, and as it exists on the target.
using SourcePartition = Partition<struct SourcePartitionTag>;
using TargetPartition = Partition<struct TargetPartitionTag>;

}  // namespace kmirror

template <typename Tag>
struct std::hash<kmirror::Partition<Tag>> {
  size_t operator()(const kmirror::Partition<Tag>& p) const noexcept {
    return std::hash<std::string>{}(p.topic) * 31 + static_cast<size_t>(p.partition);
  }
};
