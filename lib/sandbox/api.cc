#include "lib/sandbox/api.h"

#include <algorithm>

#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {

const std::vector<ApiRange>& LocalApis() {
  static const auto* table = new std::vector<ApiRange>{
      {api::kMetadata, 0, 8},        {api::kFindCoordinator, 0, 2}, {api::kDescribeGroups, 0, 4},
      {api::kListGroups, 0, 4},      {api::kApiVersions, 0, 3},     {api::kCreateTopics, 0, 4},
      {api::kDescribeAcls, 0, 1},    {api::kCreateAcls, 0, 1},      {api::kDeleteAcls, 0, 1},
      {api::kDescribeConfigs, 0, 3}, {api::kAlterConfigs, 0, 1},    {api::kCreatePartitions, 0, 1},
      {api::kOffsetFetch, 0, 7},
  };
  return *table;
}

const std::vector<ApiRange>& ObservedApis() {
  static const auto* table = new std::vector<ApiRange>{
      {api::kOffsetCommit, 0, 7},   {api::kJoinGroup, 0, 5},   {api::kHeartbeat, 0, 3},
      {api::kLeaveGroup, 0, 2},     {api::kSyncGroup, 0, 3},   {api::kProduce, 0, 7},
      {api::kFetch, 0, 11},         {api::kListOffsets, 0, 5}, {api::kEndTxn, 0, 1},
      {api::kInitProducerId, 0, 4},
  };
  return *table;
}

std::optional<ApiRange> FindApi(const std::vector<ApiRange>& table, int16_t key) {
  for (const auto& r : table) {
    if (r.key == key) return r;
  }
  return std::nullopt;
}

std::vector<ApiRange> AdvertisedApis(const std::vector<ApiRange>& mock_apis) {
  std::vector<ApiRange> out = LocalApis();
  for (ApiRange r : mock_apis) {
    if (FindApi(LocalApis(), r.key)) continue;
    if (auto cap = FindApi(ObservedApis(), r.key)) r.max = std::min(r.max, cap->max);
    if (r.min <= r.max) out.push_back(r);
  }
  std::sort(out.begin(), out.end(),
            [](const ApiRange& a, const ApiRange& b) { return a.key < b.key; });
  return out;
}

std::optional<RequestHeader> ParseRequestHeader(std::string_view payload) {
  WireReader r(payload);
  RequestHeader h;
  h.api_key = r.Int16();
  h.api_version = r.Int16();
  h.correlation_id = r.Int32();
  h.client_id = r.String();
  if (!r.ok()) return std::nullopt;
  h.body_offset = r.position();
  return h;
}

}  // namespace kmirror::sandbox
