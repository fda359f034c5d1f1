// Include/exclude filters over topic and consumer-group names, from user-supplied RE2 patterns.
//
// Every pattern must match the WHOLE name (MM2 semantics: Java's Matcher.matches()): "orders"
// matches "orders" but not "orders2". RE2 guarantees linear-time matching, so a hostile pattern
// cannot stall the daemon; std::regex is never used for user input.
//
// Thread-safety: a NameFilter is immutable after Create(); Matches() may be called from any thread.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace re2 {
class RE2;
}

namespace kmirror::policy {

// MM2's defaults (DefaultTopicFilter / DefaultGroupFilter).
inline constexpr std::array<std::string_view, 1> kDefaultTopicsInclude = {".*"};
inline constexpr std::array<std::string_view, 3> kDefaultTopicsExclude = {".*[\\-\\.]internal",
                                                                          ".*\\.replica", "__.*"};
inline constexpr std::array<std::string_view, 1> kDefaultGroupsInclude = {".*"};
inline constexpr std::array<std::string_view, 3> kDefaultGroupsExclude = {"console-consumer-.*",
                                                                          "connect-.*", "__.*"};

// Returns nullopt when `pattern` is a valid RE2 pattern, else RE2's error text ("missing ]: [").
std::optional<std::string> ValidatePattern(std::string_view pattern);

class NameFilter {
 public:
  // Compiles both lists. A name passes when it fully matches at least one `include` pattern and no
  // `exclude` pattern. Fails with kInvalidArgument naming the first bad pattern:
  //   invalid RE2 pattern "orders[": missing ]: [
  static absl::StatusOr<NameFilter> Create(std::vector<std::string> include,
                                           std::vector<std::string> exclude);
  // MM2's default topic filter / group filter.
  static NameFilter DefaultTopics();
  static NameFilter DefaultGroups();

  NameFilter(NameFilter&&) noexcept;
  NameFilter& operator=(NameFilter&&) noexcept;
  ~NameFilter();

  bool Matches(std::string_view name) const;

  const std::vector<std::string>& include() const { return include_; }
  const std::vector<std::string>& exclude() const { return exclude_; }

 private:
  NameFilter() = default;

  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  std::vector<std::unique_ptr<re2::RE2>> include_re_;
  std::vector<std::unique_ptr<re2::RE2>> exclude_re_;
};

}  // namespace kmirror::policy
