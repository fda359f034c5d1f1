#include "lib/config/units.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/common/status.h"

namespace kmirror::config {
namespace {

constexpr std::string_view kDurationHelp =
    "use a number with a unit: ms, s, m, h (e.g. \"250ms\", \"10s\", \"1h30m\") or an integer "
    "number of milliseconds";
constexpr std::string_view kSizeHelp =
    "use an integer number of bytes, or an integer with a unit: B, KiB, MiB, GiB, TiB, KB, MB, "
    "GB, TB (e.g. \"64MiB\")";

struct Unit {
  std::string_view name;
  int64_t bytes;
};
constexpr Unit kUnits[] = {
    {"B", 1},
    {"KiB", int64_t{1} << 10},
    {"MiB", int64_t{1} << 20},
    {"GiB", int64_t{1} << 30},
    {"TiB", int64_t{1} << 40},
    {"KB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"TB", int64_t{1000} * 1000 * 1000 * 1000},
};

}  // namespace

absl::StatusOr<absl::Duration> ParseDuration(std::string_view text) {
  absl::Duration d;
  bool all_digits = !text.empty();
  for (char c : text) all_digits = all_digits && std::isdigit(static_cast<unsigned char>(c));
  // absl reads only "0" without a unit; "10" would be ambiguous, so ask for a unit.
  if (all_digits && text != "0") {
    return absl::InvalidArgumentError(
        fmt::format("invalid duration \"{}\": missing unit; {}", text, kDurationHelp));
  }
  if (!absl::ParseDuration(common::ToAbsl(text), &d)) {
    return absl::InvalidArgumentError(
        fmt::format("invalid duration \"{}\": {}", text, kDurationHelp));
  }
  if (d == absl::InfiniteDuration() || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        fmt::format("invalid duration \"{}\": must be finite and not negative", text));
  }
  return d;
}

absl::StatusOr<absl::Duration> DurationFromMillis(int64_t millis) {
  if (millis < 0) {
    return absl::InvalidArgumentError(
        fmt::format("invalid duration {}: must not be negative", millis));
  }
  return absl::Milliseconds(millis);
}

std::string DurationToString(absl::Duration d) {
  return std::string(common::ToStd(absl::FormatDuration(d)));
}

absl::StatusOr<int64_t> ParseByteSize(std::string_view text) {
  std::string_view rest = text;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  int64_t number = 0;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), number);
  if (ec == std::errc::result_out_of_range) {
    return absl::InvalidArgumentError(fmt::format("invalid size \"{}\": too large", text));
  }
  if (ec != std::errc() || end == rest.data() || number < 0) {
    return absl::InvalidArgumentError(fmt::format("invalid size \"{}\": {}", text, kSizeHelp));
  }
  std::string_view unit = rest.substr(end - rest.data());
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  if (unit.empty()) return number;
  for (const Unit& u : kUnits) {
    if (unit != u.name) continue;
    if (number > std::numeric_limits<int64_t>::max() / u.bytes) {
      return absl::InvalidArgumentError(fmt::format("invalid size \"{}\": too large", text));
    }
    return number * u.bytes;
  }
  return absl::InvalidArgumentError(
      fmt::format("invalid size \"{}\": unknown unit \"{}\"; {}", text, unit, kSizeHelp));
}

std::string ByteSizeToString(int64_t bytes) {
  constexpr std::pair<std::string_view, int64_t> kBinary[] = {{"TiB", int64_t{1} << 40},
                                                              {"GiB", int64_t{1} << 30},
                                                              {"MiB", int64_t{1} << 20},
                                                              {"KiB", int64_t{1} << 10}};
  if (bytes > 0) {
    for (const auto& [name, size] : kBinary) {
      if (bytes % size == 0) return fmt::format("{}{}", bytes / size, name);
    }
  }
  return fmt::format("{}B", bytes);
}

}  // namespace kmirror::config
