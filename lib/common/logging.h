// Logging setup: one structured line per record on stderr, journald-friendly.
//
// Format: `level=info logger=sandbox msg="..."` with key=value fields appended by call sites.
// Every component asks for its own named logger so operators can filter by subsystem.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"

// Debian's abseil has its own string_view type; let fmt/spdlog print it and absl::Status directly.
template <>
struct fmt::formatter<absl::string_view> : fmt::formatter<fmt::string_view> {
  template <typename Ctx>
  auto format(absl::string_view s, Ctx& ctx) const {
    return fmt::formatter<fmt::string_view>::format(fmt::string_view(s.data(), s.size()), ctx);
  }
};
template <>
struct fmt::formatter<absl::Status> : fmt::formatter<std::string> {
  template <typename Ctx>
  auto format(const absl::Status& s, Ctx& ctx) const {
    return fmt::formatter<std::string>::format(s.ToString(), ctx);
  }
};

namespace kmirror::common {

// Configures the default sink and level ("trace".."off"). Safe to call more than once.
void InitLogging(const std::string& level = "info");

// Returns the named logger, creating it with the shared stderr sink on first use. Thread-safe.
std::shared_ptr<spdlog::logger> Logger(const std::string& name);

}  // namespace kmirror::common
