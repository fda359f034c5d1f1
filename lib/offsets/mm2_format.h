// Byte-exact encoders and decoders of MirrorMaker 2's three internal record formats, so that MM2's
// tools (RemoteClusterUtils, MirrorClient, MirrorCheckpointConnector) read what kmirror writes and
// kmirror reads what MM2 wrote. Kafka protocol types, big-endian; STRING = INT16 length + UTF-8
// (never null). Layouts follow org.apache.kafka.connect.mirror.{Heartbeat,Checkpoint,OffsetSync}:
//   heartbeat   key: sourceClusterAlias STRING, targetClusterAlias STRING
//               value: version INT16 = 0, timestamp INT64 (ms)
//   checkpoint  key: group STRING, topic STRING (downstream name), partition INT32
//               value: version INT16 = 0, upstreamOffset INT64, offset INT64, metadata STRING
//   offset sync key: topic STRING (upstream name), partition INT32
//               value: upstreamOffset INT64, offset INT64 (no version field)
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace kmirror::offsets {

struct Heartbeat {
  std::string source_alias;
  std::string target_alias;
  int64_t timestamp_ms = 0;
  bool operator==(const Heartbeat&) const = default;
};

struct Checkpoint {
  std::string group;
  std::string topic;  // the topic's name on the cluster the checkpoint is written to
  int32_t partition = 0;
  int64_t upstream_offset = 0;
  int64_t downstream_offset = 0;
  std::string metadata;
  bool operator==(const Checkpoint&) const = default;
};

struct OffsetSync {
  std::string topic;  // the topic's name on the upstream (source) cluster
  int32_t partition = 0;
  int64_t upstream_offset = 0;
  int64_t downstream_offset = 0;
  bool operator==(const OffsetSync&) const = default;
};

// Only version 0 exists for heartbeats and checkpoints; decoders reject other versions with
// kInvalidArgument, as they reject truncated input and strings longer than INT16 allows.
inline constexpr int16_t kMm2FormatVersion = 0;

std::string EncodeHeartbeatKey(const Heartbeat& h);
std::string EncodeHeartbeatValue(const Heartbeat& h);
absl::StatusOr<Heartbeat> DecodeHeartbeat(std::string_view key, std::string_view value);

std::string EncodeCheckpointKey(const Checkpoint& c);
std::string EncodeCheckpointValue(const Checkpoint& c);
absl::StatusOr<Checkpoint> DecodeCheckpoint(std::string_view key, std::string_view value);

std::string EncodeOffsetSyncKey(const OffsetSync& s);
std::string EncodeOffsetSyncValue(const OffsetSync& s);
absl::StatusOr<OffsetSync> DecodeOffsetSync(std::string_view key, std::string_view value);

}  // namespace kmirror::offsets
