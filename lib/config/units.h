// Durations and byte sizes as written in kmirrord's configuration.
//
// Durations: "250ms", "10s", "5m", "1h", "1h30m" (absl::ParseDuration syntax, non-negative,
// finite) or an integer number of milliseconds. Sizes: an integer number of bytes, or an integer
// with a unit: B, KiB, MiB, GiB, TiB (powers of 1024), KB, MB, GB, TB (powers of 1000).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace kmirror::config {

// Fails with kInvalidArgument, message `invalid duration "x": ...`.
absl::StatusOr<absl::Duration> ParseDuration(std::string_view text);
// Milliseconds from an integer configuration value; negative values fail.
absl::StatusOr<absl::Duration> DurationFromMillis(int64_t millis);
// Shortest form that ParseDuration reads back: "30s", "250ms", "1m30s".
std::string DurationToString(absl::Duration d);

// Fails with kInvalidArgument, message `invalid size "x": ...`.
absl::StatusOr<int64_t> ParseByteSize(std::string_view text);
// The largest binary unit that represents `bytes` exactly: 67108864 -> "64MiB", 1000 -> "1000B".
std::string ByteSizeToString(int64_t bytes);

}  // namespace kmirror::config
