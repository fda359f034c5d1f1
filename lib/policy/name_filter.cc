#include "lib/policy/name_filter.h"

#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/common/status.h"
#include "re2/re2.h"

namespace kmirror::policy {
namespace {

// Quiet: a bad user pattern is reported as a status, not logged by RE2 to stderr.
RE2::Options PatternOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  return options;
}

absl::Status Compile(const std::vector<std::string>& patterns,
                     std::vector<std::unique_ptr<re2::RE2>>& out) {
  for (const std::string& pattern : patterns) {
    auto re = std::make_unique<re2::RE2>(pattern, PatternOptions());
    if (!re->ok()) {
      return absl::InvalidArgumentError(
          fmt::format("invalid RE2 pattern \"{}\": {}", pattern, re->error()));
    }
    out.push_back(std::move(re));
  }
  return absl::OkStatus();
}

bool AnyFullMatch(const std::vector<std::unique_ptr<re2::RE2>>& res, std::string_view name) {
  const re2::StringPiece piece(name.data(), name.size());
  for (const auto& re : res) {
    if (re2::RE2::FullMatch(piece, *re)) return true;
  }
  return false;
}

template <size_t N>
std::vector<std::string> ToVector(const std::array<std::string_view, N>& values) {
  return std::vector<std::string>(values.begin(), values.end());
}

}  // namespace

std::optional<std::string> ValidatePattern(std::string_view pattern) {
  re2::RE2 re(re2::StringPiece(pattern.data(), pattern.size()), PatternOptions());
  if (re.ok()) return std::nullopt;
  return re.error();
}

absl::StatusOr<NameFilter> NameFilter::Create(std::vector<std::string> include,
                                              std::vector<std::string> exclude) {
  NameFilter filter;
  KM_RETURN_IF_ERROR(Compile(include, filter.include_re_));
  KM_RETURN_IF_ERROR(Compile(exclude, filter.exclude_re_));
  filter.include_ = std::move(include);
  filter.exclude_ = std::move(exclude);
  return filter;
}

NameFilter NameFilter::DefaultTopics() {
  absl::StatusOr<NameFilter> filter =
      Create(ToVector(kDefaultTopicsInclude), ToVector(kDefaultTopicsExclude));
  KM_CHECK(filter.ok());
  return std::move(filter).value();
}

NameFilter NameFilter::DefaultGroups() {
  absl::StatusOr<NameFilter> filter =
      Create(ToVector(kDefaultGroupsInclude), ToVector(kDefaultGroupsExclude));
  KM_CHECK(filter.ok());
  return std::move(filter).value();
}

NameFilter::NameFilter(NameFilter&&) noexcept = default;
NameFilter& NameFilter::operator=(NameFilter&&) noexcept = default;
NameFilter::~NameFilter() = default;

bool NameFilter::Matches(std::string_view name) const {
  return AnyFullMatch(include_re_, name) && !AnyFullMatch(exclude_re_, name);
}

}  // namespace kmirror::policy
