// Converts a MirrorMaker 2 dedicated-mode configuration (connect-mirror-maker.properties) into an
// equivalent kmirrord TOML configuration, for `kmirrorctl import-mm2`. Every MM2 setting that has
// no kmirror equivalent, or whose value cannot be carried over, is named with the reason, both in
// the result and as comment lines at the top of the TOML, so nothing is dropped silently.
// Pure functions, no I/O; thread-safe.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kmirror::mm2import {

// Java .properties: key/value pairs in file order (later duplicates win when looked up).
using Properties = std::vector<std::pair<std::string, std::string>>;

// Parses the java.util.Properties text format: `key=value`, `key: value` or `key value`, `#` and
// `!` comments, backslash line continuations and escapes (\t \n \r \f \uXXXX, \x for x).
Properties ParseProperties(const std::string& text);

struct Conversion {
  std::string toml;
  // "key: reason" for every setting not carried over.
  std::vector<std::string> not_converted;
};

// kInvalidArgument when the file defines no `clusters`, or no enabled `A->B` flow between them.
absl::StatusOr<Conversion> ConvertMm2(const Properties& properties,
                                      const std::string& source_name = "mm2.properties");

}  // namespace kmirror::mm2import
