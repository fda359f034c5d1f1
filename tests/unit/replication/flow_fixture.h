// The Flow unit-test fixture: fake source, sink and tail, a manual clock, and helpers.
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/replication/flow.h"
#include "tests/unit/replication/fakes.h"

namespace kmirror::replication {

using testing::FakeSink;
using testing::FakeSource;
using testing::FakeTail;
using testing::StoredRecord;

inline const SourcePartition kP0{"orders", 0};
inline const SourcePartition kP1{"orders", 1};
inline const TargetPartition kT0{"A.orders", 0};
inline const TargetPartition kT1{"A.orders", 1};

inline StoredRecord Rec(int i) {
  StoredRecord r;
  r.key = "k" + std::to_string(i);
  r.value = "v" + std::to_string(i);
  r.headers = {{"h", "x"}};
  r.timestamp_ms = 1000 + i;
  return r;
}

inline std::optional<Provenance> ProvenanceOf(const StoredRecord& r) {
  for (const auto& [n, v] : r.headers) {
    if (n == kProvenanceHeader && v) return DecodeProvenance(*v);
  }
  return std::nullopt;
}

class FlowTest : public ::testing::Test {
 protected:
  FlowOptions Options() {
    FlowOptions o;
    o.name = "A->B";
    o.source_alias = "A";
    o.target_alias = "B";
    o.remote_topic = [](const std::string& t) { return "A." + t; };
    o.max_in_flight_bytes = 1 << 20;
    o.now_ms = [this] { return now_; };
    return o;
  }
  std::unique_ptr<Flow> NewFlow(FlowOptions o) {
    auto f = std::make_unique<Flow>(std::move(o), &source_, &sink_, &tail_, nullptr);
    f->Start();
    return f;
  }
  void Run(Flow& f, int turns = 5) {
    for (int i = 0; i < turns; ++i) {
      now_ += 10;
      f.RunOnce(std::chrono::milliseconds(0));
    }
  }

  // The source offsets the target partition holds, in order (from the provenance headers).
  std::vector<int64_t> Offsets(const TargetPartition& t) {
    std::vector<int64_t> out;
    for (const auto& r : sink_.logs[t]) {
      auto p = ProvenanceOf(r);
      out.push_back(p ? p->offset.value : -1);
    }
    return out;
  }
  static std::vector<int64_t> Range(int64_t from, int64_t to) {
    std::vector<int64_t> out;
    for (int64_t i = from; i < to; ++i) out.push_back(i);
    return out;
  }
  // The status after the next housekeeping (it is published once a second).
  FlowStatus Settled(Flow& f) {
    now_ += 1000;
    f.RunOnce(std::chrono::milliseconds(0));
    return f.Status();
  }
  const PartitionStatus* StatusOf(const FlowStatus& st, const SourcePartition& p) {
    for (const auto& ps : st.partitions) {
      if (ps.source == p) return &ps;
    }
    return nullptr;
  }

  int64_t now_ = 1'000'000;
  FakeSource source_;
  FakeSink sink_;
  FakeTail tail_{&sink_};
};

}  // namespace kmirror::replication
