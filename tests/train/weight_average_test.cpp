// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <vector>

#include "fragua/train/optim.h"

namespace fragua::train {
namespace {

TEST(WeightAverage, WritesTheMeanOfTheSnapshots) {
  WeightAverage avg(3);
  std::vector<float> p = {7, 8, 9};
  avg.write_mean(p);  // nothing added yet: the weights stay
  EXPECT_EQ(p, (std::vector<float>{7, 8, 9}));
  avg.add(std::vector<float>{1, 2, 3});
  avg.add(std::vector<float>{3, 2, 1});
  avg.add(std::vector<float>{2, 2, 2.5f});
  EXPECT_EQ(avg.count(), 3u);
  avg.write_mean(p);
  EXPECT_EQ(p[0], 2.0f);
  EXPECT_EQ(p[1], 2.0f);
  EXPECT_EQ(p[2], static_cast<float>(6.5 / 3));  // one rounding of the exact mean
}

TEST(WeightAverage, SumsInDoubleSoSmallSnapshotsAreNotLost) {
  // The mean of 1 and 1000 copies of the next float after 1 (1 + 2^-23) is 1 + 0.999 * 2^-23,
  // which rounds to 1 + 2^-23. Summed in float, each copy's 2^-23 is lost once the sum passes 2,
  // the sum is 1001 and the mean exactly 1.
  WeightAverage avg(1);
  avg.add(std::vector<float>{1.0f});
  const float tiny = 1.0f + 1.0f / (1 << 23);  // the next float after 1
  for (int i = 0; i < 1000; ++i) avg.add(std::vector<float>{tiny});
  std::vector<float> p = {0};
  avg.write_mean(p);
  EXPECT_EQ(p[0], static_cast<float>((1.0 + 1000.0 * static_cast<double>(tiny)) / 1001.0));
  EXPECT_GT(p[0], 1.0f);
}

}  // namespace
}  // namespace fragua::train
