// SPDX-License-Identifier: Apache-2.0
// Weight preparation by the CPU backend (Backend::prepare_weight): which matrices it packs, that
// it gives the source back, and that the packed copy computes what the file's rows compute.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/backend/backend.h"
#include "test_util.h"

namespace fragua::backend {
namespace {

std::vector<uint8_t> quantized(DType t, int64_t m, int64_t k, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> f(static_cast<size_t>(m * k));
  for (auto& v : f) v = nd(rng);
  std::vector<uint8_t> w(row_size(t, k) * static_cast<size_t>(m));
  dtype_traits(t)->from_float_ref(f.data(), w.data(), m * k);
  return w;
}

struct Released {
  int calls = 0;
  const void* data = nullptr;
  uint64_t n_bytes = 0;
  ReleaseSource fn() {
    return [this](const void* p, uint64_t n) { ++calls, data = p, n_bytes = n; };
  }
};

TEST(CpuBackend, PrepareWeightPacksQ4_0Q5_0AndKQuantsAndReleasesTheSource) {
  std::mt19937 rng(5);
  auto be = make_cpu_backend(2);
  const int64_t m = 32, n = 5;
  for (DType t : {DType::q4_0, DType::q5_0, DType::q8_0, DType::q4_k, DType::q5_k, DType::q6_k}) {
    const int64_t k = dtype_traits(t)->block_size == 256 ? 512 : 96;
    std::vector<float> x(static_cast<size_t>(n * k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    const auto bytes = quantized(t, m, k, rng);
    const int64_t ne[] = {k, m};
    auto w = Tensor::view(t, ne, bytes.data(), bytes.size());
    ASSERT_TRUE(w.ok());
    std::vector<float> want(static_cast<size_t>(n * m)), got(want.size());
    be->matmul(*w, x.data(), n, want.data());

    Released rel;
    ASSERT_TRUE(be->prepare_weight(*w, rel.fn()).ok());
    EXPECT_NE(w->layout(), Layout::rows) << dtype_name(t);
    EXPECT_NE(w->data(), bytes.data());
    EXPECT_EQ(w->dtype(), t);
    EXPECT_EQ(w->shape(), (std::vector<int64_t>{k, m}));
    EXPECT_EQ(rel.calls, 1);
    EXPECT_EQ(rel.data, bytes.data());
    EXPECT_EQ(rel.n_bytes, bytes.size());
    // The copy holds exactly cpu::pack_weights' panels.
    std::vector<uint8_t> panels(bytes.size());
    cpu::pack_weights(t, bytes.data(), m, k, panels.data());
    ASSERT_EQ(w->n_bytes(), panels.size());
    EXPECT_EQ(std::memcmp(w->data(), panels.data(), panels.size()), 0);
    // Rows of a backend layout are not the file's rows: to_f32 refuses them.
    auto f = w->to_f32();
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().code(), ErrorCode::unsupported);
    // Same products up to f32 summation order.
    be->matmul(*w, x.data(), n, got.data());
    double mx = 0, err = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      mx = std::max(mx, std::fabs(double(want[i])));
      err = std::max(err, std::fabs(double(got[i]) - want[i]));
    }
    EXPECT_GT(mx, 0.0);
    EXPECT_LT(err, 1e-5 * mx) << dtype_name(t);
    // Preparing again leaves the backend's own copy as it is.
    const void* before = w->data();
    ASSERT_TRUE(be->prepare_weight(*w, rel.fn()).ok());
    EXPECT_EQ(w->data(), before);
    EXPECT_EQ(rel.calls, 1);
  }
}

TEST(CpuBackend, PrepareWeightLeavesOtherMatricesInTheFileLayout) {
  std::mt19937 rng(6);
  auto be = make_cpu_backend(1);
  struct Case {
    DType t;
    int64_t m, k;
  };
  // Q4_1, Q3_K and F32 have no packed kernel; 40 rows are not a whole number of 16-row panels.
  for (const Case& c : {Case{DType::q4_1, 32, 64}, Case{DType::f32, 32, 64}, Case{DType::q4_0, 40, 64},
                        Case{DType::q4_k, 40, 256}, Case{DType::q3_k, 32, 256}}) {
    const auto bytes = quantized(c.t, c.m, c.k, rng);
    const int64_t ne[] = {c.k, c.m};
    auto w = Tensor::view(c.t, ne, bytes.data(), bytes.size());
    ASSERT_TRUE(w.ok());
    Released rel;
    ASSERT_TRUE(be->prepare_weight(*w, rel.fn()).ok());
    EXPECT_EQ(w->layout(), Layout::rows) << dtype_name(c.t) << " " << c.m;
    EXPECT_EQ(w->data(), bytes.data());
    EXPECT_EQ(rel.calls, 0);
  }
}

TEST(CpuBackend, PackZeroKeepsTheFileLayout) {
  std::mt19937 rng(7);
  auto be = make_cpu_backend(1);
  const auto bytes = quantized(DType::q4_0, 32, 64, rng);
  const int64_t ne[] = {64, 32};
  auto w = Tensor::view(DType::q4_0, ne, bytes.data(), bytes.size());
  ASSERT_TRUE(w.ok());
  Released rel;
  ::setenv("FRAGUA_PACK", "0", 1);
  const Status st = be->prepare_weight(*w, rel.fn());
  ::unsetenv("FRAGUA_PACK");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(w->layout(), Layout::rows);
  EXPECT_EQ(w->data(), bytes.data());
  EXPECT_EQ(rel.calls, 0);
}

}  // namespace
}  // namespace fragua::backend
