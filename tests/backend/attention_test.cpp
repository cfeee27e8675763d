// SPDX-License-Identifier: Apache-2.0
// Attention over the f16 KV cache: the one-pass kernel (generation steps, short batches) on every
// SIMD level against its scalar definition and against double-precision softmax attention, and
// the backend's two regimes against the plain reference.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/kernels.h"
#include "fragua/backend/backend.h"
#include "fragua/tensor/half.h"
#include "test_util.h"

namespace fragua {
namespace {

std::vector<uint16_t> random_f16(size_t n, float sd, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<uint16_t> v(n);
  for (auto& x : v) x = fp32_to_fp16(nd(rng));
  return v;
}

std::vector<float> random_f32(size_t n, float sd, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = nd(rng);
  return v;
}

// softmax(scale * q16 . k) . v in double, from the same f16 values.
std::vector<double> attend_double(const float* q, const uint16_t* k, const uint16_t* v, int64_t stride, int64_t n,
                                  int64_t hd, float scale) {
  std::vector<double> s(static_cast<size_t>(n)), out(static_cast<size_t>(hd), 0.0);
  double mx = -INFINITY, sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    double d = 0;
    for (int64_t i = 0; i < hd; ++i) d += double(fp16_to_fp32(fp32_to_fp16(q[i]))) * fp16_to_fp32(k[j * stride + i]);
    s[static_cast<size_t>(j)] = d * scale;
    mx = std::max(mx, d * scale);
  }
  for (auto& x : s) sum += (x = std::exp(x - mx));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t i = 0; i < hd; ++i)
      out[static_cast<size_t>(i)] += s[static_cast<size_t>(j)] / sum * fp16_to_fp32(v[j * stride + i]);
  return out;
}

struct LevelGuard {
  std::string saved = cpu::simd_level();
  ~LevelGuard() { cpu::set_simd_level(saved); }
};

TEST(AttendF16, EveryLevelIsBitIdenticalAndCloseToDoubleSoftmax) {
  LevelGuard guard;
  std::mt19937 rng(11);
  for (int64_t hd : {40, 48, 64, 128}) {  // 40: the generic path; the others: register kernels
    for (int64_t n : {1, 5, 16, 37, 300}) {
      const int64_t stride = 2 * hd + 8;  // rows of a wider cache (several heads)
      auto k = random_f16(static_cast<size_t>(n * stride), 1.0f, rng);
      auto v = random_f16(static_cast<size_t>(n * stride), 1.0f, rng);
      auto q = random_f32(static_cast<size_t>(hd), 1.0f, rng);
      const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
      cpu::set_simd_level("scalar");
      std::vector<float> want(static_cast<size_t>(hd));
      cpu::attend_f16(q.data(), k.data(), v.data(), stride, n, hd, scale, want.data());
      for (const char* level : {"avx2", "avx512"}) {
        if (!cpu::simd_supported(level)) continue;
        cpu::set_simd_level(level);
        std::vector<float> got(static_cast<size_t>(hd));
        cpu::attend_f16(q.data(), k.data(), v.data(), stride, n, hd, scale, got.data());
        for (int64_t i = 0; i < hd; ++i)
          ASSERT_EQ(got[static_cast<size_t>(i)], want[static_cast<size_t>(i)])
              << level << " hd " << hd << " n " << n << " i " << i;
      }
      // The f16 accumulator costs about 2^-11 relative per update, on values of order 1.
      const auto exact = attend_double(q.data(), k.data(), v.data(), stride, n, hd, scale);
      for (int64_t i = 0; i < hd; ++i)
        EXPECT_NEAR(want[static_cast<size_t>(i)], exact[static_cast<size_t>(i)], 4e-3) << "hd " << hd << " n " << n;
    }
  }
}

TEST(AttendF16, KnownCases) {
  std::mt19937 rng(5);
  const int64_t hd = 64;
  auto q = random_f32(hd, 1.0f, rng);
  auto v = random_f16(4 * hd, 1.0f, rng);
  std::vector<uint16_t> k(4 * hd, fp32_to_fp16(0.25f));  // equal keys: equal weights
  std::vector<float> out(hd);
  // One key: the output is that value row exactly.
  cpu::attend_f16(q.data(), k.data(), v.data(), hd, 1, hd, 0.125f, out.data());
  for (int64_t i = 0; i < hd; ++i) EXPECT_EQ(out[static_cast<size_t>(i)], fp16_to_fp32(v[static_cast<size_t>(i)]));
  // Four equal keys: the mean of the four value rows.
  cpu::attend_f16(q.data(), k.data(), v.data(), hd, 4, hd, 0.125f, out.data());
  for (int64_t i = 0; i < hd; ++i) {
    double mean = 0;
    for (int j = 0; j < 4; ++j) mean += fp16_to_fp32(v[static_cast<size_t>(j * hd + i)]) / 4.0;
    EXPECT_NEAR(out[static_cast<size_t>(i)], mean, 2e-3);
  }
  // A key far above the others takes all the weight.
  k.assign(4 * hd, 0);
  for (int64_t i = 0; i < hd; ++i)
    k[static_cast<size_t>(2 * hd + i)] = fp32_to_fp16(q[static_cast<size_t>(i)] > 0 ? 4.0f : -4.0f);
  cpu::attend_f16(q.data(), k.data(), v.data(), hd, 4, hd, 1.0f, out.data());
  for (int64_t i = 0; i < hd; ++i)
    EXPECT_EQ(out[static_cast<size_t>(i)], fp16_to_fp32(v[static_cast<size_t>(2 * hd + i)]));
}

// Both regimes of the backend (one pass below kAttentionBatch query tokens, f32 products at or
// above it), with GQA and a cache that already holds earlier positions, on 1 and 2 threads.
TEST(Attention, BackendMatchesReferenceInBothRegimes) {
  std::mt19937 rng(3);
  const int64_t n_head = 4, n_head_kv = 2, hd = 64, past = 20;
  for (int64_t n_tokens : {int64_t{1}, int64_t{7}, backend::kAttentionBatch + 9}) {
    const int64_t n_kv = past + n_tokens;
    auto q = random_f32(static_cast<size_t>(n_tokens * n_head * hd), 1.0f, rng);
    auto k = random_f16(static_cast<size_t>(n_kv * n_head_kv * hd), 1.0f, rng);
    auto v = random_f16(static_cast<size_t>(n_kv * n_head_kv * hd), 1.0f, rng);
    std::vector<int32_t> pos(static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) pos[static_cast<size_t>(t)] = static_cast<int32_t>(past + t);
    backend::AttentionArgs a;
    a.q = q.data();
    a.k = k.data();
    a.v = v.data();
    a.pos = pos.data();
    a.n_tokens = n_tokens;
    a.n_head = n_head;
    a.n_head_kv = n_head_kv;
    a.head_dim = hd;
    a.n_kv = n_kv;
    a.scale = 0.125f;
    std::vector<float> want(q.size());
    a.out = want.data();
    backend::ref::attention(a);
    const double tol = n_tokens < backend::kAttentionBatch ? 4e-3 : 1e-5;
    std::vector<float> first;
    for (int threads : {1, 2}) {
      auto be = backend::make_cpu_backend(threads);
      std::vector<float> got(q.size());
      a.out = got.data();
      be->attention(a);
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], tol) << "tokens " << n_tokens << " threads " << threads << " at " << i;
      if (threads == 1)
        first = got;
      else
        EXPECT_EQ(got, first) << "threads change the result";
    }
  }
}

// The polynomial exp of the prompt-batch softmax against libm, over the range a softmax sees
// (x - max <= 0) and a little above.
TEST(ExpPoly, WithinTwoUlpsOfLibm) {
  double worst = 0;
  for (float x = -87.0f; x <= 2.0f; x += 0.0137f) {
    const double want = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(cpu::exp_poly_scalar(x) - want) / want);
  }
  EXPECT_LT(worst, 2.4e-7);
  EXPECT_GT(worst, 0.0);
  EXPECT_LE(cpu::exp_poly_scalar(-1000.0f), 1.3e-38f);  // clamped: negligible next to a softmax sum >= 1
  EXPECT_EQ(cpu::exp_poly_scalar(0.0f), 1.0f);
}

// Scores (keys in lanes) and softmax rows on every level against the scalar kernels, with
// ragged causal lengths; entries past each row's keys are zero.
TEST(BatchAttentionKernels, EveryLevelMatchesScalar) {
  LevelGuard guard;
  std::mt19937 rng(9);
  const int64_t hd = 64, n = 45, kts = 48;
  auto q = random_f32(8 * hd, 1.0f, rng);
  auto kt = random_f32(static_cast<size_t>(hd * kts), 1.0f, rng);
  for (int64_t d = 0; d < hd; ++d)
    for (int64_t j = n; j < kts; ++j) kt[static_cast<size_t>(d * kts + j)] = 0.0f;  // the padding contract
  const int64_t seen[8] = {38, 39, 40, 41, 42, 43, 44, 45};
  cpu::set_simd_level("scalar");
  std::vector<float> want(8 * kts, 0.0f);
  cpu::attn_scores(hd, q.data(), hd, 8, kt.data(), kts, n, 0.125f, want.data(), kts);
  cpu::softmax_rows(want.data(), kts, 8, seen, n);
  for (int i = 0; i < 8; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < n; ++j) sum += want[static_cast<size_t>(i * kts + j)];
    EXPECT_NEAR(sum, 1.0, 1e-5);
    for (int64_t j = seen[i]; j < n; ++j) EXPECT_EQ(want[static_cast<size_t>(i * kts + j)], 0.0f);
  }
  for (const char* level : {"avx2", "avx512"}) {
    if (!cpu::simd_supported(level)) continue;
    cpu::set_simd_level(level);
    std::vector<float> got(8 * kts, 0.0f);
    cpu::attn_scores(hd, q.data(), hd, 8, kt.data(), kts, n, 0.125f, got.data(), kts);
    cpu::softmax_rows(got.data(), kts, 8, seen, n);
    for (int i = 0; i < 8; ++i)
      for (int64_t j = 0; j < n; ++j)
        ASSERT_NEAR(got[static_cast<size_t>(i * kts + j)], want[static_cast<size_t>(i * kts + j)], 1e-6) << level;
  }
}

// SwiGLU with llama.cpp's vector exp: within a few ulps of silu(g) * u in double, the same bits on
// every level, saturating like expf at the ends.
TEST(Swiglu, CloseToDoubleAndIdenticalOnEveryLevel) {
  LevelGuard guard;
  std::mt19937 rng(21);
  std::vector<float> g = random_f32(1003, 4.0f, rng), u = random_f32(1003, 1.0f, rng);
  g[0] = 95.0f;   // exp(-95): far below the smallest float
  g[1] = -95.0f;  // exp(95): overflows; silu is -0
  g[2] = 0.0f;
  cpu::set_simd_level("scalar");
  std::vector<float> want(g.size());
  cpu::swiglu(g.data(), u.data(), static_cast<int64_t>(g.size()), want.data());
  for (size_t i = 0; i < g.size(); ++i) {
    const double ref = g[i] / (1.0 + std::exp(-static_cast<double>(g[i]))) * u[i];
    EXPECT_NEAR(want[i], ref, 4e-7 * std::fabs(ref) + 1e-30) << "g " << g[i];
  }
  for (const char* level : {"avx2", "avx512"}) {
    if (!cpu::simd_supported(level)) continue;
    cpu::set_simd_level(level);
    std::vector<float> got(g.size());
    cpu::swiglu(g.data(), u.data(), static_cast<int64_t>(g.size()), got.data());
    for (size_t i = 0; i < g.size(); ++i) ASSERT_EQ(got[i], want[i]) << level << " at " << i << " g " << g[i];
  }
}

TEST(Attention, ToF16RoundsToNearestEven) {
  auto be = backend::make_cpu_backend(1);
  std::vector<float> x = {1.0f, 1.0f + 1.0f / 2048, 1.0f + 3.0f / 2048, 65504.0f, -2.5e-8f, 0.1f, 3.14159f, -7.0f,
                          1e-3f};
  std::vector<uint16_t> y(x.size());
  be->to_f16(x.data(), static_cast<int64_t>(x.size()), y.data());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(y[i], fp32_to_fp16(x[i])) << i;
  EXPECT_EQ(y[1], 0x3C00);  // half an ulp above 1: a tie, to the even neighbour 1.0
  EXPECT_EQ(y[2], 0x3C02);  // 1.5 ulps above 1: a tie between mantissas 1 and 2, to 2
}

}  // namespace
}  // namespace fragua
