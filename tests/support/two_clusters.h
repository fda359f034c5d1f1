// A test fixture with two sandbox clusters, A and B (3 brokers each), in their own process, a
// scratch directory, and the plain client calls tests make against them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "lib/kafka/admin.h"
#include "lib/kafka/producer.h"
#include "tests/support/kmirrord_process.h"

namespace kmirror::testing {

class TwoClusterTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // Writes `records` to `cluster` and waits until every one is acknowledged.
  void Write(const std::string& cluster, const std::vector<kafka::ProduceRecord>& records);
  // Writes n records to topic[partition]: keys <prefix>k<i>, values <prefix><i>.
  void Produce(const std::string& cluster, const std::string& topic, int32_t partition, int n,
               const std::string& prefix);
  std::unique_ptr<kafka::AdminClient> Admin(const std::string& cluster);
  // The end offset of topic[partition], -1 when it cannot be read.
  int64_t End(const std::string& cluster, const std::string& topic, int32_t partition);
  // The group's committed offset of topic[partition] on `cluster`, -1 when none.
  int64_t Committed(const std::string& cluster, const std::string& group, const std::string& topic,
                    int32_t partition);

  TempDir dir_;
  std::unique_ptr<SandboxProcess> sb_;
};

}  // namespace kmirror::testing
