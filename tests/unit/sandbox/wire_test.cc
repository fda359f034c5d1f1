#include "lib/sandbox/wire.h"

#include "gtest/gtest.h"

namespace kmirror::sandbox {
namespace {

TEST(WireTest, RoundTripsPrimitives) {
  WireWriter w;
  w.Int8(-3);
  w.Int16(-2);
  w.Int32(0x01020304);
  w.Int64(-1234567890123LL);
  w.String("abc");
  w.NullableString(std::nullopt);
  w.Bytes(std::string("\0x", 2));
  w.Bytes(std::nullopt);
  w.UnsignedVarint(300);
  w.CompactString("hé");
  WireReader r(w.data());
  EXPECT_EQ(r.Int8(), -3);
  EXPECT_EQ(r.Int16(), -2);
  EXPECT_EQ(r.Int32(), 0x01020304);
  EXPECT_EQ(r.Int64(), -1234567890123LL);
  EXPECT_EQ(r.String(), "abc");
  EXPECT_EQ(r.NullableString(), std::nullopt);
  EXPECT_EQ(r.Bytes(), std::string("\0x", 2));
  EXPECT_EQ(r.Bytes(), std::nullopt);
  EXPECT_EQ(r.UnsignedVarint(), 300u);
  EXPECT_EQ(r.CompactString(), "hé");
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(WireTest, BigEndianOnTheWire) {
  WireWriter w;
  w.Int32(1);
  EXPECT_EQ(w.data(), std::string("\0\0\0\1", 4));
}

TEST(WireTest, TruncatedInputFailsWithoutReadingPastTheEnd) {
  WireWriter w;
  w.Int16(10);  // claims 10 bytes of string
  w.Raw("abc");
  WireReader r(w.data());
  EXPECT_EQ(r.NullableString(), std::nullopt);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.Int32(), 0);
}

TEST(WireTest, HugeArrayCountIsRejected) {
  WireWriter w;
  w.Int32(1 << 30);
  WireReader r(w.data());
  EXPECT_EQ(r.ArrayLength(4), 0);
  EXPECT_FALSE(r.ok());
}

TEST(WireTest, PatchAndFrame) {
  WireWriter w;
  size_t at = w.ReserveInt32();
  w.Int16(7);
  w.PatchInt32(at, 42);
  WireReader r(w.data());
  EXPECT_EQ(r.Int32(), 42);
  std::string frame = ResponseFrame(9, "xy");
  WireReader f(frame);
  EXPECT_EQ(f.Int32(), 6);
  EXPECT_EQ(f.Int32(), 9);
  EXPECT_EQ(f.rest(), "xy");
}

}  // namespace
}  // namespace kmirror::sandbox
