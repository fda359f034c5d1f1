#include "tests/support/two_clusters.h"

#include <chrono>

namespace kmirror::testing {

void TwoClusterTest::SetUp() {
  auto sp = SandboxProcess::Start({"A:3", "B:3"});
  ASSERT_TRUE(sp.ok()) << sp.status();
  sb_ = std::move(sp).value();
}

void TwoClusterTest::Write(const std::string& cluster,
                           const std::vector<kafka::ProduceRecord>& records) {
  if (records.empty()) return;
  auto p = kafka::Producer::Create(
      kafka::Properties{{"bootstrap.servers", sb_->Bootstrap(cluster)}},
      [](const kafka::DeliveryReport& dr) { ASSERT_TRUE(dr.status.ok()) << dr.status; });
  ASSERT_TRUE(p.ok()) << p.status();
  for (const auto& r : records) ASSERT_TRUE((*p)->Produce(r).ok());
  ASSERT_TRUE((*p)->Flush(std::chrono::seconds(20)).ok());
}

void TwoClusterTest::Produce(const std::string& cluster, const std::string& topic,
                             int32_t partition, int n, const std::string& prefix) {
  std::vector<kafka::ProduceRecord> records;
  for (int i = 0; i < n; ++i) {
    kafka::ProduceRecord r;
    r.topic = topic;
    r.partition = partition;
    r.key = prefix + "k" + std::to_string(i);
    r.value = prefix + std::to_string(i);
    records.push_back(std::move(r));
  }
  Write(cluster, records);
}

std::unique_ptr<kafka::AdminClient> TwoClusterTest::Admin(const std::string& cluster) {
  auto a =
      kafka::AdminClient::Create(kafka::Properties{{"bootstrap.servers", sb_->Bootstrap(cluster)}});
  EXPECT_TRUE(a.ok()) << a.status();
  return std::move(a).value();
}

int64_t TwoClusterTest::End(const std::string& cluster, const std::string& topic,
                            int32_t partition) {
  auto wm = Admin(cluster)->QueryWatermarks(topic, partition, std::chrono::seconds(5));
  return wm.ok() ? wm->high : -1;
}

int64_t TwoClusterTest::Committed(const std::string& cluster, const std::string& group,
                                  const std::string& topic, int32_t partition) {
  auto offsets = Admin(cluster)->ListConsumerGroupOffsets(
      group, std::vector<kafka::TopicPartition>{{topic, partition}});
  if (!offsets.ok() || offsets->empty()) return -1;
  return (*offsets)[0].offset;
}

}  // namespace kmirror::testing
