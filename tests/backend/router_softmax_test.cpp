// SPDX-License-Identifier: Apache-2.0
// Backend::router_softmax (src/backend/cpu/router_softmax.cpp), llama.cpp's CPU softmax of a
// mixture-of-experts router: within a few f32 roundings of a double-precision softmax for rows
// made of whole 16-value blocks, a block and a tail, and a tail alone, with logits far apart.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "fragua/backend/backend.h"

namespace fragua {
namespace {

TEST(RouterSoftmax, MatchesADoubleSoftmaxOnBlocksAndTails) {
  auto be = backend::make_cpu_backend(1);
  std::mt19937 rng(5);
  std::normal_distribution<float> logit(0.0f, 4.0f);
  for (int64_t n : {32, 40, 7, 64, 1}) {
    const int64_t rows = 3;
    std::vector<float> x(static_cast<size_t>(rows * n));
    for (auto& v : x) v = logit(rng);
    x[0] = 60.0f;  // one expert far ahead: the others' exp underflow towards 0, none NaN
    std::vector<float> p = x;
    be->router_softmax(p.data(), rows, n);
    for (int64_t r = 0; r < rows; ++r) {
      const float* in = x.data() + r * n;
      double mx = in[0], sum = 0.0, psum = 0.0;
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(in[i]));
      for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(in[i]) - mx);
      for (int64_t i = 0; i < n; ++i) {
        const double ref = std::exp(static_cast<double>(in[i]) - mx) / sum;
        const float got = p[static_cast<size_t>(r * n + i)];
        // The vector exp is within about 2 ulps and the scaling adds two roundings; x - max is
        // rounded to f32 first, a relative error of up to |x - max| * 2^-24 in exp's result.
        const double d = mx - static_cast<double>(in[i]);
        EXPECT_NEAR(got, ref, (6e-7 + 1.2e-7 * d) * ref + 1e-30) << "n " << n << " row " << r << " value " << i;
        psum += got;
      }
      EXPECT_NEAR(psum, 1.0, 1e-6) << "n " << n << " row " << r;
    }
  }
}

}  // namespace
}  // namespace fragua
