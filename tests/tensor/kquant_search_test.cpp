// SPDX-License-Identifier: Apache-2.0
// kq::nearest_int, the inline rounding of the k-quant searches, against std::nearbyint (round to
// nearest, ties to even) on ties, signs and up to the edge of its range, |v| <= 4194303.
#include "tensor/kquant_search.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace fragua::tensor::kq {
namespace {

TEST(KquantNearestInt, RoundsAsNearbyint) {
  std::vector<float> xs = {0.0f, -0.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 0.49999997f, -0.49999997f,
                           63.5f, 64.5f, -31.5f, 4194302.5f, -4194302.5f, 4194303.0f, -4194303.0f};
  for (int i = -20000; i <= 20000; ++i) xs.push_back(static_cast<float>(i) * 0.0625f);  // every tie up to +-1250
  for (float v = 1e-3f; v < 4194303.0f; v *= 1.001f) {
    xs.push_back(v);
    xs.push_back(-v);
    xs.push_back(std::nextafter(v, 0.0f));
  }
  for (float x : xs) EXPECT_EQ(nearest_int(x), static_cast<int>(std::nearbyint(x))) << x;
}

}  // namespace
}  // namespace fragua::tensor::kq
