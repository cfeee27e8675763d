// SPDX-License-Identifier: Apache-2.0
// cpu::matmul for every weight dtype on every SIMD level this CPU supports, against
// double-precision references computed from dequantized weights.
#include "backend/cpu/cpu_matmul.h"

#include <cmath>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"
#include "test_util.h"

namespace fragua::cpu {
namespace {

// Byte offsets of the half-precision scale fields of each block format.
std::vector<int> half_fields(DType t) {
  switch (t) {
    case DType::q4_1:
    case DType::q5_1:
    case DType::q4_k:
    case DType::q5_k:
      return {0, 2};
    case DType::q6_k:
      return {208};
    case DType::q2_k:
      return {80, 82};
    case DType::q3_k:
      return {108};
    default:
      return {0};
  }
}

// Random weights: for block formats random bytes (every bit pattern of the quants, including
// int8 -128 and extreme scales) with finite random scales; float types from Gaussian values.
std::vector<uint8_t> random_weights(DType t, int64_t m, int64_t k, std::mt19937& rng) {
  const DTypeTraits* tr = dtype_traits(t);
  std::vector<uint8_t> w(row_size(t, k) * static_cast<size_t>(m));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  if (!tr->quantized) {
    std::vector<float> f(static_cast<size_t>(m * k));
    for (auto& v : f) v = nd(rng);
    tr->from_float_ref(f.data(), w.data(), m * k);
    return w;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  for (size_t off = 0; off < w.size(); off += tr->type_size)
    for (int f : half_fields(t)) {
      const uint16_t h = fp32_to_fp16(nd(rng) * 0.01f);
      std::memcpy(&w[off + static_cast<size_t>(f)], &h, 2);
    }
  return w;
}

std::vector<float> random_x(int64_t n, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * k));
  for (auto& v : x) v = nd(rng);
  x[0] = 40.0f;  // an outlier: the activation scale of its block follows it
  if (n > 2)
    for (int64_t i = 0; i < k; ++i) x[static_cast<size_t>(2 * k + i)] = 0.0f;  // an all-zero row
  return x;
}

// The activations as the kernels see them after quantization to the activation format.
std::vector<float> seen_activations(DType wtype, const std::vector<float>& x, int64_t n, int64_t k) {
  const Act a = act_for(wtype);
  std::vector<float> out(x.size());
  std::vector<uint8_t> buf(act_row_size(a, k));
  for (int64_t r = 0; r < n; ++r) {
    const float* xr = x.data() + r * k;
    float* o = out.data() + r * k;
    if (a == Act::q8_0) {
      act_q8_0_scalar(xr, buf.data(), k);
      const Q8Row q = q8_row(buf.data(), k);
      for (int64_t i = 0; i < k; ++i) o[i] = q.d[i / 32] * q.qs[i];
    } else if (a == Act::q8_k) {
      act_q8_k_scalar(xr, buf.data(), k);
      dtype_traits(DType::q8_k)->to_float(buf.data(), o, k);
    } else if (a == Act::f16r) {
      for (int64_t i = 0; i < k; ++i) o[i] = fp16_to_fp32(fp32_to_fp16(xr[i]));
    } else if (a == Act::bf16r) {
      for (int64_t i = 0; i < k; ++i) o[i] = bf16_to_fp32(fp32_to_bf16(xr[i]));
    } else {
      std::memcpy(o, xr, static_cast<size_t>(k) * 4);
    }
  }
  return out;
}

// Bound on |dot(w, x) - dot(w, x_seen)| / (|w| |x|) from the activation rounding alone:
// per element at most amax(block) / 254 for 8-bit blocks, so |e| <= |x| sqrt(block) / 254.
double activation_bound(DType wtype) {
  switch (act_for(wtype)) {
    case Act::q8_0:
      return std::sqrt(32.0) / 254;
    case Act::q8_k:
      return std::sqrt(256.0) / 254;
    case Act::f16r:
      return 1.0 / 2048;
    case Act::bf16r:
      return 1.0 / 256;
    default:
      return 1e-6;
  }
}

struct Case {
  DType type;
  int64_t k;
};

class MatmulTest : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override { set_simd_level(default_level_); }
  std::string default_level_ = simd_level();
};

TEST_P(MatmulTest, MatchesDequantizedReferenceOnEveryLevel) {
  const auto [type, k] = GetParam();
  std::mt19937 rng(static_cast<uint32_t>(type) * 1000 + static_cast<uint32_t>(k));
  const int64_t m = 70;
  // 37 columns cross the 32-column thread tiles of quantized weights, 150 the 144-column ones of
  // float weights (asked of the float types only: the reference loop is the test's cost).
  const bool floats = type == DType::f32 || type == DType::f16 || type == DType::bf16;
  const int64_t nmax = floats ? 150 : 37;
  const auto w = random_weights(type, m, k, rng);
  const auto x = random_x(nmax, k, rng);
  // Weights as floats, and the activations as the kernels see them.
  std::vector<float> wf(static_cast<size_t>(m * k));
  const size_t ws = row_size(type, k);
  for (int64_t r = 0; r < m; ++r) dtype_traits(type)->to_float(w.data() + r * ws, wf.data() + r * k, k);
  const auto xs = seen_activations(type, x, nmax, k);
  ThreadPool pool1(1), pool3(3);
  for (const char* level : {"scalar", "avx2", "avx512"}) {
    if (!simd_supported(level)) continue;
    set_simd_level(level);
    ASSERT_STREQ(simd_level(), level);
    std::vector<int64_t> ns = {1, 2, 5, 37};
    if (floats) ns.push_back(nmax);
    for (int64_t n : ns) {
      for (ThreadPool* pool : {&pool1, &pool3}) {
        std::vector<float> y(static_cast<size_t>(n * m), std::nanf(""));
        matmul(w.data(), type, m, k, x.data(), n, y.data(), *pool);
        for (int64_t c = 0; c < n; ++c) {
          for (int64_t r = 0; r < m; ++r) {
            double ref_seen = 0, ref_true = 0, mag = 0, nw = 0, nx = 0;
            for (int64_t i = 0; i < k; ++i) {
              const double wv = wf[r * k + i], xv = x[c * k + i], sv = xs[c * k + i];
              ref_seen += wv * sv;
              ref_true += wv * xv;
              mag += std::fabs(wv * sv);
              nw += wv * wv;
              nx += xv * xv;
            }
            const double got = y[c * m + r];
            // Same quantized inputs: only f32 summation order differs.
            ASSERT_NEAR(got, ref_seen, 2e-5 * mag + 1e-6)
                << level << " " << dtype_name(type) << " k=" << k << " n=" << n << " row " << r << " col " << c
                << " threads " << pool->size();
            // Against the unquantized activations: the documented activation-rounding bound.
            ASSERT_LE(std::fabs(got - ref_true), activation_bound(type) * std::sqrt(nw * nx) + 2e-5 * mag + 1e-6)
                << level << " " << dtype_name(type) << " row " << r << " col " << c;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllTypes, MatmulTest,
    ::testing::Values(Case{DType::f32, 77}, Case{DType::f32, 512}, Case{DType::f16, 77}, Case{DType::f16, 512},
                      Case{DType::bf16, 77}, Case{DType::bf16, 512}, Case{DType::q4_0, 96}, Case{DType::q4_0, 512},
                      Case{DType::q4_1, 96}, Case{DType::q5_0, 96}, Case{DType::q5_0, 512}, Case{DType::q5_1, 96},
                      Case{DType::q8_0, 96}, Case{DType::q8_0, 512}, Case{DType::q4_k, 512}, Case{DType::q5_k, 512},
                      Case{DType::q6_k, 512}, Case{DType::q6_k, 256}, Case{DType::q2_k, 256}, Case{DType::q2_k, 768},
                      Case{DType::q3_k, 256}, Case{DType::q3_k, 768}),
    [](const auto& info) { return std::string(dtype_name(info.param.type)) + "_k" + std::to_string(info.param.k); });

TEST(Activations, Q8_0BlocksRoundToNearest) {
  const std::string initial = simd_level();
  std::mt19937 rng(5);
  const auto x = random_x(1, 256, rng);
  std::vector<uint8_t> buf(act_row_size(Act::q8_0, 256));
  for (const char* level : {"scalar", "avx2", "avx512"}) {
    if (!simd_supported(level)) continue;
    set_simd_level(level);
    std::vector<uint8_t> got(buf.size());
    // Every level produces the same bytes as the scalar quantizer.
    act_q8_0_scalar(x.data(), buf.data(), 256);
    ThreadPool pool(1);
    const Q8Row q = q8_row(buf.data(), 256);
    for (int b = 0; b < 8; ++b) {
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        const float xv = x[static_cast<size_t>(32 * b + j)];
        EXPECT_LE(std::fabs(xv - q.d[b] * q.qs[32 * b + j]), q.d[b] * 0.5f + std::fabs(xv) * 1e-3f);
        sum += q.qs[32 * b + j];
      }
      EXPECT_EQ(sum, q.s[b]);
    }
  }
  set_simd_level("scalar");
  set_simd_level("nonsense");
  EXPECT_STREQ(simd_level(), "scalar");
  set_simd_level(initial);
}

TEST(Activations, EveryLevelQuantizesIdentically) {
  std::mt19937 rng(9);
  const int64_t k = 1024;
  auto x = random_x(1, k, rng);
  x[310] = -9.0f;  // a magnitude tie inside one 256-block: the first one sets the sign of the scale
  x[300] = 9.0f;
  for (int i = 512; i < 768; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
  x[900] = 0.5f * 1.5f / 127.0f;                                     // a product that lands on a rounding tie
  std::vector<uint8_t> ref0(act_row_size(Act::q8_0, k)), refk(act_row_size(Act::q8_k, k));
  act_q8_0_scalar(x.data(), ref0.data(), k);
  act_q8_k_scalar(x.data(), refk.data(), k);
  for (const Kernels* t : {&kernels_avx2(), &kernels_avx512()}) {
    if (!simd_supported(t->name)) continue;
    std::vector<uint8_t> got0(ref0.size()), gotk(refk.size());
    t->act_q8_0(x.data(), got0.data(), k);
    t->act_q8_k(x.data(), gotk.data(), k);
    EXPECT_EQ(got0, ref0) << t->name;
    EXPECT_EQ(gotk, refk) << t->name;
  }
}

TEST(ActivationRounding, F16IsBitIdenticalOnEveryLevel) {
  std::mt19937 rng(5);
  auto x = random_x(1, 1003, rng);  // not a multiple of 8: the scalar tail runs too
  const float specials[] = {0.0f,
                            -0.0f,
                            65504.0f,
                            65520.0f,
                            1e-8f,
                            -6.1e-5f,
                            5.96e-8f,
                            2.98e-8f,
                            1.0f + 1.0f / 2048,
                            1.0f + 3.0f / 2048,
                            std::numeric_limits<float>::infinity(),
                            1e30f,
                            -1e30f,
                            3.14159f};
  for (size_t i = 0; i < std::size(specials); ++i) x[i * 7] = specials[i];
  std::vector<uint8_t> ref(x.size() * 4), got(x.size() * 4);
  act_f16r_scalar(x.data(), ref.data(), static_cast<int64_t>(x.size()));
  for (const Kernels* t : {&kernels_avx2(), &kernels_avx512()}) {
    if (!simd_supported(t->name)) continue;
    t->act_f16r(x.data(), got.data(), static_cast<int64_t>(x.size()));
    EXPECT_EQ(got, ref) << t->name;
  }
}

TEST(QuantizeRow, MatchesReferenceOnEveryLevel) {
  const std::string initial = simd_level();
  std::mt19937 rng(21);
  const int64_t k = 512;
  const auto x = random_x(1, k, rng);
  for (DType t : {DType::q8_0, DType::q4_0, DType::q4_k, DType::q8_k, DType::f16, DType::bf16}) {
    std::vector<uint8_t> ref(row_size(t, k));
    dtype_traits(t)->from_float_ref(x.data(), ref.data(), k);
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!simd_supported(level)) continue;
      set_simd_level(level);
      std::vector<uint8_t> got(ref.size());
      quantize_row(t, x.data(), got.data(), k);
      EXPECT_EQ(got, ref) << dtype_name(t) << " " << level;
    }
  }
  set_simd_level(initial);
}

// Each output is computed by one kernel call whatever the split, so the threaded paths (row
// chunks for n <= 2, tiles for larger n) must reproduce the single-thread result bit for bit.
TEST(Matmul, ThreadedPathsMatchSingleThread) {
  const std::string initial = simd_level();
  std::mt19937 rng(33);
  const int64_t m = 300, k = 512;
  ThreadPool pool1(1), pool2(2), pool4(4);
  for (DType t : {DType::q4_0, DType::q8_0, DType::q5_0, DType::q4_k, DType::q6_k, DType::f16}) {
    const auto w = random_weights(t, m, k, rng);
    for (int64_t n : {1, 2, 70}) {
      const auto x = random_x(n, k, rng);
      for (const char* level : {"scalar", "avx2", "avx512"}) {
        if (!simd_supported(level)) continue;
        set_simd_level(level);
        std::vector<float> y1(static_cast<size_t>(n * m)), y2(y1.size()), y4(y1.size());
        matmul(w.data(), t, m, k, x.data(), n, y1.data(), pool1);
        matmul(w.data(), t, m, k, x.data(), n, y2.data(), pool2);
        matmul(w.data(), t, m, k, x.data(), n, y4.data(), pool4);
        EXPECT_EQ(y1, y2) << dtype_name(t) << " n=" << n << " " << level;
        EXPECT_EQ(y1, y4) << dtype_name(t) << " n=" << n << " " << level;
      }
    }
  }
  set_simd_level(initial);
}

// Q4_0, Q5_0 and the K-quants packed in 16-row panels: the same products as the file's layout
// (against the dequantized reference, as above), bit-identical on every SIMD level and thread
// count, for column counts that exercise every tile width (8, 4, 2, 1 and their remainders).
// Random bytes give every quant pattern, 6-bit scale and minimum, and sign of the Q6_K scales.
TEST(PackedWeights, MatchReferenceAndAreIdenticalOnEveryLevel) {
  const std::string initial = simd_level();
  std::mt19937 rng(77);
  const int64_t m = 48;
  EXPECT_FALSE(packable(DType::q4_0, 40, 96));  // rows not a multiple of 16
  EXPECT_FALSE(packable(DType::q4_1, m, 96));   // no packed kernel
  EXPECT_FALSE(packable(DType::q4_k, m, 288));  // columns not whole super-blocks
  EXPECT_FALSE(packable(DType::q5_1, m, 256));  // no packed kernel
  // k = 96: 3 blocks of 32; k = 512: 16 blocks, the width at which the matrix-vector kernels of
  // Q4_0, Q5_0 and Q8_0 read the activations 8 blocks at a time (panel16_vec, q8panel16_vec).
  std::vector<std::pair<DType, int64_t>> cases;
  for (DType t :
       {DType::q4_0, DType::q5_0, DType::q8_0, DType::q2_k, DType::q3_k, DType::q4_k, DType::q5_k, DType::q6_k})
    cases.emplace_back(t, dtype_traits(t)->block_size == 256 ? 768 : 96);
  cases.emplace_back(DType::q4_0, 512);
  cases.emplace_back(DType::q5_0, 512);
  cases.emplace_back(DType::q8_0, 512);
  for (const auto& [t, k] : cases) {
    EXPECT_TRUE(packable(t, m, k));
    const auto w = random_weights(t, m, k, rng);
    std::vector<uint8_t> packed(w.size());
    pack_weights(t, w.data(), m, k, packed.data());
    EXPECT_NE(packed, w);
    std::vector<float> wf(static_cast<size_t>(m * k));
    for (int64_t r = 0; r < m; ++r) dtype_traits(t)->to_float(w.data() + r * row_size(t, k), wf.data() + r * k, k);
    ThreadPool pool1(1), pool2(2);
    for (int64_t n : {1, 2, 3, 7, 8, 13, 40}) {
      const auto x = random_x(n, k, rng);
      const auto xs = seen_activations(t, x, n, k);
      std::vector<float> first;
      for (const char* level : {"scalar", "avx2", "avx512"}) {
        if (!simd_supported(level)) continue;
        set_simd_level(level);
        for (ThreadPool* pool : {&pool1, &pool2}) {
          std::vector<float> y(static_cast<size_t>(n * m), std::nanf(""));
          matmul(packed.data(), t, m, k, x.data(), n, y.data(), *pool, kPanels16);
          for (int64_t c = 0; c < n; ++c)
            for (int64_t r = 0; r < m; ++r) {
              double ref = 0, mag = 0;
              for (int64_t i = 0; i < k; ++i) {
                ref += double(wf[r * k + i]) * xs[c * k + i];
                mag += std::fabs(double(wf[r * k + i]) * xs[c * k + i]);
              }
              ASSERT_NEAR(y[c * m + r], ref, 2e-5 * mag + 1e-6)
                  << dtype_name(t) << " " << level << " n=" << n << " row " << r << " col " << c;
            }
          if (first.empty())
            first = y;
          else
            ASSERT_EQ(y, first) << dtype_name(t) << " " << level << " n=" << n << " threads " << pool->size();
        }
      }
    }
  }
  set_simd_level(initial);
}

// Decode-sized K-quant panels: the row chunks handed to each thread (n <= 2) and the tiles
// (larger n) give the same bits as one thread, on every level, which also agree with each other.
TEST(PackedWeights, KQuantThreadSplitsAndLevelsGiveTheSameBits) {
  const std::string initial = simd_level();
  std::mt19937 rng(78);
  const int64_t m = 320, k = 1024;
  ThreadPool pool1(1), pool2(2), pool3(3);
  for (DType t : {DType::q2_k, DType::q3_k, DType::q4_k, DType::q5_k, DType::q6_k}) {
    const auto w = random_weights(t, m, k, rng);
    std::vector<uint8_t> packed(w.size());
    pack_weights(t, w.data(), m, k, packed.data());
    for (int64_t n : {1, 2, 70}) {
      const auto x = random_x(n, k, rng);
      std::vector<float> first;
      for (const char* level : {"scalar", "avx2", "avx512"}) {
        if (!simd_supported(level)) continue;
        set_simd_level(level);
        for (ThreadPool* pool : {&pool1, &pool2, &pool3}) {
          std::vector<float> y(static_cast<size_t>(n * m), std::nanf(""));
          matmul(packed.data(), t, m, k, x.data(), n, y.data(), *pool, kPanels16);
          if (first.empty())
            first = y;
          else
            ASSERT_EQ(y, first) << dtype_name(t) << " " << level << " n=" << n << " threads " << pool->size();
        }
      }
      // A column's result does not depend on the columns computed beside it (tile widths 4, 2, 1):
      // a batch of sequences gets the bits each would get alone.
      if (n > 1) {
        std::vector<float> alone(static_cast<size_t>(m));
        for (int64_t c : {int64_t{0}, n / 2, n - 1}) {
          matmul(packed.data(), t, m, k, x.data() + c * k, 1, alone.data(), pool2, kPanels16);
          ASSERT_EQ(0, std::memcmp(alone.data(), first.data() + c * m, alone.size() * 4))
              << dtype_name(t) << " n=" << n << " column " << c;
        }
      }
    }
  }
  set_simd_level(initial);
}

// Q2_K and Q3_K panels sum each super-block as their row layout's kernels do (one exact integer,
// then one fma per sum), so the two layouts give the same bits, on every level and for every
// column count (which also checks the panels' hmask bit, scale and minimum positions against an
// implementation written apart, in the row layout).
TEST(PackedWeights, Q2_KAndQ3_KPanelsGiveTheRowLayoutsBits) {
  const std::string initial = simd_level();
  std::mt19937 rng(79);
  const int64_t m = 64, k = 768;
  ThreadPool pool(2);
  for (DType t : {DType::q2_k, DType::q3_k}) {
    const auto w = random_weights(t, m, k, rng);
    std::vector<uint8_t> packed(w.size());
    pack_weights(t, w.data(), m, k, packed.data());
    for (int64_t n : {1, 3, 9}) {
      const auto x = random_x(n, k, rng);
      for (const char* level : {"scalar", "avx2", "avx512"}) {
        if (!simd_supported(level)) continue;
        set_simd_level(level);
        std::vector<float> rows(static_cast<size_t>(n * m), std::nanf("")), panels(rows);
        matmul(w.data(), t, m, k, x.data(), n, rows.data(), pool);
        matmul(packed.data(), t, m, k, x.data(), n, panels.data(), pool, kPanels16);
        ASSERT_EQ(0, std::memcmp(rows.data(), panels.data(), rows.size() * 4))
            << dtype_name(t) << " " << level << " n=" << n;
      }
    }
  }
  set_simd_level(initial);
}

// The activation sums of the packed Q2_K/Q4_K/Q5_K kernels: each 32-element sum split exactly as
// 64 * hi + lo with both halves in int8 range, at the extremes of the sums too; Q6_K's offsets.
TEST(PackedWeights, ActivationSumsSplitExactly) {
  tensor::BlockQ8_K blocks[2] = {};
  const int16_t extremes[] = {2032, 2032, -2032, -2032, -2048, -2048, 63, 1, -64, 0, 127, -128, -1, -63, 5, -4};
  for (int j = 0; j < 16; ++j) {
    blocks[0].bsums[j] = extremes[j];
    blocks[1].bsums[j] = static_cast<int16_t>(100 * j - 777);
  }
  KSums sums[2];
  k_act_sums(reinterpret_cast<const uint8_t*>(blocks), 2, sums);
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 8; ++j) {
      const int hi = sums[b].m[j], lo = sums[b].m[8 + j];
      EXPECT_EQ(64 * hi + lo, blocks[b].bsums[2 * j] + blocks[b].bsums[2 * j + 1]) << b << " " << j;
      EXPECT_GE(lo, 0);
      EXPECT_LT(lo, 64);
      EXPECT_GE(hi, -64);
      EXPECT_LT(hi, 64);
      EXPECT_EQ(sums[b].off6[2 * j], -32 * blocks[b].bsums[2 * j]);
    }
  // Q2_K's minima: the 16-element sums split the same way (hi in [-32, 31]).
  for (int b = 0; b < 2; ++b)
    for (int j = 0; j < 16; ++j) {
      const int hi = sums[b].m16[j], lo = sums[b].m16[16 + j];
      EXPECT_EQ(64 * hi + lo, blocks[b].bsums[j]) << b << " " << j;
      EXPECT_GE(lo, 0);
      EXPECT_LT(lo, 64);
      EXPECT_GE(hi, -32);
      EXPECT_LT(hi, 32);
    }
}

// Q8_0 packed in panels sums each row in the same order as the file layout's kernel (llama.cpp's,
// below): the same bits, packed or not, on every level, decode and prompt tiles alike.
TEST(PackedWeights, Q8_0GivesTheBitsOfTheFileLayout) {
  const std::string initial = simd_level();
  std::mt19937 rng(79);
  const int64_t m = 160, k = 544;  // 17 blocks
  const auto w = random_weights(DType::q8_0, m, k, rng);
  std::vector<uint8_t> packed(w.size());
  pack_weights(DType::q8_0, w.data(), m, k, packed.data());
  ThreadPool pool1(1), pool2(2);
  for (int64_t n : {1, 2, 3, 9}) {
    const auto x = random_x(n, k, rng);
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!simd_supported(level)) continue;
      set_simd_level(level);
      std::vector<float> want(static_cast<size_t>(n * m)), got(want.size());
      matmul(w.data(), DType::q8_0, m, k, x.data(), n, want.data(), pool1);
      for (ThreadPool* pool : {&pool1, &pool2}) {
        matmul(packed.data(), DType::q8_0, m, k, x.data(), n, got.data(), *pool, kPanels16);
        ASSERT_EQ(0, std::memcmp(got.data(), want.data(), got.size() * 4))
            << level << " n=" << n << " threads " << pool->size();
      }
    }
  }
  set_simd_level(initial);
}

// The packed blocks of the types whose block is not a whole number of 64-byte lines go in pairs
// (kernels.h PanelBlock): in a Q8_0 panel of three blocks, block 0's quants at byte 0, block 1's
// at 512, their scales at 1024 and 1056, and the lone third block after them in the single
// layout (quants at 1088, scales at 1600); every 64-byte quant group starts on a line. Q6_K's
// super-blocks pair the same way, field by field; Q4_K's stay single.
TEST(PackedWeights, BlocksGoInPairsSoThatLoadsStayOnLines) {
  std::mt19937 rng(80);
  const int64_t m = 16, k = 96;  // one panel, three blocks
  const auto w = random_weights(DType::q8_0, m, k, rng);
  std::vector<uint8_t> packed(w.size());
  pack_weights(DType::q8_0, w.data(), m, k, packed.data());
  const size_t ws = row_size(DType::q8_0, k);
  const int64_t quants_at[3] = {0, 512, 1088}, scales_at[3] = {1024, 1056, 1600};
  for (int b = 0; b < 3; ++b) {
    EXPECT_EQ(quants_at[b] % 64, 0);
    for (int r = 0; r < 16; ++r) {
      const auto* q = reinterpret_cast<const tensor::BlockQ8_0*>(w.data() + r * ws) + b;
      for (int j = 0; j < 32; ++j)
        ASSERT_EQ(packed[quants_at[b] + 64 * (j / 4) + 4 * r + j % 4], static_cast<uint8_t>(q->qs[j] + 128))
            << "block " << b << " row " << r << " element " << j;
      ASSERT_EQ(0, std::memcmp(&packed[scales_at[b] + 2 * r], &q->d, 2)) << "block " << b << " row " << r;
    }
  }
  // Where each field of a block lies, by the helper every kernel reads with: a pair's fields are
  // on lines, a lone last block keeps the single layout.
  const std::vector<uint8_t> panel(3 * kpanel_q6_k.bytes);
  const uint8_t* base = panel.data();
  const auto q6 = kpanel_q6_k;
  for (int64_t nsb : {2, 3})
    for (int64_t b = 0; b < nsb; ++b) {
      const auto f = panel_block(base, b, nsb, q6.bytes, q6.paired());
      const auto at = [&](PanelField pf) { return static_cast<int64_t>(f.at(pf) - base) - b / 2 * 2 * q6.bytes; };
      if (b == 2) {  // alone
        EXPECT_EQ(at(q6.qh_field()), 2048);
        EXPECT_EQ(at(q6.d_field()), 3328);
        continue;
      }
      EXPECT_EQ(at(q6.qs_field()), 2048 * b);
      EXPECT_EQ(at(q6.qh_field()), 4096 + 1024 * b);
      EXPECT_EQ(at(q6.scales_field()), 6144 + 256 * b);
      EXPECT_EQ(at(q6.d_field()), 6656 + 32 * b);
    }
  EXPECT_EQ(panel_block(base, 1, 2, kpanel_q4_k.bytes, kpanel_q4_k.paired()).at(kpanel_q4_k.d_field()) - base,
            2304 + 2240);
}

// Q8_0 is summed in llama.cpp's order (kernels.h dot_q8_0) at every level: the results are the
// same bits on scalar, AVX2 and AVX-512, for tiles and the matrix-vector path alike.
TEST(Q8_0, EveryLevelGivesTheSameBits) {
  const std::string initial = simd_level();
  std::mt19937 rng(5);
  const int64_t m = 37, k = 288;  // odd rows, an odd number of blocks
  const auto w = random_weights(DType::q8_0, m, k, rng);
  ThreadPool pool(1);
  for (int64_t n : {1, 2, 5, 9}) {
    const auto x = random_x(n, k, rng);
    std::vector<float> first;
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!simd_supported(level)) continue;
      set_simd_level(level);
      std::vector<float> y(static_cast<size_t>(n * m));
      matmul(w.data(), DType::q8_0, m, k, x.data(), n, y.data(), pool);
      if (first.empty())
        first = y;
      else
        EXPECT_EQ(y, first) << level << " n=" << n;
    }
  }
  set_simd_level(initial);
}

// matmul of w (m x k, type t) against n random activation rows, for each n of ns, on every SIMD
// level with one and three threads: every result has the bits of the first.
void expect_same_bits_everywhere(DType t, const std::vector<uint8_t>& w, int64_t m, int64_t k,
                                 std::initializer_list<int64_t> ns, std::mt19937& rng) {
  const std::string initial = simd_level();
  ThreadPool pool1(1), pool3(3);
  for (int64_t n : ns) {
    const auto x = random_x(n, k, rng);
    std::vector<float> first;
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!simd_supported(level)) continue;
      set_simd_level(level);
      for (ThreadPool* pool : {&pool1, &pool3}) {
        std::vector<float> y(static_cast<size_t>(n * m));
        matmul(w.data(), t, m, k, x.data(), n, y.data(), *pool);
        if (first.empty())
          first = y;
        else
          EXPECT_EQ(0, std::memcmp(y.data(), first.data(), y.size() * 4))
              << dtype_name(t) << " k=" << k << " n=" << n << " " << level << " threads " << pool->size();
      }
    }
  }
  set_simd_level(initial);
}

// Q2_K and Q3_K (file layout: no panels) are summed as dot_q2_k / dot_q3_k define: the same bits
// on scalar, AVX2 and AVX-512, one thread or three, for the matrix-vector path and every tile.
TEST(Q2_KQ3_K, EveryLevelAndThreadCountGivesTheSameBits) {
  std::mt19937 rng(6);
  const int64_t m = 37, k = 768;  // odd rows, three super-blocks
  for (DType t : {DType::q2_k, DType::q3_k})
    expect_same_bits_everywhere(t, random_weights(t, m, k, rng), m, k, {1, 2, 5, 9}, rng);
}

// F32, F16 and BF16 follow one lane-by-lane definition (simd/gemm_float.inl) on every level: the
// same bits on scalar, AVX2 and AVX-512 for the matrix-vector form (n = 1, a granitehybrid
// router's 32 F16 rows at decode diverged on AVX2 before) and for tiles with remainders, with a
// k that leaves a tail after the last 64 and the last 16; 39 rows and 150 columns cross the
// 32 x 144 thread tiles of float weights.
TEST(FloatWeights, EveryLevelGivesTheSameBits) {
  std::mt19937 rng(8);
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (int64_t k : {1024, 1011}) {
      const int64_t m = 39;
      expect_same_bits_everywhere(t, random_weights(t, m, k, rng), m, k, {1, 2, 7, 33, 150}, rng);
    }
}

// The matrix-vector form (one activation column, decode) of F16 weights is llama.cpp's
// ggml_vec_dot_f16 on an AVX-512 machine without AVX512-FP16, written out here from its
// definition: 16-lane fma accumulators sum[(i % 64) / 16] over the whole blocks of 64, reduced
// lane by lane as (sum0 + sum2) + (sum1 + sum3), then across lanes as _mm512_reduce_add_ps does
// (halves 8, 4, 2, 1), then the elements past the last 64 added in double, each product rounded to
// f32. The same bits on every level, for k with and without a tail.
TEST(FloatWeights, MatrixVectorSumsAsGgmlVecDotF16) {
  const std::string initial = simd_level();
  std::mt19937 rng(81);
  ThreadPool pool(2);
  for (int64_t k : {1024, 1011, 40}) {
    const int64_t m = 21;
    const auto w = random_weights(DType::f16, m, k, rng);
    const auto x = random_x(1, k, rng);
    std::vector<float> want(static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
      const auto* row = reinterpret_cast<const uint16_t*>(w.data() + r * row_size(DType::f16, k));
      auto wx = [&](int64_t i) { return fp16_to_fp32(row[i]) * 1.0f; };
      auto xr = [&](int64_t i) { return fp16_to_fp32(fp32_to_fp16(x[static_cast<size_t>(i)])); };
      float sum[4][16] = {};
      const int64_t np = k / 64 * 64;
      for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 4; ++j)
          for (int l = 0; l < 16; ++l) sum[j][l] = std::fma(wx(i + 16 * j + l), xr(i + 16 * j + l), sum[j][l]);
      float v[16];
      for (int l = 0; l < 16; ++l) v[l] = (sum[0][l] + sum[2][l]) + (sum[1][l] + sum[3][l]);
      for (int h = 8; h >= 1; h /= 2)
        for (int l = 0; l < h; ++l) v[l] = v[l] + v[l + h];
      double sumf = v[0];
      for (int64_t i = np; i < k; ++i) sumf += static_cast<double>(wx(i) * xr(i));
      want[static_cast<size_t>(r)] = static_cast<float>(sumf);
    }
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!simd_supported(level)) continue;
      set_simd_level(level);
      std::vector<float> y(static_cast<size_t>(m), std::nanf(""));
      matmul(w.data(), DType::f16, m, k, x.data(), 1, y.data(), pool);
      EXPECT_EQ(0, std::memcmp(y.data(), want.data(), y.size() * 4)) << level << " k=" << k;
    }
  }
  set_simd_level(initial);
}

TEST(Matmul, EmptyShapesAreNoOps) {
  ThreadPool pool(2);
  float y = 7.0f;
  matmul(nullptr, DType::q4_0, 0, 32, nullptr, 1, &y, pool);
  matmul(nullptr, DType::q4_0, 1, 32, nullptr, 0, &y, pool);
  EXPECT_EQ(y, 7.0f);
}

}  // namespace
}  // namespace fragua::cpu
