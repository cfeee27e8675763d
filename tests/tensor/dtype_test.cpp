// SPDX-License-Identifier: Apache-2.0
// Dequantization against the numpy reference (tests/reference/tensor/dequant_ref.py), the half
// conversions, the dtype table, and quantize -> dequantize error bounds.
#include "fragua/tensor/dtype.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "fragua/tensor/half.h"
#include "fragua/tensor/quantize.h"
#include "test_util.h"

namespace fragua {
namespace {

std::vector<char> read_golden(const std::string& name) {
  std::string path = test::source_dir() + "/tests/reference/tensor/golden/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing golden file " << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

class GoldenDequant : public ::testing::TestWithParam<const char*> {};

TEST_P(GoldenDequant, BitExactToReference) {
  const std::string name = GetParam();
  const auto type = dtype_from_name(name);
  ASSERT_TRUE(type.has_value()) << name;
  const DTypeTraits* tr = dtype_traits(*type);
  ASSERT_NE(tr, nullptr);
  const auto raw = read_golden(name + ".bin");
  const auto exp_bytes = read_golden(name + ".f32");
  ASSERT_EQ(raw.size() % tr->type_size, 0u);
  const int64_t n = static_cast<int64_t>(raw.size() / tr->type_size) * tr->block_size;
  ASSERT_EQ(exp_bytes.size(), static_cast<size_t>(n) * 4);
  ASSERT_EQ(row_size(*type, n), raw.size());
  std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
  std::memcpy(want.data(), exp_bytes.data(), exp_bytes.size());
  tr->to_float(raw.data(), got.data(), n);
  int bad = 0;
  for (int64_t i = 0; i < n && bad < 5; ++i) {
    if (bits(got[i]) != bits(want[i])) {
      ++bad;
      ADD_FAILURE() << name << " element " << i << ": got " << got[i] << " want " << want[i];
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllFormats, GoldenDequant,
                         ::testing::Values("f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q8_1", "q2_k",
                                           "q3_k", "q4_k", "q5_k", "q6_k", "q8_k"));

TEST(Half, NarrowingMatchesReference) {
  const auto in = read_golden("round_in.f32");
  const auto h16 = read_golden("fp16_round.u16");
  const auto b16 = read_golden("bf16_round.u16");
  const size_t n = in.size() / 4;
  ASSERT_EQ(h16.size(), n * 2);
  ASSERT_EQ(b16.size(), n * 2);
  for (size_t i = 0; i < n; ++i) {
    float x;
    uint16_t eh, eb;
    std::memcpy(&x, in.data() + 4 * i, 4);
    std::memcpy(&eh, h16.data() + 2 * i, 2);
    std::memcpy(&eb, b16.data() + 2 * i, 2);
    ASSERT_EQ(fp32_to_fp16(x), eh) << "fp16 of " << x << " (index " << i << ")";
    ASSERT_EQ(fp32_to_bf16(x), eb) << "bf16 of " << x << " (index " << i << ")";
  }
}

TEST(Half, RoundTripsEveryFiniteHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = fp16_to_fp32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(fp32_to_fp16(f), h) << h;
    ASSERT_EQ(bits(bf16_to_fp32(static_cast<uint16_t>(h))), h << 16);
  }
  EXPECT_TRUE(std::isnan(fp16_to_fp32(fp32_to_fp16(std::nanf("")))));
  EXPECT_TRUE(std::isnan(bf16_to_fp32(fp32_to_bf16(std::nanf("")))));
}

TEST(DTypeTable, SizesAndNames) {
  EXPECT_EQ(row_size(DType::q4_0, 64), 36u);
  EXPECT_EQ(row_size(DType::q4_k, 512), 288u);
  EXPECT_EQ(row_size(DType::q6_k, 256), 210u);
  EXPECT_EQ(row_size(DType::f16, 10), 20u);
  EXPECT_EQ(row_size(DType::i32, 3), 12u);
  EXPECT_EQ(dtype_name(DType::q5_k), "q5_k");
  EXPECT_EQ(dtype_name(static_cast<DType>(99)), "unknown(99)");
  EXPECT_EQ(dtype_from_name("Q8_0"), DType::q8_0);
  EXPECT_FALSE(dtype_from_name("q9_9").has_value());
  EXPECT_EQ(dtype_traits(static_cast<DType>(99)), nullptr);
  EXPECT_EQ(dtype_traits(DType::i32), nullptr);
  for (DType t : {DType::q8_0, DType::q4_0, DType::q2_k, DType::q3_k, DType::q4_k, DType::q5_k, DType::q6_k,
                  DType::q8_k, DType::f16, DType::bf16})
    EXPECT_NE(dtype_traits(t)->from_float_ref, nullptr) << dtype_name(t);
}

std::vector<float> random_data(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  // A block of zeros and an outlier exercise the degenerate and the clamped paths.
  for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = 0.0f;
  x[100] = 25.0f;
  return x;
}

struct RoundTrip {
  DType type;
  double max_rel_rmse;  // RMSE / RMS of the data over the whole vector
};

class QuantizeRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(QuantizeRoundTrip, ErrorWithinBound) {
  const auto [type, bound] = GetParam();
  const DTypeTraits* tr = dtype_traits(type);
  ASSERT_NE(tr->from_float_ref, nullptr);
  const int64_t n = 4096;
  const auto x = random_data(n, 7);
  std::vector<uint8_t> q(row_size(type, n));
  std::vector<float> y(static_cast<size_t>(n));
  tr->from_float_ref(x.data(), q.data(), n);
  tr->to_float(q.data(), y.data(), n);
  double se = 0, ss = 0;
  for (int64_t i = 0; i < n; ++i) {
    se += (x[i] - y[i]) * double(x[i] - y[i]);
    ss += double(x[i]) * x[i];
  }
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[static_cast<size_t>(i)], 0.0f) << "zero block stays zero";
  const double rel = std::sqrt(se / ss);
  EXPECT_LT(rel, bound) << dtype_name(type);
  EXPECT_GT(rel, bound / 50) << dtype_name(type) << ": suspiciously exact";
}

// Bounds (q8_k is loose: one outlier sets the scale of a whole 256-element block). b-bit uniform quantization of
// Gaussian blocks gives roughly step/sqrt(12) / sigma with step = range / (2^b - 1).
INSTANTIATE_TEST_SUITE_P(Types, QuantizeRoundTrip,
                         ::testing::Values(RoundTrip{DType::q8_0, 0.01}, RoundTrip{DType::q4_0, 0.15},
                                           RoundTrip{DType::q4_1, 0.12}, RoundTrip{DType::q5_0, 0.07},
                                           RoundTrip{DType::q5_1, 0.06}, RoundTrip{DType::q4_k, 0.12},
                                           RoundTrip{DType::q8_k, 0.03}, RoundTrip{DType::f16, 0.001},
                                           RoundTrip{DType::q2_k, 0.33}, RoundTrip{DType::q3_k, 0.18},
                                           RoundTrip{DType::q5_k, 0.045}, RoundTrip{DType::q6_k, 0.025},
                                           RoundTrip{DType::bf16, 0.005}));

TEST(QuantizeRef, Q4_0ElementBound) {
  // Every element within one quantization step of the block's scale (|d| = amax / 8).
  const auto x = random_data(1024, 3);
  std::vector<uint8_t> q(row_size(DType::q4_0, 1024));
  std::vector<float> y(1024);
  dtype_traits(DType::q4_0)->from_float_ref(x.data(), q.data(), 1024);
  dtype_traits(DType::q4_0)->to_float(q.data(), y.data(), 1024);
  for (int b = 0; b < 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    for (int j = 0; j < 32; ++j) EXPECT_LE(std::fabs(x[b * 32 + j] - y[b * 32 + j]), amax / 8 * 1.01f + 1e-6f);
  }
}

TEST(QuantizeRef, Q8_KBlockSums) {
  const auto x = random_data(512, 11);
  std::vector<uint8_t> q(row_size(DType::q8_k, 512));
  dtype_traits(DType::q8_k)->from_float_ref(x.data(), q.data(), 512);
  for (int b = 0; b < 2; ++b) {
    const uint8_t* blk = q.data() + b * 292;
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += static_cast<int8_t>(blk[4 + 16 * g + l]);
      int16_t bs;
      std::memcpy(&bs, blk + 260 + 2 * g, 2);
      EXPECT_EQ(bs, sum);
    }
  }
}

}  // namespace
}  // namespace fragua

namespace fragua {
namespace {

// Byte-exact against llama.cpp's llama-quantize on the same rows (tests/reference/tensor/
// llama_quantize_ref.py cut them from its output).
std::vector<float> golden_floats(const std::string& name) {
  const auto raw = read_golden(name);
  std::vector<float> v(raw.size() / 4);
  std::memcpy(v.data(), raw.data(), v.size() * 4);
  return v;
}

// Quantizes the rows of `in` (kRows of them) and compares with llama.cpp's bytes in `want`.
void expect_llama_bytes(const std::string& type_name, const std::string& in, const std::string& want_name,
                        const float* importance = nullptr) {
  const DType type = *dtype_from_name(type_name);
  const auto x = golden_floats(in);
  const auto want = read_golden(want_name);
  constexpr int64_t kRows = 8;
  const int64_t n_per_row = static_cast<int64_t>(x.size()) / kRows;
  ASSERT_EQ(want.size(), kRows * row_size(type, n_per_row)) << want_name;
  std::vector<char> got(want.size());
  ASSERT_TRUE(quantize_rows(type, x.data(), got.data(), kRows, n_per_row, importance).ok());
  const size_t block = dtype_traits(type)->type_size;
  int bad = 0;
  for (size_t i = 0; i < got.size() && bad < 5; ++i) {
    if (got[i] != want[i]) {
      ++bad;
      ADD_FAILURE() << want_name << ": byte " << i << " (block " << i / block << ", byte " << i % block << " in it) is "
                    << int(uint8_t(got[i])) << ", llama.cpp wrote " << int(uint8_t(want[i]));
    }
  }
}

// Without an importance matrix: quantize_row_*_ref.
class LlamaQuantizeGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaQuantizeGolden, BytesMatchLlamaCpp) {
  const std::string name = GetParam();
  expect_llama_bytes(name, "llama_quant_in.f32", "llama_quant_" + name + ".bin");
}

// With one (llama-quantize --imatrix): ggml's quantize_row_*_impl, the legacy types included.
class LlamaQuantizeImatrixGolden : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaQuantizeImatrixGolden, BytesMatchLlamaCpp) {
  const std::string name = GetParam();
  const auto imp = golden_floats("llama_quant_imatrix.f32");
  ASSERT_EQ(imp.size() * 8, golden_floats("llama_quant_in.f32").size());
  expect_llama_bytes(name, "llama_quant_in.f32", "llama_quant_" + name + "_imatrix.bin", imp.data());
}

// Rows of output.weight where summing w*l*l as w*(l*l) instead of ggml's (w*l)*l chose other
// levels (q4_k, q5_k, q6_k: the blocks that differed from llama-quantize on llama-110M).
class LlamaQuantizeTies : public ::testing::TestWithParam<const char*> {};

TEST_P(LlamaQuantizeTies, BytesMatchLlamaCpp) {
  const std::string name = GetParam();
  expect_llama_bytes(name, "llama_quant_ties_in.f32", "llama_quant_ties_" + name + ".bin");
}

// An importance matrix moves the error away from the columns it marks: the importance-weighted
// squared error is lower than the unweighted quantizer's, and the importance-blind error is
// not far above it (the search trades, it does not break the format).
class ImportanceQuantize : public ::testing::TestWithParam<const char*> {};

TEST_P(ImportanceQuantize, LowersTheWeightedError) {
  const DType type = *dtype_from_name(GetParam());
  constexpr int64_t kRows = 16, kCols = 512;
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::exponential_distribution<float> ed(1.0f);
  std::vector<float> x(kRows * kCols), imp(kCols);
  for (auto& v : x) v = nd(rng);
  for (int64_t j = 0; j < kCols; ++j) imp[j] = ed(rng) * (j % 7 == 0 ? 100.0f : 1.0f);
  const size_t bytes = kRows * row_size(type, kCols);
  std::vector<uint8_t> plain(bytes), weighted(bytes), ref(bytes);
  ASSERT_TRUE(quantize_rows(type, x.data(), plain.data(), kRows, kCols).ok());
  ASSERT_TRUE(quantize_rows(type, x.data(), weighted.data(), kRows, kCols, imp.data()).ok());
  dtype_traits(type)->from_float_ref(x.data(), ref.data(), kRows * kCols);
  EXPECT_EQ(plain, ref) << "without importance, quantize_rows is the reference quantizer";
  EXPECT_TRUE(dtype_uses_importance(type));
  auto errors = [&](const std::vector<uint8_t>& q) {
    std::vector<float> y(x.size());
    dtype_traits(type)->to_float(q.data(), y.data(), kRows * kCols);
    double w = 0, u = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double d2 = double(x[i] - y[i]) * (x[i] - y[i]);
      w += imp[i % kCols] * d2;
      u += d2;
    }
    return std::pair{w, u};
  };
  const auto [w_plain, u_plain] = errors(plain);
  const auto [w_imp, u_imp] = errors(weighted);
  EXPECT_LT(w_imp, 0.9 * w_plain) << GetParam();
  EXPECT_LT(u_imp, 2.0 * u_plain) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(KQuants, ImportanceQuantize, ::testing::Values("q2_k", "q3_k", "q4_k", "q5_k", "q6_k"));
INSTANTIATE_TEST_SUITE_P(Legacy, ImportanceQuantize, ::testing::Values("q4_0", "q4_1", "q5_0", "q5_1"));

TEST(QuantizeRows, RejectsRowsThatAreNotWholeBlocks) {
  std::vector<float> x(300);
  std::vector<uint8_t> q(1024);
  const Status s = quantize_rows(DType::q4_k, x.data(), q.data(), 1, 300);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(s.error().message().find("300"), std::string::npos) << s.error().message();
  EXPECT_FALSE(quantize_rows(DType::q8_1, x.data(), q.data(), 1, 256).ok()) << "q8_1 has no quantizer";
  EXPECT_FALSE(dtype_uses_importance(DType::q8_0));
}

INSTANTIATE_TEST_SUITE_P(Types, LlamaQuantizeGolden,
                         ::testing::Values("q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k",
                                           "q6_k"));
INSTANTIATE_TEST_SUITE_P(Types, LlamaQuantizeImatrixGolden,
                         ::testing::Values("q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k", "q4_k", "q5_k", "q6_k"));
INSTANTIATE_TEST_SUITE_P(KQuants, LlamaQuantizeTies, ::testing::Values("q2_k", "q3_k", "q4_k", "q5_k", "q6_k"));

}  // namespace
}  // namespace fragua
