// Reads a range of one partition with a plain (group-less) consumer: failback's divergence copy
// and the drill's comparisons. Thread-compatible.
#pragma once

#include <chrono>
#include <functional>

#include "absl/status/status.h"
#include "lib/kafka/consumer.h"

namespace kmirror::dr {

// Calls `each` for every record of [from, to) of topic[partition], in order, then returns OK.
// DeadlineExceeded naming the offset reached when `deadline` passes first; `each`'s error stops.
absl::Status ReadRange(kafka::Consumer& consumer, const std::string& topic, int32_t partition,
                       int64_t from, int64_t to, std::chrono::steady_clock::time_point deadline,
                       const std::function<absl::Status(const kafka::Message&)>& each);

// A consumer for ReadRange: auto commit off, partition EOF reported.
absl::StatusOr<std::unique_ptr<kafka::Consumer>> RangeConsumer(kafka::Properties properties,
                                                               const std::string& group);

}  // namespace kmirror::dr
