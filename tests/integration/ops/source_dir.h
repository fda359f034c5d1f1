// The repository root the shipped files (units, dashboard, configs) are read from in tests.
#pragma once

#include <cstdlib>
#include <string>

namespace kmirror::testing {

// $KMIRROR_SOURCE_DIR (set by ctest), else the current directory.
inline std::string SourceDir() {
  const char* dir = std::getenv("KMIRROR_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

}  // namespace kmirror::testing
