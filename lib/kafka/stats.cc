#include "lib/kafka/stats.h"

#include <nlohmann/json.hpp>

namespace kmirror::kafka {
namespace {

using Json = nlohmann::json;

int64_t Int(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : 0;
}

double Seconds(const Json& window, const char* key) {
  return static_cast<double>(Int(window, key)) / 1e6;  // librdkafka reports microseconds
}

}  // namespace

absl::StatusOr<ClientStats> ParseStats(std::string_view json) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("type") || !doc["type"].is_string()) {
    return absl::InvalidArgumentError("not a librdkafka statistics document");
  }
  ClientStats s;
  s.name = doc.value("name", "");
  s.type = doc["type"].get<std::string>();
  if (s.type == "producer") {
    s.queue_messages = Int(doc, "msg_cnt");
    s.queue_bytes = Int(doc, "msg_size");
  }
  if (auto it = doc.find("brokers"); it != doc.end() && it->is_object()) {
    for (const auto& [key, b] : it->items()) {
      const int64_t node = Int(b, "nodeid");
      if (node < 0) continue;  // bootstrap or logical (coordinator) entries
      BrokerStats bs;
      bs.node_id = static_cast<int32_t>(node);
      bs.name = b.value("name", key);
      bs.up = b.value("state", "") == "UP";
      bs.outbuf_requests = Int(b, "outbuf_cnt");
      bs.waitresp_requests = Int(b, "waitresp_cnt");
      if (auto rtt = b.find("rtt"); rtt != b.end() && rtt->is_object()) {
        bs.rtt_avg_s = Seconds(*rtt, "avg");
        bs.rtt_p99_s = Seconds(*rtt, "p99");
      }
      bs.tx_errors = Int(b, "txerrs");
      bs.rx_errors = Int(b, "rxerrs");
      bs.request_timeouts = Int(b, "req_timeouts");
      bs.disconnects = Int(b, "disconnects");
      s.brokers.push_back(std::move(bs));
    }
  }
  if (s.type == "consumer") {
    if (auto topics = doc.find("topics"); topics != doc.end() && topics->is_object()) {
      for (const auto& [name, t] : topics->items()) {
        auto parts = t.find("partitions");
        if (parts == t.end() || !parts->is_object()) continue;
        for (const auto& [id, p] : parts->items()) {
          if (id == "-1") continue;  // the unassigned-partition placeholder
          s.queue_messages += Int(p, "fetchq_cnt");
          s.queue_bytes += Int(p, "fetchq_size");
        }
      }
    }
    if (auto cgrp = doc.find("cgrp"); cgrp != doc.end() && cgrp->is_object()) {
      s.rebalances = Int(*cgrp, "rebalance_cnt");
    }
  }
  return s;
}

}  // namespace kmirror::kafka
