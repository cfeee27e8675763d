#include "fragua/base/progress.h"

#include <gtest/gtest.h>

namespace fragua {
namespace {

TEST(Progress, RatesReadWellAtEveryScale) {
  EXPECT_EQ(format_rate(0.25, "step"), "4.0 s/step");
  EXPECT_EQ(format_rate(2.5, "step"), "2.5 step/s");
  EXPECT_EQ(format_rate(450, "tok"), "450 tok/s");
  EXPECT_EQ(format_rate(12345, "tok"), "12.3k tok/s");
  EXPECT_EQ(format_rate(0, "step"), "0.0 step/s");
  EXPECT_EQ(format_rate(1.5e6, "B"), "1.5 MB/s");
}

TEST(Progress, BytesAndDurations) {
  EXPECT_EQ(format_bytes(999), "999 B");
  EXPECT_EQ(format_bytes(1.5e6), "1.5 MB");
  EXPECT_EQ(format_duration(12), "12s");
  EXPECT_EQ(format_duration(185), "3m05s");
  EXPECT_EQ(format_duration(3720), "1h02m");
}

}  // namespace
}  // namespace fragua
