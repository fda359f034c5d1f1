#include "lib/common/status.h"

#include "gtest/gtest.h"

namespace kmirror::common {
namespace {

absl::StatusOr<int> Half(int v) {
  if (v % 2 != 0) return absl::InvalidArgumentError("odd");
  return v / 2;
}

absl::StatusOr<int> Quarter(int v) {
  KM_ASSIGN_OR_RETURN(int half, Half(v));
  KM_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, AssignOrReturnPropagatesFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusTest, AnnotateKeepsCodeAndPayload) {
  absl::Status s = absl::UnavailableError("broker down");
  s.SetPayload("kmirror/test", absl::Cord("x"));
  absl::Status a = Annotate(s, "produce to orders-3");
  EXPECT_EQ(a.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(a.message(), "produce to orders-3: broker down");
  EXPECT_TRUE(a.GetPayload("kmirror/test").has_value());
  EXPECT_TRUE(Annotate(absl::OkStatus(), "x").ok());
}

TEST(StatusDeathTest, CheckAborts) { EXPECT_DEATH(KM_CHECK(1 == 2), "CHECK failed"); }

}  // namespace
}  // namespace kmirror::common
