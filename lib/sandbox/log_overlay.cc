#include "lib/sandbox/log_overlay.h"

#include <algorithm>

namespace kmirror::sandbox {

int64_t PartitionOverlay::LastStable(int64_t high) const {
  int64_t lso = high;
  for (const auto& [pid, t] : open) {
    if (t.first_offset >= 0) lso = std::min(lso, t.first_offset);
  }
  return lso;
}

bool PartitionOverlay::Undecided(int64_t producer_id, int64_t base_offset) const {
  auto it = open.find(producer_id);
  if (it == open.end()) return false;
  return it->second.first_offset < 0 || it->second.first_offset <= base_offset;
}

std::vector<AbortedTxn> PartitionOverlay::AbortedOverlapping(int64_t from, int64_t to) const {
  std::vector<AbortedTxn> out;
  for (const AbortedTxn& a : aborted) {
    if (a.marker_offset >= from && a.first_offset <= to) out.push_back(a);
  }
  return out;
}

const PartitionOverlay* LogOverlay::Find(const PartitionKey& tp) const {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : &it->second;
}

void LogOverlay::TransactionalSent(const PartitionKey& tp, const std::string& transactional_id,
                                   int64_t producer_id, int16_t epoch) {
  auto& t = partitions_[tp].open[producer_id];
  t.epoch = epoch;
  t.in_flight++;
  if (!transactional_id.empty()) producers_[transactional_id] = {producer_id, epoch};
}

void LogOverlay::TransactionalDone(const PartitionKey& tp, int64_t producer_id,
                                   std::optional<int64_t> base_offset) {
  auto p = partitions_.find(tp);
  if (p == partitions_.end()) return;
  auto it = p->second.open.find(producer_id);
  if (it == p->second.open.end()) return;
  it->second.in_flight = std::max(0, it->second.in_flight - 1);
  if (base_offset && it->second.first_offset < 0) it->second.first_offset = *base_offset;
  // A transaction whose batches were all refused has written nothing here.
  if (it->second.first_offset < 0 && it->second.in_flight == 0) p->second.open.erase(it);
}

std::vector<PartitionKey> LogOverlay::OpenPartitions(int64_t producer_id) const {
  std::vector<PartitionKey> out;
  for (const auto& [tp, p] : partitions_) {
    auto it = p.open.find(producer_id);
    if (it != p.open.end() && it->second.first_offset >= 0) out.push_back(tp);
  }
  return out;
}

void LogOverlay::MarkerWritten(const PartitionKey& tp, int64_t producer_id, bool commit,
                               int64_t offset) {
  PartitionOverlay& p = partitions_[tp];
  auto it = p.open.find(producer_id);
  if (it == p.open.end()) return;
  if (!commit) p.aborted.push_back(AbortedTxn{producer_id, it->second.first_offset, offset});
  p.open.erase(it);
}

std::optional<std::pair<int64_t, int16_t>> LogOverlay::ProducerOf(
    const std::string& transactional_id) const {
  auto it = producers_.find(transactional_id);
  if (it == producers_.end()) return std::nullopt;
  return it->second;
}

bool LogOverlay::Fenced(const std::string& transactional_id, int64_t producer_id,
                        int16_t epoch) const {
  auto current = ProducerOf(transactional_id);
  return current && *current != std::make_pair(producer_id, epoch);
}

void LogOverlay::SetProducer(const std::string& transactional_id, int64_t producer_id,
                             int16_t epoch) {
  producers_[transactional_id] = {producer_id, epoch};
}

void LogOverlay::Delete(const PartitionKey& tp, const std::vector<int64_t>& offsets) {
  partitions_[tp].deleted.insert(offsets.begin(), offsets.end());
}

}  // namespace kmirror::sandbox
