// Handlers for Kafka's transaction semantics and compaction-like deletions over the mock's logs
// (see log_overlay.h). Requests are parsed on the way to the mock, responses rewritten on the way
// back. Produce is observed only when it carries a transactional batch, Fetch and
// ListOffsets only for partitions that have an overlay, so plain traffic is relayed untouched.
#include <chrono>

#include "lib/common/logging.h"
#include "lib/sandbox/handlers.h"
#include "lib/sandbox/records.h"
#include "lib/sandbox/wire.h"

namespace kmirror::sandbox {
namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const FetchedPartition* FindFetched(const Observation& o, const std::string& topic,
                                    int32_t partition) {
  for (const FetchedPartition& f : o.fetched) {
    if (f.tp.second == partition && f.tp.first == topic) return &f;
  }
  return nullptr;
}

}  // namespace

std::optional<Observation> Handlers::ObserveLogRequest(WireReader& r, Observation o) {
  const int16_t v = o.api_version;
  switch (o.api_key) {
    case api::kProduce: {
      if (v >= 3) o.transactional_id = r.NullableString().value_or("");
      if (o.transactional_id.empty()) return std::nullopt;  // no transactional batch in it
      r.Int16();                                            // acks
      r.Int32();                                            // timeout
      const int32_t nt = r.ArrayLength(6);
      for (int32_t t = 0; t < nt && r.ok(); ++t) {
        const std::string topic = r.String();
        const int32_t np = r.ArrayLength(8);
        for (int32_t p = 0; p < np && r.ok(); ++p) {
          const int32_t partition = r.Int32();
          const int32_t size = r.Int32();  // records: viewed in place, never copied
          const std::string_view records =
              r.rest().substr(0, size > 0 ? static_cast<size_t>(size) : 0);
          if (size > 0) r.Skip(static_cast<size_t>(size));
          auto first = ParseBatchHeader(records);
          if (!first || !first->transactional() || first->control()) continue;
          o.produced.push_back(
              ProducedBatch{{topic, partition}, first->producer_id, first->producer_epoch});
        }
      }
      if (!r.ok() || o.produced.empty()) return std::nullopt;
      std::lock_guard<std::mutex> lock(state_->mu);
      for (const ProducedBatch& b : o.produced) {
        state_->logs().TransactionalSent(b.tp, o.transactional_id, b.producer_id, b.producer_epoch);
      }
      return o;
    }
    case api::kFetch:
    case api::kListOffsets: {
      const bool fetch = o.api_key == api::kFetch;
      r.Int32();  // replica id
      if (fetch) {
        r.Int32();              // max wait
        r.Int32();              // min bytes
        if (v >= 3) r.Int32();  // max bytes
      }
      if ((fetch && v >= 4) || (!fetch && v >= 2)) o.read_committed = r.Int8() == 1;
      if (fetch && v >= 7) {
        r.Int32();  // session id
        r.Int32();  // session epoch
      }
      std::lock_guard<std::mutex> lock(state_->mu);
      if (state_->logs().empty()) return std::nullopt;
      const int32_t nt = r.ArrayLength(6);
      for (int32_t t = 0; t < nt && r.ok(); ++t) {
        const std::string topic = r.String();
        const int32_t np = r.ArrayLength(4);
        for (int32_t p = 0; p < np && r.ok(); ++p) {
          FetchedPartition f;
          f.tp = {topic, r.Int32()};
          if ((fetch && v >= 9) || (!fetch && v >= 4)) r.Int32();  // current leader epoch
          f.fetch_offset = r.Int64();                              // ListOffsets: timestamp
          if (fetch) {
            if (v >= 5) r.Int64();  // log start offset
            r.Int32();              // partition max bytes
          } else if (v == 0) {
            r.Int32();  // max offsets
          }
          // ListOffsets: only "latest" of a read_committed reader differs (the LSO).
          const bool wanted = fetch || (o.read_committed && f.fetch_offset == -1);
          if (wanted && r.ok() && state_->logs().Find(f.tp) != nullptr) {
            o.fetched.push_back(std::move(f));
          }
        }
      }
      if (!r.ok() || o.fetched.empty() || (!fetch && v < 2)) return std::nullopt;
      return o;
    }
    case api::kEndTxn:
      o.transactional_id = r.String();
      o.producer_id = r.Int64();
      o.producer_epoch = r.Int16();
      o.commit = r.Bool();
      if (!r.ok()) return std::nullopt;
      return o;
    case api::kInitProducerId:
      if (v >= 2) {
        r.SkipTaggedFields();  // request header
        o.transactional_id = r.CompactNullableString().value_or("");
      } else {
        o.transactional_id = r.NullableString().value_or("");
      }
      if (!r.ok() || o.transactional_id.empty()) return std::nullopt;
      return o;
    default:
      return std::nullopt;
  }
}

ResponseEdit Handlers::ObserveLogResponse(const Observation& o, std::string_view body) {
  std::lock_guard<std::mutex> lock(state_->mu);
  switch (o.api_key) {
    case api::kProduce:
      return ProduceDone(o, body);
    case api::kEndTxn:
      return EndTxnDone(o, body);
    case api::kInitProducerId:
      return InitProducerIdDone(o, body);
    case api::kFetch:
      return FetchDone(o, body);
    case api::kListOffsets:
      return ListOffsetsDone(o, body);
    default:
      return {};
  }
}

ResponseEdit Handlers::ProduceDone(const Observation& o, std::string_view body) {
  WireReader r(body);
  const int16_t v = o.api_version;
  const int32_t nt = r.ArrayLength(6);
  for (int32_t t = 0; t < nt && r.ok(); ++t) {
    const std::string topic = r.String();
    const int32_t np = r.ArrayLength(14);
    for (int32_t p = 0; p < np && r.ok(); ++p) {
      const int32_t partition = r.Int32();
      const int16_t error = r.Int16();
      const int64_t base_offset = r.Int64();
      if (v >= 2) r.Int64();  // log append time
      if (v >= 5) r.Int64();  // log start offset
      if (!r.ok()) break;
      for (const ProducedBatch& b : o.produced) {
        if (b.tp.second != partition || b.tp.first != topic) continue;
        const bool appended = error == err::kNone && base_offset >= 0;
        state_->logs().TransactionalDone(
            b.tp, b.producer_id, appended ? std::optional<int64_t>(base_offset) : std::nullopt);
      }
    }
  }
  // A batch that was in flight when its producer was fenced opens a transaction nobody will end
  // (the fenced producer's EndTxn is refused): abort it now, as Kafka's coordinator does.
  for (const ProducedBatch& b : o.produced) {
    if (state_->logs().Fenced(o.transactional_id, b.producer_id, b.producer_epoch)) {
      EndTransactions(b.producer_id, b.producer_epoch, /*commit=*/false);
    }
  }
  return {};
}

bool Handlers::EndTransactions(int64_t producer_id, int16_t epoch, bool commit) {
  bool all = true;
  for (const PartitionKey& tp : state_->logs().OpenPartitions(producer_id)) {
    const TopicInfo* t = state_->Topic(tp.first);
    const int32_t leader = t != nullptr && tp.second < t->partitions() ? t->leaders[tp.second] : -1;
    auto offset = state_->backend().Append(tp.first, tp.second, leader,
                                           ControlBatch(producer_id, epoch, commit, WallMs()));
    if (!offset.ok()) {
      common::Logger("sandbox")->warn(
          "msg=\"transaction marker not written; the transaction stays open\" partition={}:{} "
          "producer_id={} error=\"{}\"",
          tp.first, tp.second, producer_id, offset.status().message());
      all = false;
      continue;
    }
    state_->logs().MarkerWritten(tp, producer_id, commit, *offset);
  }
  return all;
}

// EndTxn v0-1: throttle, error. A marker that cannot be written yet turns the answer into
// CONCURRENT_TRANSACTIONS, which clients retry: the next EndTxn writes what is missing.
ResponseEdit Handlers::EndTxnDone(const Observation& o, std::string_view body) {
  WireReader r(body);
  const int32_t throttle = r.Int32();
  const int16_t error = r.Int16();
  if (!r.ok() || error != err::kNone) return {};
  // A fenced producer (a newer InitProducerId of its transactional id) ends nothing.
  if (state_->logs().Fenced(o.transactional_id, o.producer_id, o.producer_epoch)) {
    WireWriter w;
    w.Int32(throttle);
    w.Int16(err::kInvalidProducerEpoch);
    return {w.Take(), false};
  }
  if (EndTransactions(o.producer_id, o.producer_epoch, o.commit)) return {};
  WireWriter w;
  w.Int32(throttle);
  w.Int16(err::kConcurrentTransactions);
  return {w.Take(), false};
}

// InitProducerId: a new producer (or epoch) for a transactional id fences the previous one, and
// the coordinator aborts whatever transaction it left open.
ResponseEdit Handlers::InitProducerIdDone(const Observation& o, std::string_view body) {
  WireReader r(body);
  if (o.api_version >= 2) r.SkipTaggedFields();  // response header
  r.Int32();                                     // throttle
  const int16_t error = r.Int16();
  const int64_t producer_id = r.Int64();
  const int16_t epoch = r.Int16();
  if (!r.ok() || error != err::kNone) return {};
  LogOverlay& logs = state_->logs();
  if (auto previous = logs.ProducerOf(o.transactional_id);
      previous && *previous != std::make_pair(producer_id, epoch)) {
    EndTransactions(previous->first, previous->first == producer_id ? epoch : previous->second,
                    /*commit=*/false);
  }
  logs.SetProducer(o.transactional_id, producer_id, epoch);
  return {};
}

// Fetch v0-11 (not flexible). Per partition with an overlay: the last stable offset; for
// read_committed readers nothing at or past it and the aborted transactions of the range; deleted
// records left out of their batches.
ResponseEdit Handlers::FetchDone(const Observation& o, std::string_view body) {
  const int16_t v = o.api_version;
  WireReader r(body);
  WireWriter w;
  if (v >= 1) w.Int32(r.Int32());  // throttle
  if (v >= 7) {
    w.Int16(r.Int16());  // error
    w.Int32(r.Int32());  // session id
  }
  bool held_back = false;
  bool any_data = false;
  const int32_t nt = r.ArrayLength(6);
  w.Int32(nt);
  for (int32_t t = 0; t < nt && r.ok(); ++t) {
    const std::string topic = r.String();
    w.String(topic);
    const int32_t np = r.ArrayLength(18);
    w.Int32(np);
    for (int32_t p = 0; p < np && r.ok(); ++p) {
      const int32_t partition = r.Int32();
      const int16_t error = r.Int16();
      const int64_t high = r.Int64();
      int64_t lso = v >= 4 ? r.Int64() : high;
      const int64_t log_start = v >= 5 ? r.Int64() : -1;
      std::vector<AbortedTxn> aborted;
      if (v >= 4) {
        const int32_t na = r.ArrayLength(16);
        for (int32_t a = 0; a < na && r.ok(); ++a) {
          AbortedTxn x;
          x.producer_id = r.Int64();
          x.first_offset = r.Int64();
          aborted.push_back(x);
        }
      }
      const int32_t preferred = v >= 11 ? r.Int32() : -1;
      std::string records = r.Bytes().value_or("");
      const FetchedPartition* f = FindFetched(o, topic, partition);
      const PartitionOverlay* overlay =
          f != nullptr ? state_->logs().Find({topic, partition}) : nullptr;
      if (overlay != nullptr && error == err::kNone) {
        lso = overlay->LastStable(high);
        Batches split = SplitBatches(records);
        std::string out;
        int64_t last_returned = -1;
        bool truncated = false;
        for (std::string_view batch : split.batches) {
          auto hdr = ParseBatchHeader(batch);
          if (hdr && hdr->transactional() && !hdr->control() &&
              overlay->Undecided(hdr->producer_id, hdr->base_offset)) {
            lso = std::min(lso, hdr->base_offset);
          }
          if (o.read_committed && hdr && hdr->base_offset >= lso) {
            truncated = true;
            break;
          }
          if (hdr) last_returned = hdr->last_offset();
          auto kept = WithoutRecords(batch, overlay->deleted);
          out += kept ? *kept : std::string(batch);
        }
        if (!truncated) out += split.rest;
        if (o.read_committed) aborted = overlay->AbortedOverlapping(f->fetch_offset, last_returned);
        held_back = held_back || (truncated && out.empty());
        records = std::move(out);
      }
      any_data = any_data || !records.empty();
      w.Int32(partition);
      w.Int16(error);
      w.Int64(high);
      if (v >= 4) w.Int64(lso);
      if (v >= 5) w.Int64(log_start);
      if (v >= 4) {
        w.Int32(static_cast<int32_t>(aborted.size()));
        for (const AbortedTxn& a : aborted) {
          w.Int64(a.producer_id);
          w.Int64(a.first_offset);
        }
      }
      if (v >= 11) w.Int32(preferred);
      w.Int32(static_cast<int32_t>(records.size()));
      w.Raw(records);
    }
  }
  if (!r.ok()) return {};  // what the front-end cannot parse goes to the client as it came
  return {w.Take(), held_back && !any_data};
}

// ListOffsets v2-5: "latest" for a read_committed reader is the last stable offset.
ResponseEdit Handlers::ListOffsetsDone(const Observation& o, std::string_view body) {
  const int16_t v = o.api_version;
  WireReader r(body);
  WireWriter w;
  w.Int32(r.Int32());  // throttle
  const int32_t nt = r.ArrayLength(6);
  w.Int32(nt);
  for (int32_t t = 0; t < nt && r.ok(); ++t) {
    const std::string topic = r.String();
    w.String(topic);
    const int32_t np = r.ArrayLength(22);
    w.Int32(np);
    for (int32_t p = 0; p < np && r.ok(); ++p) {
      const int32_t partition = r.Int32();
      const int16_t error = r.Int16();
      const int64_t timestamp = r.Int64();
      int64_t offset = r.Int64();
      const int32_t leader_epoch = v >= 4 ? r.Int32() : -1;
      const PartitionOverlay* overlay = FindFetched(o, topic, partition) != nullptr
                                            ? state_->logs().Find({topic, partition})
                                            : nullptr;
      if (overlay != nullptr && error == err::kNone && offset >= 0) {
        offset = overlay->LastStable(offset);
      }
      w.Int32(partition);
      w.Int16(error);
      w.Int64(timestamp);
      w.Int64(offset);
      if (v >= 4) w.Int32(leader_epoch);
    }
  }
  if (!r.ok()) return {};
  return {w.Take(), false};
}

}  // namespace kmirror::sandbox
