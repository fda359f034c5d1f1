// Status helpers shared by every kmirror library.
//
// Errors cross module boundaries as absl::Status / absl::StatusOr<T>. These macros keep call sites
// short. KM_CHECK is for programming errors only (invariants), never for bad input.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kmirror::common {

// Debian's abseil (20220623) is built with its own absl::string_view, distinct from
// std::string_view. kmirror's interfaces use std::string_view; these convert at the boundary.
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }
inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// Logs "CHECK failed" with the location and aborts. Never returns.
[[noreturn]] void CheckFailed(const char* condition, const char* file, int line,
                              std::string_view message);

// Prefixes a status message with context, keeping its code and payloads.
absl::Status Annotate(const absl::Status& status, std::string_view context);

}  // namespace kmirror::common

#define KM_CHECK(cond)                                                          \
  do {                                                                          \
    if (!(cond)) ::kmirror::common::CheckFailed(#cond, __FILE__, __LINE__, ""); \
  } while (0)

#define KM_CHECK_MSG(cond, msg)                                                  \
  do {                                                                           \
    if (!(cond)) ::kmirror::common::CheckFailed(#cond, __FILE__, __LINE__, msg); \
  } while (0)

#define KM_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status km_status_ = (expr);      \
    if (!km_status_.ok()) return km_status_; \
  } while (0)

#define KM_CONCAT_INNER_(a, b) a##b
#define KM_CONCAT_(a, b) KM_CONCAT_INNER_(a, b)
#define KM_ASSIGN_OR_RETURN(lhs, expr) \
  KM_ASSIGN_OR_RETURN_IMPL_(KM_CONCAT_(km_statusor_, __LINE__), lhs, expr)
#define KM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
