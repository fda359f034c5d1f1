#include "lib/offsets/translator.h"

#include <utility>

namespace kmirror::offsets {

Translator::Translator(TargetIndex& index,
                       std::function<std::string(std::string_view)> remote_topic, Options options)
    : index_(index), remote_topic_(std::move(remote_topic)), options_(options) {}

void Translator::RememberLocked(PartitionCache& cache, IndexEntry e) {
  auto [it, inserted] = cache.pairs.try_emplace(e.source.value, Pair{e.target.value, false});
  if (!inserted) {
    if (it->second.target != e.target.value) {
      // The same source offset at another target offset: a duplicate write (at-least-once) or a
      // recreated topic. Keep the newer fact and drop adjacency claims around it.
      it->second = Pair{e.target.value, false};
      if (it != cache.pairs.begin()) std::prev(it)->second.next_adjacent = false;
    }
  } else if (it != cache.pairs.begin()) {
    auto prev = std::prev(it);
    // Consecutive target offsets prove nothing lies between; otherwise the previous entry's claim
    // about its successor no longer refers to this map's next entry.
    prev->second.next_adjacent = prev->second.target + 1 == e.target.value;
  }
  if (inserted) {
    auto next = std::next(it);
    it->second.next_adjacent =
        next != cache.pairs.end() && e.target.value + 1 == next->second.target;
  }
  while (cache.pairs.size() > options_.cache_entries_per_partition) {
    cache.pairs.erase(cache.pairs.begin());
  }
}

void Translator::RememberAdjacentLocked(PartitionCache& cache, IndexEntry a, IndexEntry b) {
  RememberLocked(cache, a);
  RememberLocked(cache, b);
  auto it = cache.pairs.find(a.source.value);
  if (it == cache.pairs.end()) return;
  auto next = std::next(it);
  if (next != cache.pairs.end() && next->first == b.source.value) it->second.next_adjacent = true;
}

void Translator::OnReplicated(const SourcePartition& partition, SourceOffset source,
                              TargetOffset target) {
  std::lock_guard<std::mutex> lock(mu_);
  RememberLocked(cache_[partition], IndexEntry{target, source});
}

void Translator::OnSourcePosition(const SourcePartition& partition, SourceOffset next) {
  std::lock_guard<std::mutex> lock(mu_);
  PartitionCache& c = cache_[partition];
  c.position = std::max(c.position, next.value);
}

void Translator::Forget(const SourcePartition& partition) {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.erase(partition);
}

std::optional<Translation> Translator::FromCache(const SourcePartition& partition, SourceOffset x) {
  std::lock_guard<std::mutex> lock(mu_);
  auto pc = cache_.find(partition);
  if (pc == cache_.end()) return std::nullopt;
  const auto& pairs = pc->second.pairs;
  // `a`: the cached record of ours with the greatest source offset below x.
  auto b = pairs.lower_bound(x.value);
  if (b == pairs.begin()) return std::nullopt;
  auto a = std::prev(b);
  // Source offsets grow with target offsets, so a record with source x-1 is the last one of ours
  // below x; a known-adjacent successor at or above x proves the same.
  const bool last_below = a->first == x.value - 1 || (a->second.next_adjacent && b != pairs.end());
  if (!last_below) return std::nullopt;
  return Translation{Translation::Kind::kExact, TargetOffset(a->second.target + 1), true};
}

absl::StatusOr<Translation> Translator::Translate(const SourcePartition& partition,
                                                  SourceOffset committed) {
  if (!committed.valid()) {
    return absl::InvalidArgumentError("cannot translate negative offset " +
                                      std::to_string(committed.value));
  }
  if (auto hit = FromCache(partition, committed)) return *hit;
  return Search(partition, committed);
}

absl::StatusOr<Translation> Translator::Search(const SourcePartition& partition, SourceOffset x) {
  const TargetPartition tp{remote_topic_(partition.topic), partition.partition};
  int64_t position = -1;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = cache_.find(partition);
    if (it != cache_.end()) position = it->second.position;
  }
  auto bounds = index_.GetBounds(tp);
  if (!bounds.ok()) return bounds.status();
  const int64_t low = bounds->low.value;
  const int64_t high = bounds->high.value;
  auto exact = [high](int64_t target) {
    return Translation{Translation::Kind::kExact, TargetOffset(target), false, high};
  };
  const Translation miss{Translation::Kind::kMiss, TargetOffset(), false, high};

  // Invariant: the first record of ours at or after `hi` has source >= x (or there is none), and
  // `below` (if set) is a record of ours with source < x ending right before `lo`.
  int64_t lo = low;
  int64_t hi = high;
  std::optional<IndexEntry> below;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto e = index_.NextOurs(tp, TargetOffset(mid), TargetOffset(hi));
    if (!e.ok()) return e.status();
    if (!e->has_value() || (*e)->source >= x) {
      hi = mid;
    } else {
      below = **e;
      lo = (*e)->target.value + 1;
    }
  }
  // lo is the boundary: every record of ours before it has source < x, every one after >= x.
  auto first_above = index_.NextOurs(tp, TargetOffset(lo), TargetOffset(high));
  if (!first_above.ok()) return first_above.status();
  {
    std::lock_guard<std::mutex> lock(mu_);
    PartitionCache& c = cache_[partition];
    if (below && first_above->has_value()) {
      RememberAdjacentLocked(c, *below, **first_above);
    } else if (below) {
      RememberLocked(c, *below);
    } else if (first_above->has_value()) {
      RememberLocked(c, **first_above);
    }
  }
  if (below) {
    if (first_above->has_value()) return exact(lo);
    // x is beyond everything replicated: exact only if no source record in (last, x) still
    // waits to be copied.
    if (x.value == below->source.value + 1 || x.value <= position) return exact(lo);
    return miss;
  }
  if (first_above->has_value()) return exact((*first_above)->target.value);
  // Nothing of ours on the target at all.
  if (x.value == 0 || x.value <= position) return exact(high);
  return miss;
}

absl::StatusOr<Translation> ReverseTranslator::Translate(const TargetPartition& remote,
                                                         int64_t committed) {
  const Translation miss{Translation::Kind::kMiss, TargetOffset(), false};
  if (committed < 0) return absl::InvalidArgumentError("cannot translate a negative offset");
  auto bounds = index_.GetBounds(remote);
  if (!bounds.ok()) return bounds.status();
  const int64_t y = std::min(committed, bounds->high.value);
  // The last replicated record below y: the greatest t whose [t, y) still holds one.
  int64_t lo = bounds->low.value;
  int64_t hi = y;
  std::optional<IndexEntry> last;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    auto e = index_.NextOurs(remote, TargetOffset(mid), TargetOffset(y));
    if (!e.ok()) return e.status();
    if (e->has_value()) {
      last = **e;
      lo = (*e)->target.value + 1;
    } else {
      hi = mid;
    }
  }
  if (last) return Translation{Translation::Kind::kExact, TargetOffset(last->source.value + 1)};
  auto first = index_.NextOurs(remote, TargetOffset(y), bounds->high);
  if (!first.ok()) return first.status();
  if (!first->has_value()) return miss;
  return Translation{Translation::Kind::kExact, TargetOffset((*first)->source.value)};
}

}  // namespace kmirror::offsets
