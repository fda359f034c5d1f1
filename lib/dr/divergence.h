// Failback's preservation of divergent records: records on the old primary (the source of a
// failed-over flow) written after the failover mark, which never reached the target. They are
// copied, never dropped: to a clearly named quarantine topic on the same cluster, or to a JSON
// lines file chosen by the operator. Reading them is also how they are counted.
//
// Thread-compatible: one call at a time (it creates its own clients).
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/kafka/properties.h"

namespace kmirror::dr {

struct DivergentRange {
  std::string topic;
  int32_t partition = 0;
  int64_t from = 0;  // first divergent offset
  int64_t to = 0;    // end offset when failback looked (exclusive)
};

// `kmirror-quarantine.<source>-<target>.<topic>.internal`: excluded from replication by the
// default topic filters (".internal" suffix), named after what it holds.
std::string QuarantineTopic(const std::string& source, const std::string& target,
                            const std::string& topic);

struct PreserveTarget {
  bool to_file = false;
  std::string file;  // to_file: absolute path; created, never overwritten
  std::string source_alias, target_alias;
};

// Copies every record in `ranges` (read from the cluster `properties` address) and returns, per
// range, how many records were found and where they went. Re-running after a partial copy to
// the quarantine topic continues where it stopped.
absl::StatusOr<nlohmann::json> PreserveDivergent(const kafka::Properties& properties,
                                                 const std::vector<DivergentRange>& ranges,
                                                 const PreserveTarget& where,
                                                 std::chrono::milliseconds timeout);

}  // namespace kmirror::dr
