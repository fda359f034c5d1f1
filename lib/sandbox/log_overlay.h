// What the sandbox adds to the mock's partition logs: Kafka's transaction semantics and records
// deleted the way compaction does.
//
// librdkafka's mock coordinates transactions (InitProducerId, AddPartitionsToTxn, EndTxn) but
// writes no control batches, reports every fetched record as stable and lists no aborted
// transaction. The front-end keeps, per partition, the open transactions (producer id -> first
// offset) and the aborted ones with the offset of the marker it wrote into the mock's log at
// EndTxn (see Handlers). A Fetch response is then rewritten as a broker would
// send it: last stable offset, aborted transactions for read_committed readers, nothing at or
// past the first undecided transactional batch, and deleted records left out of their batches.
//
// Not thread-safe: guarded by ClusterState::mu like the rest of the cluster's state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace kmirror::sandbox {

using PartitionKey = std::pair<std::string, int32_t>;  // (topic, partition)

struct AbortedTxn {
  int64_t producer_id = -1;
  int64_t first_offset = -1;
  int64_t marker_offset = -1;
};

struct PartitionOverlay {
  struct Open {
    int64_t first_offset = -1;  // -1 until the first batch's produce response arrives
    int16_t epoch = -1;
    int in_flight = 0;  // produce requests with a batch of it, not answered yet
  };
  std::map<int64_t, Open> open;                         // by producer id
  std::vector<AbortedTxn> aborted;                      // in marker order
  std::set<int64_t> markers;                            // offsets of control batches
  std::set<int64_t> deleted;                            // records removed as by compaction
  std::vector<std::pair<int64_t, int64_t>> compressed;  // [first, last] of compressed batches

  // The first offset a read_committed reader may not see yet: the first offset of the oldest open
  // transaction whose first offset is known, else `high`.
  int64_t LastStable(int64_t high) const;
  // True when a transactional batch of `producer_id` at `base_offset` belongs to a transaction
  // that is not decided yet (open, or its first batch not acknowledged yet).
  bool Undecided(int64_t producer_id, int64_t base_offset) const;
  // Aborted transactions a reader of [from, to] needs to know: those whose marker is at or after
  // `from` and that started at or before `to`.
  std::vector<AbortedTxn> AbortedOverlapping(int64_t from, int64_t to) const;
};

class LogOverlay {
 public:
  bool empty() const { return partitions_.empty(); }
  const PartitionOverlay* Find(const PartitionKey& tp) const;

  // A produce request carrying a transactional batch of (producer_id, epoch) for `tp`.
  void TransactionalSent(const PartitionKey& tp, const std::string& transactional_id,
                         int64_t producer_id, int16_t epoch);
  // Its response: the batch's base offset, or nullopt when it was not appended.
  void TransactionalDone(const PartitionKey& tp, int64_t producer_id,
                         std::optional<int64_t> base_offset);

  // Partitions where `producer_id` has a transaction open.
  std::vector<PartitionKey> OpenPartitions(int64_t producer_id) const;
  // The control batch ending `producer_id`'s transaction on `tp` was appended at `offset`.
  void MarkerWritten(const PartitionKey& tp, int64_t producer_id, bool commit, int64_t offset);
  // The producer last seen for a transactional id: (producer id, epoch).
  std::optional<std::pair<int64_t, int16_t>> ProducerOf(const std::string& transactional_id) const;
  void SetProducer(const std::string& transactional_id, int64_t producer_id, int16_t epoch);
  // A newer producer (id or epoch) took `transactional_id` since (producer_id, epoch): that one
  // is fenced and may write or end nothing more.
  bool Fenced(const std::string& transactional_id, int64_t producer_id, int16_t epoch) const;

  // Removes records the way compaction does; the caller checked that each is a record of an
  // uncompressed batch (Cluster::DeleteRecords reads them from the mock).
  void Delete(const PartitionKey& tp, const std::vector<int64_t>& offsets);

 private:
  std::map<PartitionKey, PartitionOverlay> partitions_;
  std::map<std::string, std::pair<int64_t, int16_t>> producers_;  // by transactional id
};

}  // namespace kmirror::sandbox
