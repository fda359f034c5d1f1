// Prometheus view of librdkafka's own statistics for a flow's clients (the source consumer and the
// target producer): queue depth, per-broker connection state, round trip, request backlog and
// error counters, and consumer group rebalances.
//
// Label cardinality is bounded by the brokers of the two clusters. Thread-safe: Record() may be
// called from any thread (it runs inside the clients' poll calls).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "lib/kafka/stats.h"

namespace kmirror::replication {

class ClientProbe {
 public:
  ClientProbe(prometheus::Registry& registry, std::string flow);
  // `role`: "source" (the consumer) or "target" (the producer).
  void Record(const std::string& role, const kafka::ClientStats& stats);
  // A callback for kafka::Producer/Consumer::Create that records as `role`.
  kafka::StatsCallback For(std::string role);

 private:
  struct BrokerSeries {
    prometheus::Gauge* up = nullptr;
    prometheus::Gauge* rtt_avg = nullptr;
    prometheus::Gauge* rtt_p99 = nullptr;
    prometheus::Gauge* queued = nullptr;
    prometheus::Gauge* awaiting = nullptr;
    std::map<std::string, prometheus::Counter*> errors;  // by kind
    std::map<std::string, int64_t> last;                 // librdkafka's cumulative value, by kind
  };
  struct ClientSeries {
    prometheus::Gauge* queue_messages = nullptr;
    prometheus::Gauge* queue_bytes = nullptr;
    prometheus::Counter* rebalances = nullptr;
    int64_t last_rebalances = 0;
    std::map<int32_t, BrokerSeries> brokers;
  };
  BrokerSeries& Broker(ClientSeries& client, const std::string& role, int32_t node);

  const std::string flow_;
  std::mutex mu_;
  prometheus::Family<prometheus::Gauge>& queue_messages_;
  prometheus::Family<prometheus::Gauge>& queue_bytes_;
  prometheus::Family<prometheus::Counter>& rebalances_;
  prometheus::Family<prometheus::Gauge>& broker_up_;
  prometheus::Family<prometheus::Gauge>& broker_rtt_;
  prometheus::Family<prometheus::Gauge>& broker_requests_;
  prometheus::Family<prometheus::Counter>& broker_errors_;
  std::map<std::string, ClientSeries> clients_;  // by role
};

}  // namespace kmirror::replication
