// The I/O seams of lib/offsets: everything the emitters need from Kafka, as small interfaces.
// Kafka implementations live in kafka_io.h; unit tests use fakes. Each interface states its own
// thread-safety; the emitters call each instance from their one thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/common/types.h"
#include "lib/kafka/admin_types.h"
#include "lib/kafka/types.h"

namespace kmirror::offsets {

// Milliseconds since the Unix epoch. Injected so that tests control time.
using Clock = std::function<int64_t()>;
Clock SystemClock();

// One key/value record of an internal topic.
struct KeyValue {
  std::string key;
  std::string value;
};

// Appends records to one partition of a topic and waits for the acknowledgement. Implementations
// need not be thread-safe.
class RecordWriter {
 public:
  virtual ~RecordWriter() = default;
  // Writes `records` in order to `topic`[`partition`]; OK once all were acknowledged.
  virtual absl::Status Write(const std::string& topic, int32_t partition,
                             const std::vector<KeyValue>& records) = 0;
};

// Reads every record of a topic from its start to the end offsets sampled at the call (what a
// compacted topic's reader does at startup). Records with a null key or value are skipped.
class TopicReader {
 public:
  virtual ~TopicReader() = default;
  virtual absl::StatusOr<std::vector<KeyValue>> ReadAll(const std::string& topic) = 0;
  // Reads records appended since the previous call for the same topic (everything on the first
  // call). Used by observers that follow a topic.
  virtual absl::StatusOr<std::vector<KeyValue>> ReadNew(const std::string& topic) = 0;
};

// Creates the internal topics (one partition, cleanup.policy=compact where asked) and lists
// topics of a cluster.
class TopicAdmin {
 public:
  virtual ~TopicAdmin() = default;
  // OK if the topic exists already (whatever its settings).
  virtual absl::Status EnsureTopic(const std::string& topic, bool compacted) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListTopics() = 0;
};

// A consumer group as listing and description show it.
struct GroupInfo {
  std::string group;
  kafka::GroupState state = kafka::GroupState::kUnknown;
  int32_t members = 0;
};

// Committed offsets of one group partition (offset < 0: none).
struct CommittedOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;
  std::string metadata;
  // A translated offset: the end of the partition it was translated against (-1: unknown).
  int64_t log_end = -1;
};

// Consumer-group administration on one cluster.
class GroupAdmin {
 public:
  virtual ~GroupAdmin() = default;
  virtual absl::StatusOr<std::vector<std::string>> ListGroups() = 0;
  // State and member count; a group unknown to the cluster comes back kDead with 0 members.
  virtual absl::StatusOr<GroupInfo> DescribeGroup(const std::string& group) = 0;
  virtual absl::StatusOr<std::vector<CommittedOffset>> Committed(const std::string& group) = 0;
  // Commits the offsets (generation-less, like AlterConsumerGroupOffsets): the group must have no
  // members.
  virtual absl::Status Commit(const std::string& group,
                              const std::vector<CommittedOffset>& offsets) = 0;
};

}  // namespace kmirror::offsets
