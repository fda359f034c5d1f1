// Kafka API keys and request headers, and the table of what the sandbox front-end serves itself
// versus what it forwards to the librdkafka mock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kmirror::sandbox {

namespace api {
constexpr int16_t kProduce = 0;
constexpr int16_t kFetch = 1;
constexpr int16_t kListOffsets = 2;
constexpr int16_t kMetadata = 3;
constexpr int16_t kOffsetCommit = 8;
constexpr int16_t kOffsetFetch = 9;
constexpr int16_t kFindCoordinator = 10;
constexpr int16_t kJoinGroup = 11;
constexpr int16_t kHeartbeat = 12;
constexpr int16_t kLeaveGroup = 13;
constexpr int16_t kSyncGroup = 14;
constexpr int16_t kDescribeGroups = 15;
constexpr int16_t kListGroups = 16;
constexpr int16_t kApiVersions = 18;
constexpr int16_t kCreateTopics = 19;
constexpr int16_t kDeleteTopics = 20;
constexpr int16_t kInitProducerId = 22;
constexpr int16_t kEndTxn = 26;
constexpr int16_t kDescribeAcls = 29;
constexpr int16_t kCreateAcls = 30;
constexpr int16_t kDeleteAcls = 31;
constexpr int16_t kDescribeConfigs = 32;
constexpr int16_t kAlterConfigs = 33;
constexpr int16_t kCreatePartitions = 37;
}  // namespace api

struct ApiRange {
  int16_t key;
  int16_t min;
  int16_t max;
};

// APIs the front-end answers itself, with the versions it implements. Flexible versions are
// ApiVersions v3 (clients must be able to start with it), ListGroups v3-4 (v4 reports group
// states) and OffsetFetch v6-7 (librdkafka 2.0.2 can only ask for all of a group's offsets at v6+).
const std::vector<ApiRange>& LocalApis();
// Forwarded APIs whose request and response the front-end parses to track groups and committed
// offsets (versions capped to the non-flexible ones it parses), and transactions and deleted
// records (the versions the mock serves).
const std::vector<ApiRange>& ObservedApis();
std::optional<ApiRange> FindApi(const std::vector<ApiRange>& table, int16_t key);

// What a client sees in ApiVersions: the local table, plus every API the mock serves (observed
// ones capped), minus APIs the mock serves that the front-end shadows.
std::vector<ApiRange> AdvertisedApis(const std::vector<ApiRange>& mock_apis);

struct RequestHeader {
  int16_t api_key = 0;
  int16_t api_version = 0;
  int32_t correlation_id = 0;
  std::string client_id;
  // Where the body starts for request header v1. A flexible request (header v2) has its header's
  // tagged fields there, which the handler of a flexible version skips first.
  size_t body_offset = 0;
};

// Parses the header of a request frame's payload (after the INT32 size).
std::optional<RequestHeader> ParseRequestHeader(std::string_view payload);

}  // namespace kmirror::sandbox
