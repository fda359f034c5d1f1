#include "lib/replication/client_probe.h"

#include <algorithm>

namespace kmirror::replication {

ClientProbe::ClientProbe(prometheus::Registry& registry, std::string flow)
    : flow_(std::move(flow)),
      queue_messages_(prometheus::BuildGauge()
                          .Name("kmirror_client_queue_messages")
                          .Help("Records waiting in a librdkafka client: the producer's send "
                                "queue, the consumer's fetch queues")
                          .Register(registry)),
      queue_bytes_(prometheus::BuildGauge()
                       .Name("kmirror_client_queue_bytes")
                       .Help("Bytes of the records counted by kmirror_client_queue_messages")
                       .Register(registry)),
      rebalances_(prometheus::BuildCounter()
                      .Name("kmirror_client_rebalances_total")
                      .Help("Consumer group rebalances seen by the source consumer")
                      .Register(registry)),
      broker_up_(prometheus::BuildGauge()
                     .Name("kmirror_client_broker_up")
                     .Help("1 while the client's connection to the broker is up")
                     .Register(registry)),
      broker_rtt_(prometheus::BuildGauge()
                      .Name("kmirror_client_broker_rtt_seconds")
                      .Help("Request round trip to the broker over the last statistics "
                            "interval (stat: avg, p99)")
                      .Register(registry)),
      broker_requests_(prometheus::BuildGauge()
                           .Name("kmirror_client_broker_requests")
                           .Help("Requests to the broker waiting to be sent (state=queued) or "
                                 "sent and awaiting a response (state=awaiting_response)")
                           .Register(registry)),
      broker_errors_(prometheus::BuildCounter()
                         .Name("kmirror_client_broker_errors_total")
                         .Help("Transmit errors, receive errors, request timeouts and "
                               "disconnects towards the broker")
                         .Register(registry)) {}

kafka::StatsCallback ClientProbe::For(std::string role) {
  return [this, role = std::move(role)](const kafka::ClientStats& stats) { Record(role, stats); };
}

ClientProbe::BrokerSeries& ClientProbe::Broker(ClientSeries& client, const std::string& role,
                                               int32_t node) {
  auto it = client.brokers.find(node);
  if (it != client.brokers.end()) return it->second;
  const std::map<std::string, std::string> labels{
      {"flow", flow_}, {"role", role}, {"broker", std::to_string(node)}};
  auto with = [&labels](const char* key, const char* value) {
    auto l = labels;
    l[key] = value;
    return l;
  };
  BrokerSeries b;
  b.up = &broker_up_.Add(labels);
  b.rtt_avg = &broker_rtt_.Add(with("stat", "avg"));
  b.rtt_p99 = &broker_rtt_.Add(with("stat", "p99"));
  b.queued = &broker_requests_.Add(with("state", "queued"));
  b.awaiting = &broker_requests_.Add(with("state", "awaiting_response"));
  for (const char* kind : {"tx", "rx", "timeout", "disconnect"}) {
    b.errors[kind] = &broker_errors_.Add(with("kind", kind));
  }
  return client.brokers.emplace(node, std::move(b)).first->second;
}

void ClientProbe::Record(const std::string& role, const kafka::ClientStats& stats) {
  std::lock_guard<std::mutex> lock(mu_);
  ClientSeries& c = clients_[role];
  if (c.queue_messages == nullptr) {
    c.queue_messages = &queue_messages_.Add({{"flow", flow_}, {"role", role}});
    c.queue_bytes = &queue_bytes_.Add({{"flow", flow_}, {"role", role}});
    if (stats.type == "consumer") c.rebalances = &rebalances_.Add({{"flow", flow_}});
  }
  c.queue_messages->Set(static_cast<double>(stats.queue_messages));
  c.queue_bytes->Set(static_cast<double>(stats.queue_bytes));
  if (c.rebalances != nullptr && stats.rebalances > c.last_rebalances) {
    c.rebalances->Increment(static_cast<double>(stats.rebalances - c.last_rebalances));
    c.last_rebalances = stats.rebalances;
  }
  for (const kafka::BrokerStats& bs : stats.brokers) {
    BrokerSeries& b = Broker(c, role, bs.node_id);
    b.up->Set(bs.up ? 1 : 0);
    b.rtt_avg->Set(bs.rtt_avg_s);
    b.rtt_p99->Set(bs.rtt_p99_s);
    b.queued->Set(static_cast<double>(bs.outbuf_requests));
    b.awaiting->Set(static_cast<double>(bs.waitresp_requests));
    // librdkafka's counters are cumulative: add what grew since the last document. A broker
    // entry that was recreated restarts at zero; only growth is counted.
    for (auto [kind, value] : {std::pair<const char*, int64_t>{"tx", bs.tx_errors},
                               {"rx", bs.rx_errors},
                               {"timeout", bs.request_timeouts},
                               {"disconnect", bs.disconnects}}) {
      int64_t& last = b.last[kind];
      if (value > last) b.errors[kind]->Increment(static_cast<double>(value - last));
      last = value;
    }
  }
}

}  // namespace kmirror::replication
