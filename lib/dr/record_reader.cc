#include "lib/dr/record_reader.h"

#include "absl/strings/str_cat.h"

namespace kmirror::dr {

absl::StatusOr<std::unique_ptr<kafka::Consumer>> RangeConsumer(kafka::Properties properties,
                                                               const std::string& group) {
  properties.Set("group.id", group);
  properties.Set("enable.auto.commit", "false");
  properties.Set("enable.partition.eof", "true");
  return kafka::Consumer::Create(properties);
}

absl::Status ReadRange(kafka::Consumer& consumer, const std::string& topic, int32_t partition,
                       int64_t from, int64_t to, std::chrono::steady_clock::time_point deadline,
                       const std::function<absl::Status(const kafka::Message&)>& each) {
  if (from >= to) return absl::OkStatus();
  if (absl::Status s = consumer.Assign({{topic, partition, from}}); !s.ok()) return s;
  int64_t next = from;
  while (next < to) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("reading ", topic, "[", partition,
                                                      "] stopped at offset ", next, " of ", to,
                                                      ": the deadline passed"));
    }
    auto batch = consumer.ConsumeBatch(std::chrono::milliseconds(500), 1000);
    if (!batch.ok()) return batch.status();
    for (const kafka::Message& m : *batch) {
      if (m.is_partition_eof()) {
        next = std::max(next, m.offset());
        continue;
      }
      if (!m.ok()) {
        return absl::Status(m.status().code(), absl::StrCat("reading ", topic, "[", partition,
                                                            "]: ", m.status().message()));
      }
      if (m.offset() >= to) {
        next = to;
        break;
      }
      next = m.offset() + 1;
      if (absl::Status s = each(m); !s.ok()) return s;
    }
  }
  return consumer.Unassign();
}

}  // namespace kmirror::dr
