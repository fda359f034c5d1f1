// The part of librdkafka's statistics (statistics.interval.ms, a JSON document per interval) that
// operators watch: queue depth, per-broker round trip, connection state and error counters, and
// the consumer's fetch queue and group rebalances. See librdkafka's STATISTICS.md for the fields.
//
// Counters are cumulative since the client started, as librdkafka reports them.
// Thread-safety: plain values; ParseStats is reentrant.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kmirror::kafka {

struct BrokerStats {
  int32_t node_id = -1;
  std::string name;               // "host:port/id"
  bool up = false;                // state "UP"
  int64_t outbuf_requests = 0;    // requests waiting to be sent
  int64_t waitresp_requests = 0;  // requests sent, waiting for a response
  double rtt_avg_s = 0;           // broker round trip over the last interval
  double rtt_p99_s = 0;
  int64_t tx_errors = 0;
  int64_t rx_errors = 0;
  int64_t request_timeouts = 0;
  int64_t disconnects = 0;
};

struct ClientStats {
  std::string name;                  // "rdkafka#producer-1"
  std::string type;                  // "producer" | "consumer"
  int64_t queue_messages = 0;        // producer: msg_cnt; consumer: records in the fetch queues
  int64_t queue_bytes = 0;           // producer: msg_size; consumer: fetch queue bytes
  int64_t rebalances = 0;            // consumer group rebalances (cgrp.rebalance_cnt)
  std::vector<BrokerStats> brokers;  // real brokers only (no bootstrap or logical entries)
};

// Receives each statistics document, parsed, on the thread that polls the client.
using StatsCallback = std::function<void(const ClientStats&)>;

// kInvalidArgument when `json` is not a librdkafka statistics document.
absl::StatusOr<ClientStats> ParseStats(std::string_view json);

}  // namespace kmirror::kafka
