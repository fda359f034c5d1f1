// The provenance header kmirror adds to every replicated record (unless turned off).
//
// Header name "kmirror.provenance"; value (big-endian, Kafka protocol types):
//   version INT8 = 1
//   origin  STRING   cluster where the record first entered the replicated system
//   source  STRING   cluster this hop copied it from
//   offset  INT64    its offset in the source partition of this hop
// It gives exact resume after a crash (the target's tail says which source offset was written
// last), exact offset translation, and loop prevention in active-active with identity naming
// (records whose origin is the target are not sent back). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/common/types.h"

namespace kmirror::replication {

inline constexpr std::string_view kProvenanceHeader = "kmirror.provenance";

struct Provenance {
  std::string origin;
  std::string source;
  SourceOffset offset;
  bool operator==(const Provenance&) const = default;
};

std::string EncodeProvenance(const Provenance& p);
// nullopt for values that are not a provenance header of a version we know.
std::optional<Provenance> DecodeProvenance(std::string_view value);

}  // namespace kmirror::replication
