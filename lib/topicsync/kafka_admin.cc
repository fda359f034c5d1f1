#include "lib/topicsync/kafka_admin.h"

#include <chrono>
#include <optional>
#include <utility>

#include "lib/kafka/consumer.h"
#include "lib/kafka/producer.h"
#include "nlohmann/json.hpp"

namespace kmirror::topicsync {

namespace {
constexpr std::chrono::seconds kTimeout(30);

absl::Status FirstStatus(const absl::StatusOr<std::vector<kafka::TopicResult>>& res,
                         const std::string& topic) {
  if (!res.ok()) return res.status();
  if (res->empty()) return absl::InternalError("no result for " + topic);
  return res->front().status;
}
}  // namespace

absl::StatusOr<std::unique_ptr<KafkaSyncAdmin>> KafkaSyncAdmin::Create(
    const kafka::Properties& source, const kafka::Properties& target) {
  std::unique_ptr<KafkaSyncAdmin> admin(new KafkaSyncAdmin());
  auto s = kafka::AdminClient::Create(source);
  if (!s.ok()) return s.status();
  auto t = kafka::AdminClient::Create(target);
  if (!t.ok()) return t.status();
  admin->source_ = std::move(s).value();
  admin->target_ = std::move(t).value();
  return admin;
}

absl::StatusOr<std::vector<TopicInfo>> KafkaSyncAdmin::ListTopics(Side side) {
  auto md = On(side).Metadata(std::nullopt, std::chrono::seconds(15));
  if (!md.ok()) return md.status();
  std::vector<TopicInfo> out;
  for (const auto& t : md->topics) {
    if (t.status.ok()) out.push_back(TopicInfo{t.name, static_cast<int32_t>(t.partitions.size())});
  }
  return out;
}

absl::StatusOr<int> KafkaSyncAdmin::BrokerCount(Side side) {
  auto md = On(side).Metadata(std::vector<std::string>{}, std::chrono::seconds(15));
  if (!md.ok()) return md.status();
  return static_cast<int>(md->brokers.size());
}

absl::StatusOr<std::vector<kafka::ResourceConfigs>> KafkaSyncAdmin::DescribeTopicConfigs(
    Side side, const std::vector<std::string>& topics) {
  std::vector<kafka::ConfigResource> resources;
  for (const auto& t : topics) resources.push_back({kafka::ConfigResourceType::kTopic, t});
  return On(side).DescribeConfigs(resources, kTimeout);
}

absl::Status KafkaSyncAdmin::CreateTopic(const kafka::NewTopic& topic) {
  return FirstStatus(target_->CreateTopics({topic}, kTimeout), topic.name);
}

absl::Status KafkaSyncAdmin::CreatePartitions(const std::string& topic, int32_t new_total) {
  return FirstStatus(target_->CreatePartitions({kafka::NewPartitions{topic, new_total}}, kTimeout),
                     topic);
}

absl::Status KafkaSyncAdmin::AlterTopicConfigs(const std::string& topic,
                                               const std::map<std::string, std::string>& configs) {
  // Built step by step: GCC 12 at -O3 reports a false maybe-uninitialized for the nested
  // aggregate initializer list.
  std::vector<kafka::AlterConfigsResource> resources(1);
  resources[0].resource.type = kafka::ConfigResourceType::kTopic;
  resources[0].resource.name = topic;
  resources[0].configs = configs;
  auto res = target_->AlterConfigs(resources, kTimeout);
  if (!res.ok()) return res.status();
  if (res->empty()) return absl::InternalError("AlterConfigs: no result for " + topic);
  return res->front().status;
}

absl::StatusOr<std::vector<kafka::AclBinding>> KafkaSyncAdmin::ListAcls(Side side) {
  return On(side).DescribeAcls(kafka::AclBindingFilter{}, kTimeout);
}

absl::StatusOr<std::vector<absl::Status>> KafkaSyncAdmin::CreateAcls(
    const std::vector<kafka::AclBinding>& bindings) {
  return target_->CreateAcls(bindings, kTimeout);
}

absl::Status KafkaSyncAdmin::DeleteAcl(const kafka::AclBinding& b) {
  kafka::AclBindingFilter f;
  f.resource_type = b.resource_type;
  f.name = b.name;
  f.pattern_type = b.pattern_type;
  f.principal = b.principal;
  f.host = b.host;
  f.operation = b.operation;
  f.permission = b.permission;
  auto res = target_->DeleteAcls({f}, kTimeout);
  if (!res.ok()) return res.status();
  if (res->empty()) return absl::InternalError("DeleteAcls: no result");
  return res->front().status;
}

// ---- Ledger -----------------------------------------------------------------------------------

std::string EncodeLedger(const std::vector<kafka::AclBinding>& bindings) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& b : bindings) {
    list.push_back({{"resource_type", std::string(kafka::ToString(b.resource_type))},
                    {"name", b.name},
                    {"pattern_type", std::string(kafka::ToString(b.pattern_type))},
                    {"principal", b.principal},
                    {"host", b.host},
                    {"operation", std::string(kafka::ToString(b.operation))},
                    {"permission", std::string(kafka::ToString(b.permission))}});
  }
  return list.dump();
}

absl::StatusOr<std::vector<kafka::AclBinding>> DecodeLedger(const std::string& text) {
  auto list = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return absl::DataLossError("ACL ledger record is not a JSON array");
  std::vector<kafka::AclBinding> out;
  for (const auto& j : list) {
    auto str = [&j](const char* key) -> std::string {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    if (!j.is_object()) return absl::DataLossError("ACL ledger entry is not an object");
    auto rt = kafka::ResourceTypeFromString(str("resource_type"));
    auto pt = kafka::PatternTypeFromString(str("pattern_type"));
    auto op = kafka::AclOperationFromString(str("operation"));
    auto perm = kafka::AclPermissionFromString(str("permission"));
    if (!rt.ok() || !pt.ok() || !op.ok() || !perm.ok()) {
      return absl::DataLossError("ACL ledger entry has an unknown enum value: " + j.dump());
    }
    out.push_back(
        kafka::AclBinding{*rt, str("name"), *pt, str("principal"), str("host"), *op, *perm});
  }
  return out;
}

KafkaAclLedger::KafkaAclLedger(kafka::Properties target, std::string flow,
                               kafka::InternalTopicSettings settings)
    : target_(std::move(target)), flow_(std::move(flow)), settings_(settings) {}

absl::Status KafkaAclLedger::EnsureTopic() {
  if (topic_ready_) return absl::OkStatus();
  auto admin = kafka::AdminClient::Create(target_);
  if (!admin.ok()) return admin.status();
  auto t = kafka::InternalTopic(**admin, kAclLedgerTopic, /*compacted=*/true, settings_);
  if (!t.ok()) return t.status();
  absl::Status s = FirstStatus((*admin)->CreateTopics({*t}, kTimeout), t->name);
  if (!s.ok() && s.code() != absl::StatusCode::kAlreadyExists) return s;
  topic_ready_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<kafka::AclBinding>> KafkaAclLedger::Load() {
  if (!topic_ready_) {
    // Reading never creates the topic (a dry run must change nothing): no topic, no entries.
    auto admin = kafka::AdminClient::Create(target_);
    if (!admin.ok()) return admin.status();
    auto md = (*admin)->Metadata(std::vector<std::string>{kAclLedgerTopic}, kTimeout);
    if (!md.ok()) return md.status();
    if (md->topics.empty() || md->topics.front().status.code() == absl::StatusCode::kNotFound) {
      return std::vector<kafka::AclBinding>{};
    }
    if (!md->topics.front().status.ok()) return md->topics.front().status;
    topic_ready_ = true;
  }
  kafka::Properties p = target_;
  p.Set("group.id", "kmirror.acl-ledger." + flow_);
  p.Set("enable.auto.commit", "false");
  p.Set("enable.partition.eof", "true");
  auto consumer = kafka::Consumer::Create(p);
  if (!consumer.ok()) return consumer.status();
  if (absl::Status s = (*consumer)->Assign({{kAclLedgerTopic, 0, kafka::kOffsetBeginning}});
      !s.ok()) {
    return s;
  }
  std::optional<std::string> last;  // this flow's newest record; nullopt after a tombstone
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  bool at_end = false;
  while (!at_end) {
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::UnavailableError("ACL ledger topic did not answer within 30 s");
    }
    auto batch = (*consumer)->ConsumeBatch(std::chrono::milliseconds(200), 1000);
    if (!batch.ok()) return batch.status();
    for (kafka::Message& m : *batch) {
      if (m.is_partition_eof()) {
        at_end = true;
        break;
      }
      if (!m.ok()) return m.status();
      if (m.key() != std::optional<std::string_view>(flow_)) continue;
      last = m.value() ? std::optional<std::string>(std::string(*m.value())) : std::nullopt;
    }
  }
  (void)(*consumer)->Close();
  if (!last) return std::vector<kafka::AclBinding>{};
  return DecodeLedger(*last);
}

absl::Status KafkaAclLedger::Store(const std::vector<kafka::AclBinding>& owned) {
  if (absl::Status s = EnsureTopic(); !s.ok()) return s;
  kafka::Properties p = target_;
  p.Set("enable.idempotence", "true");
  p.Set("acks", "all");
  absl::Status delivered = absl::UnavailableError("ACL ledger record was not acknowledged");
  auto producer = kafka::Producer::Create(
      p, [&delivered](const kafka::DeliveryReport& r) { delivered = r.status; });
  if (!producer.ok()) return producer.status();
  kafka::ProduceRecord r;
  r.topic = kAclLedgerTopic;
  r.partition = 0;
  r.key = flow_;
  r.value = EncodeLedger(owned);
  if (absl::Status s = (*producer)->Produce(r); !s.ok()) return s;
  if (absl::Status s = (*producer)->Flush(kTimeout); !s.ok()) return s;
  return delivered;
}

}  // namespace kmirror::topicsync
