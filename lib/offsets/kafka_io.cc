#include "lib/offsets/kafka_io.h"

#include <utility>

#include "lib/common/logging.h"
#include "lib/common/status.h"

namespace kmirror::offsets {

namespace {
constexpr std::chrono::milliseconds kTimeout(30000);
constexpr std::chrono::milliseconds kPoll(200);

kafka::Properties ReaderProperties(kafka::Properties p, const char* group) {
  p.Set("enable.auto.commit", "false");
  p.Set("enable.partition.eof", "true");
  p.Set("auto.offset.reset", "earliest");
  if (!p.Contains("group.id")) p.Set("group.id", group);
  return p;
}
}  // namespace

Clock SystemClock() {
  return [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

// ---- KafkaRecordWriter ----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaRecordWriter>> KafkaRecordWriter::Create(
    kafka::Properties properties) {
  properties.Set("acks", "all");
  std::unique_ptr<KafkaRecordWriter> w(new KafkaRecordWriter());
  KafkaRecordWriter* raw = w.get();
  auto producer = kafka::Producer::Create(
      properties, [raw](const kafka::DeliveryReport& r) { raw->results_.push_back(r.status); });
  if (!producer.ok()) return producer.status();
  w->producer_ = std::move(producer).value();
  return w;
}

absl::Status KafkaRecordWriter::Write(const std::string& topic, int32_t partition,
                                      const std::vector<KeyValue>& records) {
  results_.clear();
  size_t accepted = 0;
  absl::Status status = absl::OkStatus();
  for (const KeyValue& kv : records) {
    kafka::ProduceRecord r;
    r.topic = topic;
    r.partition = partition;
    r.key = kv.key;
    r.value = kv.value;
    absl::Status s = producer_->Produce(r);
    while (s.code() == absl::StatusCode::kUnavailable) {  // local queue full
      producer_->Poll(std::chrono::milliseconds(50));
      s = producer_->Produce(r);
    }
    if (!s.ok()) {
      status = s;
      break;
    }
    ++accepted;
  }
  absl::Status flushed = producer_->Flush(kTimeout);
  if (!status.ok()) return status;
  if (!flushed.ok()) return flushed;
  if (results_.size() != accepted) {
    return absl::UnavailableError("missing delivery reports for " + topic);
  }
  for (const absl::Status& s : results_) {
    if (!s.ok()) return common::Annotate(s, "writing to " + topic);
  }
  return absl::OkStatus();
}

// ---- KafkaTopicReader -----------------------------------------------------------------------

int64_t ReadStart(int64_t next, int64_t low, int64_t high) {
  if (next > high) return low;  // a new log: nothing read before bounds it
  return std::max(next, low);
}

absl::StatusOr<std::unique_ptr<KafkaTopicReader>> KafkaTopicReader::Create(
    kafka::Properties properties) {
  std::unique_ptr<KafkaTopicReader> r(new KafkaTopicReader());
  r->properties_ = ReaderProperties(std::move(properties), "kmirror-offsets-reader");
  auto consumer = kafka::Consumer::Create(r->properties_);
  if (!consumer.ok()) return consumer.status();
  r->consumer_ = std::move(consumer).value();
  return r;
}

absl::StatusOr<std::vector<KeyValue>> KafkaTopicReader::ReadFrom(const std::string& topic,
                                                                 int64_t from, int64_t& end) {
  std::vector<KeyValue> out;
  auto wm = consumer_->QueryWatermarks(topic, 0, kTimeout);
  if (!wm.ok()) {
    // The leader may have moved and this client does not refresh its metadata on that error:
    // a fresh client asks the new leader on the next call.
    if (auto fresh = kafka::Consumer::Create(properties_); fresh.ok())
      consumer_ = std::move(*fresh);
    return wm.status();
  }
  end = wm->high;
  const int64_t asked = from;
  from = ReadStart(from, wm->low, wm->high);
  if (from < asked) {
    common::Logger("offsets")->warn(
        "msg=\"topic ends below what was read of it (deleted and created again, or truncated); "
        "reading it again from its start\" topic={} read_up_to={} end={}",
        topic, asked, wm->high);
  }
  if (from >= wm->high) return out;
  KM_RETURN_IF_ERROR(consumer_->Assign({{topic, 0, from}}));
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  int64_t next = from;
  absl::Status status = absl::OkStatus();
  while (next < wm->high) {
    if (std::chrono::steady_clock::now() > deadline) {
      status = absl::UnavailableError("timed out reading " + topic);
      break;
    }
    auto batch = consumer_->ConsumeBatch(kPoll, 10000);
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (kafka::Message& m : *batch) {
      if (m.is_partition_eof()) {
        next = std::max(next, m.offset());
        if (m.offset() >= wm->high) next = wm->high;
        continue;
      }
      if (!m.ok()) {
        status = m.status();
        break;
      }
      if (m.offset() < next) continue;
      next = m.offset() + 1;
      if (m.offset() >= wm->high) continue;
      auto k = m.key();
      auto v = m.value();
      if (k && v) out.push_back({std::string(*k), std::string(*v)});
    }
    if (!status.ok()) break;
  }
  (void)consumer_->Unassign();
  if (!status.ok()) return status;
  return out;
}

absl::StatusOr<std::vector<KeyValue>> KafkaTopicReader::ReadAll(const std::string& topic) {
  int64_t end = 0;
  return ReadFrom(topic, 0, end);
}

absl::StatusOr<std::vector<KeyValue>> KafkaTopicReader::ReadNew(const std::string& topic) {
  int64_t end = 0;
  auto it = next_.find(topic);
  auto records = ReadFrom(topic, it == next_.end() ? 0 : it->second, end);
  if (records.ok()) next_[topic] = end;
  return records;
}

// ---- KafkaTopicAdmin ------------------------------------------------------------------------

absl::Status KafkaTopicAdmin::EnsureTopic(const std::string& topic, bool compacted) {
  auto t = kafka::InternalTopic(admin_, topic, compacted, settings_);
  if (!t.ok()) return t.status();
  auto res = admin_.CreateTopics({*t}, kTimeout);
  if (!res.ok()) return res.status();
  if (res->empty()) return absl::InternalError("CreateTopics returned no result for " + topic);
  const absl::Status& s = (*res)[0].status;
  if (s.ok() || s.code() == absl::StatusCode::kAlreadyExists) return absl::OkStatus();
  return s;
}

absl::StatusOr<std::vector<std::string>> KafkaTopicAdmin::ListTopics() {
  auto md = admin_.Metadata(std::nullopt, kTimeout);
  if (!md.ok()) return md.status();
  std::vector<std::string> out;
  for (const auto& t : md->topics) {
    if (t.status.ok()) out.push_back(t.name);
  }
  return out;
}

// ---- KafkaGroupAdmin ------------------------------------------------------------------------

absl::StatusOr<std::vector<std::string>> KafkaGroupAdmin::ListGroups() {
  auto res = admin_.ListConsumerGroups(kTimeout);
  if (!res.ok()) return res.status();
  if (res->groups.empty() && !res->errors.empty()) return res->errors.front();
  std::vector<std::string> out;
  for (const auto& g : res->groups) out.push_back(g.group_id);
  return out;
}

absl::StatusOr<GroupInfo> KafkaGroupAdmin::DescribeGroup(const std::string& group) {
  auto res = admin_.DescribeConsumerGroups({group}, kTimeout);
  if (!res.ok()) return res.status();
  GroupInfo info;
  info.group = group;
  info.state = kafka::GroupState::kDead;
  if (res->empty()) return info;
  const kafka::GroupDescription& d = res->front();
  if (!d.status.ok()) {
    // An unknown group is as good as an empty one; anything else is an error.
    if (d.status.code() == absl::StatusCode::kNotFound) return info;
    return d.status;
  }
  info.state = d.state;
  info.members = static_cast<int32_t>(d.members.size());
  return info;
}

absl::StatusOr<std::vector<CommittedOffset>> KafkaGroupAdmin::Committed(const std::string& group) {
  auto res = admin_.ListConsumerGroupOffsets(group, std::nullopt, kTimeout);
  if (!res.ok()) return res.status();
  std::vector<CommittedOffset> out;
  for (const auto& tpo : *res) {
    if (!tpo.status.ok() || tpo.offset < 0) continue;
    out.push_back(CommittedOffset{tpo.topic, tpo.partition, tpo.offset, tpo.metadata});
  }
  return out;
}

absl::Status KafkaGroupAdmin::Commit(const std::string& group,
                                     const std::vector<CommittedOffset>& offsets) {
  std::vector<kafka::TopicPartitionOffset> request;
  for (const CommittedOffset& c : offsets) {
    request.emplace_back(c.topic, c.partition, c.offset, c.metadata);
  }
  auto res = admin_.AlterConsumerGroupOffsets(group, request, kTimeout);
  if (!res.ok()) return res.status();
  for (const auto& tpo : *res) {
    if (!tpo.status.ok()) return common::Annotate(tpo.status, "committing for group " + group);
  }
  return absl::OkStatus();
}

// ---- KafkaTargetIndex -----------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<KafkaTargetIndex>> KafkaTargetIndex::Create(
    kafka::Properties properties, Options options) {
  if (!options.decode) return absl::InvalidArgumentError("KafkaTargetIndex needs a decoder");
  std::unique_ptr<KafkaTargetIndex> index(new KafkaTargetIndex(std::move(options)));
  properties = ReaderProperties(std::move(properties), "kmirror-offsets-index");
  // Probes want one small batch, not megabytes of prefetch.
  if (!properties.Contains("max.partition.fetch.bytes")) {
    properties.Set("max.partition.fetch.bytes", "65536");
  }
  auto consumer = kafka::Consumer::Create(properties);
  if (!consumer.ok()) return consumer.status();
  index->consumer_ = std::move(consumer).value();
  return index;
}

absl::StatusOr<TargetIndex::Bounds> KafkaTargetIndex::GetBounds(const TargetPartition& partition) {
  auto wm = consumer_->QueryWatermarks(partition.topic, partition.partition, options_.timeout);
  if (!wm.ok()) return wm.status();
  return Bounds{TargetOffset(wm->low), TargetOffset(wm->high)};
}

absl::StatusOr<std::optional<IndexEntry>> KafkaTargetIndex::NextOurs(
    const TargetPartition& partition, TargetOffset from, TargetOffset limit) {
  if (from >= limit) return std::optional<IndexEntry>();
  KM_RETURN_IF_ERROR(consumer_->Assign({{partition.topic, partition.partition, from.value}}));
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  std::optional<IndexEntry> found;
  absl::Status status = absl::OkStatus();
  bool done = false;
  while (!done) {
    if (std::chrono::steady_clock::now() > deadline) {
      status = absl::UnavailableError("timed out reading " + partition.ToString());
      break;
    }
    auto batch = consumer_->ConsumeBatch(kPoll, 500);
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    for (kafka::Message& m : *batch) {
      if (m.topic() != partition.topic || m.partition() != partition.partition) continue;
      if (m.is_partition_eof()) {
        if (m.offset() >= from.value) done = true;
        if (done) break;
        continue;
      }
      if (!m.ok()) {
        status = m.status();
        done = true;
        break;
      }
      if (m.offset() < from.value) continue;  // stale prefetch from an earlier probe
      if (m.offset() >= limit.value) {
        done = true;
        break;
      }
      ++records_read_;
      auto header = m.header(options_.header);
      if (!header || !*header) continue;
      auto prov = options_.decode(**header);
      if (!prov || prov->source_alias != options_.source_alias) continue;
      found = IndexEntry{TargetOffset(m.offset()), prov->offset};
      done = true;
      break;
    }
  }
  (void)consumer_->Unassign();
  if (!status.ok()) return status;
  return found;
}

}  // namespace kmirror::offsets
