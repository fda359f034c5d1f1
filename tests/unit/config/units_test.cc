#include "lib/config/units.h"

#include "gtest/gtest.h"

namespace kmirror::config {
namespace {

TEST(DurationTest, ParsesUnits) {
  EXPECT_EQ(*ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(*ParseDuration("10s"), absl::Seconds(10));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("1h"), absl::Hours(1));
  EXPECT_EQ(*ParseDuration("1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("1.5s"), absl::Milliseconds(1500));
  EXPECT_EQ(*ParseDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(*DurationFromMillis(1500), absl::Milliseconds(1500));
}

TEST(DurationTest, RejectsNegativeInfiniteAndUnitless) {
  for (const char* bad : {"-1s", "inf", "10", "10x", "", "s", "ten seconds"}) {
    absl::StatusOr<absl::Duration> d = ParseDuration(bad);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(DurationFromMillis(-1).ok());
}

TEST(DurationTest, FormatsBackToParseableText) {
  for (absl::Duration d : {absl::Milliseconds(250), absl::Seconds(30), absl::Seconds(90),
                           absl::Hours(2), absl::ZeroDuration()}) {
    EXPECT_EQ(*ParseDuration(DurationToString(d)), d) << DurationToString(d);
  }
  EXPECT_EQ(DurationToString(absl::Seconds(30)), "30s");
  EXPECT_EQ(DurationToString(absl::Milliseconds(250)), "250ms");
}

TEST(ByteSizeTest, ParsesBinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseByteSize("1024"), 1024);
  EXPECT_EQ(*ParseByteSize("17B"), 17);
  EXPECT_EQ(*ParseByteSize("64KiB"), 64 * 1024);
  EXPECT_EQ(*ParseByteSize("64MiB"), 64 * 1024 * 1024);
  EXPECT_EQ(*ParseByteSize("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(*ParseByteSize("1TiB"), int64_t{1} << 40);
  EXPECT_EQ(*ParseByteSize("5KB"), 5000);
  EXPECT_EQ(*ParseByteSize("5MB"), 5000000);
  EXPECT_EQ(*ParseByteSize("5GB"), 5000000000);
  EXPECT_EQ(*ParseByteSize("64 MiB"), 64 * 1024 * 1024);
}

TEST(ByteSizeTest, RejectsBadSizes) {
  for (const char* bad :
       {"", "MiB", "-1MiB", "64mib", "1.5GiB", "64 XB", "99999999999TiB", "99999999999999999999"}) {
    EXPECT_EQ(ParseByteSize(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ByteSizeTest, FormatsWithTheLargestExactBinaryUnit) {
  EXPECT_EQ(ByteSizeToString(64 * 1024 * 1024), "64MiB");
  EXPECT_EQ(ByteSizeToString(1536), "1536B");
  EXPECT_EQ(ByteSizeToString(2048), "2KiB");
  EXPECT_EQ(ByteSizeToString(1000), "1000B");
  EXPECT_EQ(ByteSizeToString(0), "0B");
  for (int64_t n : {int64_t{1}, int64_t{1} << 30, int64_t{3} << 20, int64_t{1000}}) {
    EXPECT_EQ(*ParseByteSize(ByteSizeToString(n)), n);
  }
}

}  // namespace
}  // namespace kmirror::config
