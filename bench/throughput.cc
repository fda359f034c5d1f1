// Benchmark 1: how fast the sandbox lets a lone consumer read and a lone producer write the same
// records, and how close kmirrord and a naive consume-then-produce loop come to the slower of the
// two.
#include <algorithm>
#include <optional>
#include <thread>

#include "bench/bench_util.h"
#include "bench/benchmarks.h"
#include "daemon/service.h"
#include "fmt/format.h"
#include "lib/kafka/consumer.h"

namespace kmirror::bench {
namespace {

constexpr auto kStepTimeout = std::chrono::seconds(120);
constexpr auto kAdminTimeout = std::chrono::seconds(10);

// Whether any record of the topic was deleted by the sandbox's retention (low watermark > 0).
absl::Status CheckNothingDeleted(kafka::AdminClient& admin, const std::string& topic,
                                 int partitions) {
  for (int p = 0; p < partitions; ++p) {
    auto wm = admin.QueryWatermarks(topic, p, kAdminTimeout);
    if (!wm.ok()) return wm.status();
    if (wm->low != 0) {
      return absl::FailedPreconditionError(fmt::format(
          "the sandbox deleted records of {}[{}] (log start {}): the data set is too large", topic,
          p, wm->low));
    }
  }
  return absl::OkStatus();
}

absl::Status Preload(const std::string& bootstrap,
                     const std::vector<kafka::ProduceRecord>& records) {
  auto producer = CountingProducer::Create(ProducerProperties(bootstrap, "bench-preload"));
  if (!producer.ok()) return producer.status();
  for (size_t i = 0; i < records.size(); ++i) {
    if (absl::Status s = (*producer)->Send(records[i]); !s.ok()) return s;
    if (i % 1000 == 0) (*producer)->Poll();
  }
  if (absl::Status s = (*producer)->Flush(kStepTimeout); !s.ok()) return s;
  if ((*producer)->delivered() != static_cast<int64_t>(records.size())) {
    return absl::InternalError(fmt::format("pre-load: {} of {} records acknowledged",
                                           (*producer)->delivered(), records.size()));
  }
  return absl::OkStatus();
}

std::vector<kafka::TopicPartitionOffset> FromBeginning(const std::string& topic, int partitions) {
  std::vector<kafka::TopicPartitionOffset> out;
  for (int p = 0; p < partitions; ++p) out.emplace_back(topic, p, kafka::kOffsetBeginning);
  return out;
}

// (a) A consumer alone reads every record of `topic` from the beginning.
Rate ConsumeOnly(const std::string& bootstrap, const std::string& topic, int partitions,
                 int64_t records, double record_bytes) {
  Rate rate;
  const double start = MonoSeconds();
  auto consumer = kafka::Consumer::Create(ConsumerProperties(bootstrap, "bench-consume-only"));
  if (!consumer.ok()) {
    rate.error = std::string(consumer.status().message());
    return rate;
  }
  if (absl::Status s = (*consumer)->Assign(FromBeginning(topic, partitions)); !s.ok()) {
    rate.error = std::string(s.message());
    return rate;
  }
  int64_t seen = 0, first_batch = 0;
  double first_at = 0;
  while (seen < records) {
    if (MonoSeconds() - start > kStepTimeout.count()) {
      rate.error = fmt::format("timed out after {} s with {} of {} records read",
                               kStepTimeout.count(), seen, records);
      break;
    }
    auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(100), 10000);
    if (!batch.ok()) {
      rate.error = std::string(batch.status().message());
      break;
    }
    int64_t n = 0;
    for (const kafka::Message& m : *batch) n += m.ok() ? 1 : 0;
    if (n == 0) continue;
    if (seen == 0) {
      first_at = MonoSeconds();
      first_batch = n;
    }
    seen += n;
  }
  const double end = MonoSeconds();
  (void)(*consumer)->Close();
  rate.records = seen - first_batch;
  rate.seconds = end - first_at;
  rate.total_seconds = end - start;
  rate.bytes = rate.records * record_bytes;
  return rate;
}

// (b) A producer alone writes the records (already addressed to the target topic) and waits for
// every acknowledgement.
Rate ProduceOnly(const std::string& bootstrap, const std::vector<kafka::ProduceRecord>& records,
                 double record_bytes) {
  Rate rate;
  const double start = MonoSeconds();
  auto producer = CountingProducer::Create(ProducerProperties(bootstrap, "bench-produce-only"));
  if (!producer.ok()) {
    rate.error = std::string(producer.status().message());
    return rate;
  }
  const double first_at = MonoSeconds();
  for (size_t i = 0; i < records.size(); ++i) {
    if (absl::Status s = (*producer)->Send(records[i]); !s.ok()) {
      rate.error = std::string(s.message());
      return rate;
    }
    if (i % 1000 == 0) (*producer)->Poll();
  }
  absl::Status flushed = (*producer)->Flush(kStepTimeout);
  const double end = MonoSeconds();
  if (!flushed.ok() || (*producer)->delivered() != static_cast<int64_t>(records.size())) {
    rate.error = fmt::format("{} of {} records acknowledged ({})", (*producer)->delivered(),
                             records.size(), flushed.ToString());
  }
  rate.records = (*producer)->delivered();
  rate.seconds = end - first_at;
  rate.total_seconds = end - start;
  rate.bytes = rate.records * record_bytes;
  return rate;
}

// (c) kmirrord (the daemon's Service, in this process) copies the topic of `setup` to `remote`
// on B; the target's end offsets are sampled every 5 ms.
Rate Replicate(const FlowSetup& setup, const std::string& remote, int partitions, int64_t records,
               double record_bytes) {
  Rate rate;
  config::ConfigErrors errors;
  auto config = daemon::ParseConfigText(KmirrordConfig(setup), &errors);
  if (!config.ok()) {
    rate.error = "configuration rejected: " + errors.ToString();
    return rate;
  }
  auto service = daemon::Service::Create(*config);
  if (!service.ok()) {
    rate.error = std::string(service.status().message());
    return rate;
  }
  auto admin = kafka::AdminClient::Create(
      kafka::Properties{{"bootstrap.servers", setup.b_bootstrap}, {"client.id", "bench-observer"}});
  if (!admin.ok()) {
    rate.error = std::string(admin.status().message());
    return rate;
  }
  const double start = MonoSeconds();
  (void)(*service)->Start();
  int64_t first_seen = 0, last_seen = 0;
  double first_at = 0, end = 0;
  while (true) {
    auto ends = EndOffsets(**admin, remote, partitions, std::chrono::seconds(2));
    const double now = MonoSeconds();
    if (ends.ok()) {  // fails until discovery has created the remote topic
      last_seen = Sum(*ends);
      if (last_seen > 0 && first_at == 0) {
        first_at = now;
        first_seen = last_seen;
      }
      if (last_seen >= records) {
        end = now;
        break;
      }
    }
    if (now - start > kStepTimeout.count()) {
      rate.error = fmt::format("timed out after {} s with {} of {} records on the target",
                               kStepTimeout.count(), last_seen, records);
      end = now;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  (void)(*service)->Stop(std::chrono::seconds(5));
  if (rate.ok()) {
    auto final_ends = EndOffsets(**admin, remote, partitions, kAdminTimeout);
    if (final_ends.ok() && Sum(*final_ends) != records) {
      rate.error = fmt::format("target holds {} records, expected {}", Sum(*final_ends), records);
    } else if (absl::Status s = CheckNothingDeleted(**admin, remote, partitions); !s.ok()) {
      rate.error = std::string(s.message());
    }
  }
  rate.records = last_seen - first_seen;
  rate.seconds = first_at > 0 ? end - first_at : 0;
  rate.total_seconds = end - start;
  rate.bytes = rate.records * record_bytes;
  return rate;
}

kafka::ProduceRecord CopyOf(const kafka::Message& m, const std::string& topic) {
  kafka::ProduceRecord r;
  r.topic = topic;
  r.partition = m.partition();
  if (auto k = m.key()) r.key = std::string(*k);
  if (auto v = m.value()) r.value = std::string(*v);
  for (const kafka::HeaderView& h : m.headers()) {
    r.headers.push_back(
        kafka::Header{std::string(h.name),
                      h.value ? std::optional<std::string>(std::string(*h.value)) : std::nullopt});
  }
  r.timestamp_ms = m.timestamp_ms();
  return r;
}

// (d) The naive peer: poll the source, copy each record into a produce call, flush at the end.
Rate Naive(const std::string& a_bootstrap, const std::string& b_bootstrap,
           const std::string& source_topic, const std::string& target_topic, int partitions,
           int64_t records, double record_bytes) {
  Rate rate;
  const double start = MonoSeconds();
  auto consumer = kafka::Consumer::Create(ConsumerProperties(a_bootstrap, "bench-naive"));
  auto producer = CountingProducer::Create(ProducerProperties(b_bootstrap, "bench-naive"));
  if (!consumer.ok() || !producer.ok()) {
    rate.error = consumer.ok() ? producer.status().ToString() : consumer.status().ToString();
    return rate;
  }
  if (absl::Status s = (*consumer)->Assign(FromBeginning(source_topic, partitions)); !s.ok()) {
    rate.error = std::string(s.message());
    return rate;
  }
  int64_t copied = 0;
  double first_at = 0;
  while (copied < records && rate.ok()) {
    if (MonoSeconds() - start > kStepTimeout.count()) {
      rate.error = fmt::format("timed out after {} s with {} of {} records copied",
                               kStepTimeout.count(), copied, records);
      break;
    }
    auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(100), 10000);
    if (!batch.ok()) {
      rate.error = std::string(batch.status().message());
      break;
    }
    for (const kafka::Message& m : *batch) {
      if (!m.ok()) continue;
      if (first_at == 0) first_at = MonoSeconds();
      if (absl::Status s = (*producer)->Send(CopyOf(m, target_topic)); !s.ok()) {
        rate.error = std::string(s.message());
        break;
      }
      ++copied;
    }
    (*producer)->Poll();
  }
  absl::Status flushed = (*producer)->Flush(kStepTimeout);
  const double end = MonoSeconds();
  (void)(*consumer)->Close();
  if (rate.ok() && (!flushed.ok() || (*producer)->delivered() != records)) {
    rate.error = fmt::format("{} of {} records acknowledged ({})", (*producer)->delivered(),
                             records, flushed.ToString());
  }
  rate.records = (*producer)->delivered();
  rate.seconds = first_at > 0 ? end - first_at : 0;
  rate.total_seconds = end - start;
  rate.bytes = rate.records * record_bytes;
  return rate;
}

void Describe(const char* what, const Rate& r) {
  if (r.ok()) {
    Progress(fmt::format("  {:<10} {:>9.0f} records/s {:>7.1f} MB/s ({} records in {:.2f} s)", what,
                         r.records_per_second(), r.megabytes_per_second(), r.records, r.seconds));
  } else {
    Progress(fmt::format("  {:<10} FAILED: {}", what, r.error));
  }
}

}  // namespace

ThroughputResult RunThroughput(const ThroughputOptions& options) {
  ThroughputResult result;
  result.options = options;
  const Workload workload{options.partitions, options.value_bytes};
  for (int round = 0; round < options.rounds; ++round) {
    // A fresh sandbox per round: the mock keeps every copy in memory.
    auto sandbox = StartSandbox(std::max(16, options.partitions));
    if (!sandbox.ok()) {
      result.error = "sandbox: " + sandbox.status().ToString();
      return result;
    }
    sandbox::Cluster* a = (*sandbox)->cluster("A");
    sandbox::Cluster* b = (*sandbox)->cluster("B");
    auto admin_a =
        kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", a->bootstrap()}});
    if (!admin_a.ok()) {
      result.error = admin_a.status().ToString();
      return result;
    }
    const std::string topic = fmt::format("bench-{}", round);
    const std::string produce_topic = fmt::format("produce-only-{}", round);
    const std::string naive_topic = fmt::format("naive-{}", round);
    absl::Status created = a->CreateTopic(topic, options.partitions, 3);
    created.Update(b->CreateTopic(produce_topic, options.partitions, 3));
    created.Update(b->CreateTopic(naive_topic, options.partitions, 3));
    if (!created.ok()) {
      result.error = "creating topics: " + created.ToString();
      return result;
    }
    RecordFactory factory(topic, workload, 42 + round);
    std::vector<kafka::ProduceRecord> records;
    records.reserve(options.records);
    double total_bytes = 0;
    for (int64_t i = 0; i < options.records; ++i) {
      records.push_back(factory.Make(i));
      total_bytes += RecordBytes(records.back());
    }
    const double record_bytes = total_bytes / options.records;
    result.record_bytes = record_bytes;

    Progress(fmt::format("throughput round {}/{}: pre-loading {} records into A/{}", round + 1,
                         options.rounds, options.records, topic));
    absl::Status loaded = Preload(a->bootstrap(), records);
    if (loaded.ok()) loaded = CheckNothingDeleted(**admin_a, topic, options.partitions);
    if (!loaded.ok()) {
      result.error = "pre-load: " + loaded.ToString();
      return result;
    }
    for (auto& r : records) r.topic = produce_topic;

    ThroughputRound measured;
    measured.consume =
        ConsumeOnly(a->bootstrap(), topic, options.partitions, options.records, record_bytes);
    Describe("consume", measured.consume);
    measured.produce = ProduceOnly(b->bootstrap(), records, record_bytes);
    Describe("produce", measured.produce);
    records.clear();
    records.shrink_to_fit();
    FlowSetup setup;
    setup.a_bootstrap = a->bootstrap();
    setup.b_bootstrap = b->bootstrap();
    setup.topics = {topic};
    setup.group_id = "bench.kmirror." + topic;
    setup.max_in_flight = options.max_in_flight;
    measured.replicate =
        Replicate(setup, "A." + topic, options.partitions, options.records, record_bytes);
    Describe("kmirrord", measured.replicate);
    if (!options.tuned_source_kafka.empty()) {
      // The same engine with librdkafka's record-count prefetch bound, written to a second
      // remote topic (identity naming: B/<topic>).
      setup.group_id += ".c2";
      setup.replication_policy = "identity";
      setup.source_kafka = options.tuned_source_kafka;
      measured.replicate_tuned =
          Replicate(setup, topic, options.partitions, options.records, record_bytes);
      Describe("c2", measured.replicate_tuned);
    }
    measured.naive = Naive(a->bootstrap(), b->bootstrap(), topic, naive_topic, options.partitions,
                           options.records, record_bytes);
    Describe("naive", measured.naive);
    result.rounds.push_back(measured);
  }
  return result;
}

}  // namespace kmirror::bench
