// SPDX-License-Identifier: Apache-2.0
// The BF16 mixed-precision GEMM (src/train/kernels/matmul_bf16.cpp): rounding to BF16, and the
// product in the three operand layouts of the linear layer (forward, input gradient, weight
// gradient) against float64 sums, at sizes with tails in every blocked dimension (rows past the
// 6-row kernel, columns past a 32-column panel, K past a 256 block and odd).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "fragua/train/kernels.h"

namespace fragua::train {
namespace {

TEST(Bf16Gemm, RoundsToNearestEven) {
  auto bits = [](uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return kernels::f32_to_bf16(f);
  };
  EXPECT_EQ(bits(0x3f800000u), 0x3f80);  // 1.0 exactly
  EXPECT_EQ(bits(0x3f808000u), 0x3f80);  // halfway, even below: down
  EXPECT_EQ(bits(0x3f818000u), 0x3f82);  // halfway, odd below: up
  EXPECT_EQ(bits(0x3f808001u), 0x3f81);  // above halfway: up
  EXPECT_EQ(bits(0xbf80ffffu), 0xbf81);  // negative, rounds in magnitude
  EXPECT_EQ(bits(0x7f7fffffu), 0x7f80);  // largest float rounds to infinity
  EXPECT_TRUE(std::isnan(kernels::bf16_to_f32(bits(0x7f800001u))));  // a NaN whose top half is infinity
  EXPECT_EQ(kernels::bf16_to_f32(0x4049), 3.140625f);
}

struct Bf16Layout {
  size_t a_rs, a_cs, b_rs, b_cs;
};

// C = (accumulate ? C0 : 0) + A B through gemm_bf16, against float64 sums of the BF16-rounded
// inputs (only F32 summation error may remain) and of the exact inputs (BF16's 2^-9 relative
// rounding of each input bounds that one).
void check_bf16_gemm(int M, int N, int K, bool transposed_a, bool transposed_b, bool accumulate, int threads) {
  std::mt19937 rng(static_cast<uint32_t>(M * 131 + N * 7 + K));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(M) * K), b(static_cast<size_t>(K) * N), c(static_cast<size_t>(M) * N);
  for (auto& x : a) x = nd(rng);
  for (auto& x : b) x = nd(rng);
  for (auto& x : c) x = nd(rng);
  const std::vector<float> c0 = c;
  const Bf16Layout l{transposed_a ? 1u : static_cast<size_t>(K), transposed_a ? static_cast<size_t>(M) : 1u,
                     transposed_b ? 1u : static_cast<size_t>(N), transposed_b ? static_cast<size_t>(K) : 1u};
  ThreadPool pool(threads);
  KernelOptions opts{&pool};
  kernels::gemm_bf16(c.data(), N, a.data(), l.a_rs, l.a_cs, b.data(), l.b_rs, l.b_cs, M, N, K, accumulate, opts);
  auto round = [](float x) { return static_cast<double>(kernels::bf16_to_f32(kernels::f32_to_bf16(x))); };
  double worst_rounded = 0, worst_exact = 0;
  for (int m = 0; m < M; ++m)
    for (int n = 0; n < N; ++n) {
      double rounded = accumulate ? c0[static_cast<size_t>(m) * N + n] : 0.0, exact = rounded, mag = 0;
      for (int k = 0; k < K; ++k) {
        const float x = a[m * l.a_rs + k * l.a_cs], y = b[k * l.b_rs + n * l.b_cs];
        rounded += round(x) * round(y);
        exact += static_cast<double>(x) * y;
        mag += std::abs(static_cast<double>(x) * y);
      }
      const double got = c[static_cast<size_t>(m) * N + n];
      worst_rounded = std::max(worst_rounded, std::abs(got - rounded) / (mag + 1));
      worst_exact = std::max(worst_exact, std::abs(got - exact) / (mag + 1));
    }
  EXPECT_LE(worst_rounded, 1e-6) << M << "x" << N << "x" << K;
  EXPECT_LE(worst_exact, 2.0 / 256) << M << "x" << N << "x" << K;
  EXPECT_GT(worst_exact, 1e-5) << "the inputs were not rounded to BF16";
}

TEST(Bf16Gemm, ForwardLayoutMatchesFloat64) {
  check_bf16_gemm(13, 45, 37, false, true, false, 2);
  check_bf16_gemm(20, 40, 521, false, true, false, 2);
}
TEST(Bf16Gemm, InputGradientLayoutAccumulates) { check_bf16_gemm(100, 70, 301, false, false, true, 3); }
TEST(Bf16Gemm, WeightGradientLayoutAccumulates) { check_bf16_gemm(33, 64, 515, true, false, true, 1); }

TEST(Bf16Gemm, ResultDoesNotDependOnTheThreadCount) {
  const int M = 200, N = 40, K = 300;
  std::vector<float> a(static_cast<size_t>(M) * K), b(static_cast<size_t>(K) * N);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (auto& x : a) x = nd(rng);
  for (auto& x : b) x = nd(rng);
  std::vector<std::vector<float>> out;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    KernelOptions opts{&pool};
    out.emplace_back(static_cast<size_t>(M) * N);
    kernels::gemm_bf16(out.back().data(), N, a.data(), K, 1, b.data(), N, 1, M, N, K, false, opts);
  }
  EXPECT_EQ(out[0], out[1]);
  EXPECT_EQ(out[0], out[2]);
}

}  // namespace
}  // namespace fragua::train
