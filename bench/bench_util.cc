#include "bench/bench_util.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "fmt/format.h"
#include "lib/kafka/consumer.h"
#include "lib/replication/provenance.h"

namespace kmirror::bench {

int64_t WallMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t WallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double MonoSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Progress(const std::string& line) {
  std::fprintf(stderr, "[bench] %s\n", line.c_str());
  std::fflush(stderr);
}

RecordFactory::RecordFactory(std::string topic, Workload workload, uint64_t seed)
    : topic_(std::move(topic)), workload_(workload), rng_(seed) {}

kafka::ProduceRecord RecordFactory::Make(int64_t i) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/";
  kafka::ProduceRecord r;
  r.topic = topic_;
  r.partition = static_cast<int32_t>(i % workload_.partitions);
  r.key = fmt::format("key-{:08d}", i);
  std::string value(workload_.value_bytes, ' ');
  uint64_t bits = 0;
  for (size_t k = 0; k < value.size(); ++k) {
    if (k % 10 == 0) bits = rng_();  // 6 bits per character, 10 characters per draw
    value[k] = kAlphabet[bits & 63];
    bits >>= 6;
  }
  r.value = std::move(value);
  r.headers = {{"trace-id", fmt::format("{:016x}", rng_())}, {"source", std::string("bench")}};
  return r;
}

size_t RecordBytes(const kafka::ProduceRecord& record) {
  size_t bytes = (record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0);
  for (const auto& h : record.headers) bytes += h.name.size() + (h.value ? h.value->size() : 0);
  return bytes;
}

kafka::Properties ProducerProperties(const std::string& bootstrap, const std::string& client_id) {
  return kafka::Properties{{"bootstrap.servers", bootstrap},
                           {"client.id", client_id},
                           {"acks", "all"},
                           {"enable.idempotence", "true"},
                           {"linger.ms", "5"}};
}

kafka::Properties ConsumerProperties(const std::string& bootstrap, const std::string& client_id) {
  // librdkafka 2.0.2 needs a group.id even for manual assignment; nothing is ever committed.
  return kafka::Properties{
      {"bootstrap.servers", bootstrap},      {"client.id", client_id},
      {"group.id", "bench." + client_id},    {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "false"}};
}

absl::StatusOr<std::unique_ptr<CountingProducer>> CountingProducer::Create(
    const kafka::Properties& properties) {
  std::unique_ptr<CountingProducer> p(new CountingProducer());
  CountingProducer* raw = p.get();
  auto producer = kafka::Producer::Create(properties, [raw](const kafka::DeliveryReport& dr) {
    (dr.status.ok() ? raw->delivered_ : raw->failed_).fetch_add(1);
  });
  if (!producer.ok()) return producer.status();
  p->producer_ = std::move(producer).value();
  return p;
}

absl::Status CountingProducer::Send(const kafka::ProduceRecord& record) {
  while (true) {
    absl::Status s = producer_->Produce(record);
    if (s.code() != absl::StatusCode::kUnavailable) return s;
    producer_->Poll(std::chrono::milliseconds(5));  // queue full: let deliveries drain it
  }
}

absl::StatusOr<std::vector<int64_t>> EndOffsets(kafka::AdminClient& admin, const std::string& topic,
                                                int partitions, std::chrono::milliseconds timeout) {
  std::vector<kafka::TopicPartitionOffset> query;
  for (int p = 0; p < partitions; ++p) query.emplace_back(topic, p, kafka::kOffsetEnd);
  auto result = admin.ListOffsetsForTimes(query, timeout);
  if (!result.ok()) return result.status();
  std::vector<int64_t> ends(partitions, 0);
  for (const auto& tpo : *result) {
    if (!tpo.status.ok()) return tpo.status;
    if (tpo.partition < 0 || tpo.partition >= partitions || tpo.offset < 0) {
      return absl::InternalError(
          fmt::format("unexpected end offset {} for {}[{}]", tpo.offset, topic, tpo.partition));
    }
    ends[tpo.partition] = tpo.offset;
  }
  return ends;
}

int64_t Sum(const std::vector<int64_t>& values) {
  int64_t total = 0;
  for (int64_t v : values) total += v;
  return total;
}

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::string KmirrordConfig(const FlowSetup& setup) {
  std::string topics;
  for (const auto& t : setup.topics) {
    topics += (topics.empty() ? "" : ", ") + fmt::format("\"{}\"", t);
  }
  std::string source_kafka;
  if (!setup.source_kafka.empty()) {
    source_kafka = "[flows.source_kafka]\n";
    for (const auto& [key, value] : setup.source_kafka) {
      source_kafka += fmt::format("\"{}\" = \"{}\"\n", key, value);
    }
  }
  return fmt::format(
      "[daemon]\n"
      "instance_id = \"bench\"\n"
      "log_level = \"{}\"\n"
      "drain_timeout = \"5s\"\n"
      "\n"
      "[clusters.A]\n"
      "bootstrap_servers = \"{}\"\n"
      "\n"
      "[clusters.B]\n"
      "bootstrap_servers = \"{}\"\n"
      "\n"
      "[[flows]]\n"
      "source = \"A\"\n"
      "target = \"B\"\n"
      "topics = [{}]\n"
      "group_id = \"{}\"\n"
      "replication_policy = \"{}\"\n"
      "max_in_flight_bytes = \"{}\"\n"
      "\n"
      "{}"
      "\n"
      "[metrics]\n"
      "listen = \"{}\"\n"
      "\n"
      "[control]\n"
      "socket = \"/tmp/kmirror-bench-{}/kmirrord.sock\"\n",
      setup.log_level, setup.a_bootstrap, setup.b_bootstrap, topics, setup.group_id,
      setup.replication_policy, setup.max_in_flight, source_kafka, setup.metrics_listen,
      static_cast<long>(::getpid()));
}

absl::StatusOr<std::unique_ptr<sandbox::Sandbox>> StartSandbox(int max_partitions_per_topic) {
  sandbox::ClusterOptions a;
  a.name = "A";
  a.brokers = 3;
  a.max_partitions_per_topic = max_partitions_per_topic;
  sandbox::ClusterOptions b = a;
  b.name = "B";
  return sandbox::Sandbox::Start({a, b});
}

CopyCheck VerifyCopy(const std::string& bootstrap, const std::string& topic,
                     const std::vector<int64_t>& source_ends,
                     const std::vector<int64_t>& target_ends) {
  CopyCheck check;
  const int partitions = static_cast<int>(source_ends.size());
  auto consumer = kafka::Consumer::Create(ConsumerProperties(bootstrap, "bench-verify"));
  if (!consumer.ok()) {
    check.error = consumer.status().ToString();
    return check;
  }
  std::vector<kafka::TopicPartitionOffset> assign;
  for (int p = 0; p < partitions; ++p) assign.emplace_back(topic, p, kafka::kOffsetBeginning);
  if (absl::Status s = (*consumer)->Assign(assign); !s.ok()) {
    check.error = s.ToString();
    return check;
  }
  // First target offset of each source offset per partition; -1 while not seen.
  std::vector<std::vector<int64_t>> first_copy(partitions);
  for (int p = 0; p < partitions; ++p) first_copy[p].assign(source_ends[p], -1);
  std::vector<int64_t> next(partitions, -1);  // next target offset expected per partition
  auto done = [&] {
    for (int p = 0; p < partitions; ++p) {
      if (next[p] < target_ends[p]) return false;
    }
    return true;
  };
  const double deadline = MonoSeconds() + 60;
  while (!done()) {
    if (MonoSeconds() > deadline) {
      check.error = fmt::format("read {} records of {} within 60 s", check.read, Sum(target_ends));
      return check;
    }
    auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(100), 10000);
    if (!batch.ok()) {
      check.error = batch.status().ToString();
      return check;
    }
    for (const kafka::Message& m : *batch) {
      if (!m.ok() || m.partition() < 0 || m.partition() >= partitions) continue;
      const int p = m.partition();
      if (next[p] < 0 && m.offset() > 0) {
        check.error = fmt::format(
            "{}[{}] starts at offset {}: the target's retention deleted "
            "records, so the copy cannot be verified",
            topic, p, m.offset());
        return check;
      }
      next[p] = m.offset() + 1;
      if (m.offset() >= target_ends[p]) continue;
      ++check.read;
      auto header = m.header(replication::kProvenanceHeader);
      std::optional<replication::Provenance> prov;
      if (header && *header) prov = replication::DecodeProvenance(**header);
      if (!prov || prov->offset.value < 0 || prov->offset.value >= source_ends[p]) {
        check.error = fmt::format("{}[{}] offset {} has no valid provenance for this source", topic,
                                  p, m.offset());
        return check;
      }
      int64_t& first = first_copy[p][prov->offset.value];
      if (first < 0) {
        first = m.offset();
        ++check.distinct;
      } else if (check.duplicate_examples.size() < 5) {
        check.duplicate_examples.push_back(
            fmt::format("partition {}: source offset {} at target offsets {} and {}", p,
                        prov->offset.value, first, m.offset()));
      }
    }
  }
  for (const auto& partition : first_copy) {
    check.missing += std::count(partition.begin(), partition.end(), int64_t{-1});
  }
  check.duplicates = check.read - check.distinct;
  (void)(*consumer)->Close();
  return check;
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = std::ceil(p / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = static_cast<size_t>(std::clamp(rank, 1.0, double(sorted.size()))) - 1;
  return sorted[index];
}

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace kmirror::bench
