#include "lib/common/status.h"

#include <cstdio>
#include <cstdlib>

#include "fmt/format.h"

namespace kmirror::common {

void CheckFailed(const char* condition, const char* file, int line, std::string_view message) {
  std::fprintf(stderr, "level=fatal msg=\"CHECK failed: %s %.*s\" at=%s:%d\n", condition,
               static_cast<int>(message.size()), message.data(), file, line);
  std::fflush(stderr);
  std::abort();
}

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  absl::Status out(status.code(), fmt::format("{}: {}", context, ToStd(status.message())));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

}  // namespace kmirror::common
