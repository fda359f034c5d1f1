#include "lib/offsets/kafka_io.h"

#include "gtest/gtest.h"

namespace kmirror::offsets {
namespace {

TEST(ReadStartTest, ContinuesWhereItStoppedAndRereadsALogThatStartedAgain) {
  EXPECT_EQ(ReadStart(0, 0, 10), 0);
  EXPECT_EQ(ReadStart(7, 0, 10), 7);
  EXPECT_EQ(ReadStart(10, 0, 10), 10);  // caught up
  EXPECT_EQ(ReadStart(3, 5, 10), 5);    // retention removed what was not read yet
  // The state topic deleted and created again: 500 were read, the new log holds 2.
  EXPECT_EQ(ReadStart(500, 0, 2), 0);
  EXPECT_EQ(ReadStart(500, 1, 2), 1);
}

}  // namespace
}  // namespace kmirror::offsets
