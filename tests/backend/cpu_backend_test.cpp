// SPDX-License-Identifier: Apache-2.0
// Weight preparation by the CPU backend (Backend::prepare_weight): which matrices it packs, that
// it gives the source back, and that the packed copy computes what the file's rows compute; and
// Backend::matmuls, several products at once.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>
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
  const void* data = nullptr;  // of the last call
  uint64_t n_bytes = 0;
  std::vector<std::pair<const uint8_t*, uint64_t>> ranges;  // every call, in order
  ReleaseSource fn() {
    return [this](const void* p, uint64_t n) {
      ++calls, data = p, n_bytes = n;
      ranges.emplace_back(static_cast<const uint8_t*>(p), n);
    };
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
    // The source goes back run by run as it is packed (here one run: 32 rows), then whole.
    ASSERT_EQ(rel.calls, 2);
    EXPECT_EQ(rel.ranges[0].first, bytes.data());
    EXPECT_EQ(rel.ranges[0].second, bytes.size());
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
    EXPECT_EQ(rel.calls, 2);
  }
}

// Packing in runs of rows writes pack_weights' bytes and reports runs that tile the rows in
// order, whatever the run length (not a multiple of 16: rounded down; under 16: 16 rows); and the
// backend gives a large matrix's source back run by run, before the whole range.
TEST(CpuBackend, PackingInRunsIsPackingAndReleasesTheSourceAsItGoes) {
  std::mt19937 rng(8);
  const int64_t m = 80;
  for (DType t : {DType::q4_0, DType::q5_0, DType::q8_0, DType::q4_k, DType::q5_k, DType::q6_k}) {
    const int64_t k = dtype_traits(t)->block_size == 256 ? 256 : 64;
    const auto bytes = quantized(t, m, k, rng);
    std::vector<uint8_t> whole(bytes.size());
    cpu::pack_weights(t, bytes.data(), m, k, whole.data());
    for (int64_t run : {1, 16, 33, 48, 80, 1000}) {
      std::vector<uint8_t> runs(bytes.size(), 0xAB);
      std::vector<std::pair<int64_t, int64_t>> seen;
      cpu::pack_weights_in_runs(t, bytes.data(), m, k, runs.data(), run,
                                [&](int64_t r0, int64_t n) { seen.emplace_back(r0, n); });
      EXPECT_EQ(runs, whole) << dtype_name(t) << " run " << run;
      const int64_t want = std::min<int64_t>(m, std::max<int64_t>(16, run / 16 * 16));
      int64_t next = 0;
      for (const auto& [r0, n] : seen) {
        EXPECT_EQ(r0, next) << dtype_name(t) << " run " << run;
        EXPECT_EQ(n, std::min(want, m - r0));
        next = r0 + n;
      }
      EXPECT_EQ(next, m) << dtype_name(t) << " run " << run;
    }
  }
  EXPECT_EQ(cpu::pack_run_rows(2304), 1808);  // Q4_0 rows of 4096 columns: 4 MiB / 2304 bytes, in panels
  EXPECT_EQ(cpu::pack_run_rows(size_t{1} << 30), 16);
  // Through the backend: a Q8_0 matrix of 1,056 rows x 4,096 columns (4,352 bytes a row, 4.6 MB)
  // goes back in runs of 960 rows (4,177,920 bytes), then whole.
  const int64_t big_m = 1056, big_k = 4096;
  const auto big = quantized(DType::q8_0, big_m, big_k, rng);
  const int64_t ne[] = {big_k, big_m};
  auto w = Tensor::view(DType::q8_0, ne, big.data(), big.size());
  ASSERT_TRUE(w.ok());
  Released rel;
  auto be = make_cpu_backend(1);
  ASSERT_TRUE(be->prepare_weight(*w, rel.fn()).ok());
  const size_t ws = row_size(DType::q8_0, big_k);
  ASSERT_EQ(rel.ranges.size(), 3u);
  EXPECT_EQ(rel.ranges[0].first, big.data());
  EXPECT_EQ(rel.ranges[0].second, 960 * ws);
  EXPECT_EQ(rel.ranges[1].first, big.data() + 960 * ws);
  EXPECT_EQ(rel.ranges[1].second, 96 * ws);
  EXPECT_EQ(rel.ranges[2].first, big.data());
  EXPECT_EQ(rel.ranges[2].second, big.size());
  std::vector<uint8_t> panels(big.size());
  cpu::pack_weights(DType::q8_0, big.data(), big_m, big_k, panels.data());
  EXPECT_EQ(std::memcmp(w->data(), panels.data(), panels.size()), 0);
}

TEST(CpuBackend, PrepareWeightLeavesOtherMatricesInTheFileLayout) {
  std::mt19937 rng(6);
  auto be = make_cpu_backend(1);
  struct Case {
    DType t;
    int64_t m, k;
  };
  // Q4_1 and Q5_1 have no packed kernel; 40 rows are not a whole number of 16-row panels.
  for (const Case& c : {Case{DType::q4_1, 32, 64}, Case{DType::q5_1, 32, 64}, Case{DType::q4_0, 40, 64},
                        Case{DType::q4_k, 40, 256}, Case{DType::q3_k, 40, 256}}) {
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

// Float matrices (any row count) are copied into the backend's memory in the file's row layout:
// the same bytes, a different address, the source handed back run by run and then whole, and
// matmul's bits unchanged.
TEST(CpuBackend, PrepareWeightCopiesFloatMatricesInTheirRowLayout) {
  std::mt19937 rng(9);
  auto be = make_cpu_backend(1);
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    // 2,100 rows of 1,024 columns: F32 rows of 4 KiB, so runs of 1,024 rows (4 MiB), three runs.
    const int64_t m = 2100, k = 1024;
    const auto bytes = quantized(t, m, k, rng);
    const int64_t ne[] = {k, m};
    auto file = Tensor::view(t, ne, bytes.data(), bytes.size());
    ASSERT_TRUE(file.ok());
    std::vector<float> x(static_cast<size_t>(k) * 3);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    std::vector<float> want(static_cast<size_t>(m) * 3), got(want.size());
    be->matmul(*file, x.data(), 3, want.data());
    auto w = Tensor::view(t, ne, bytes.data(), bytes.size());
    Released rel;
    ASSERT_TRUE(be->prepare_weight(*w, rel.fn()).ok());
    EXPECT_EQ(w->layout(), Layout::rows) << dtype_name(t);
    EXPECT_NE(w->data(), bytes.data());
    ASSERT_EQ(w->n_bytes(), bytes.size());
    EXPECT_EQ(std::memcmp(w->data(), bytes.data(), bytes.size()), 0);
    const size_t ws = row_size(t, k);
    const int64_t run = cpu::pack_run_rows(ws);
    ASSERT_EQ(rel.ranges.size(), static_cast<size_t>((m + run - 1) / run + 1)) << dtype_name(t);
    for (size_t i = 0; i + 1 < rel.ranges.size(); ++i) {
      EXPECT_EQ(rel.ranges[i].first, bytes.data() + i * run * ws);
      EXPECT_EQ(rel.ranges[i].second, std::min<int64_t>(run, m - static_cast<int64_t>(i) * run) * ws);
    }
    EXPECT_EQ(rel.ranges.back().first, bytes.data());
    EXPECT_EQ(rel.ranges.back().second, bytes.size());
    be->matmul(*w, x.data(), 3, got.data());
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0) << dtype_name(t);
    // Rows stay rows: the copy reads back as the file did.
    auto f = w->to_f32();
    ASSERT_TRUE(f.ok());
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

// Runs the products one by one through matmul and together through matmuls, on 1 and 3 threads,
// and expects each product's bits to be the same both ways.
void expect_matmuls_as_matmul(std::vector<Tensor>& ws, const std::vector<const float*>& xs,
                              const std::vector<int64_t>& rows) {
  for (int threads : {1, 3}) {
    auto be = make_cpu_backend(threads);
    for (Tensor& w : ws) ASSERT_TRUE(be->prepare_weight(w, nullptr).ok());
    std::vector<std::vector<float>> want, got;
    std::vector<MatmulJob> jobs;
    for (size_t i = 0; i < ws.size(); ++i) {
      want.emplace_back(static_cast<size_t>(rows[i] * ws[i].ne(1)));
      got.emplace_back(want.back().size(), std::nanf(""));
      be->matmul(ws[i], xs[i], rows[i], want.back().data());
    }
    for (size_t i = 0; i < ws.size(); ++i) jobs.push_back({&ws[i], xs[i], rows[i], got[i].data()});
    be->matmuls(jobs);
    for (size_t i = 0; i < ws.size(); ++i)
      EXPECT_EQ(0, std::memcmp(got[i].data(), want[i].data(), want[i].size() * 4))
          << "product " << i << " " << dtype_name(ws[i].dtype()) << " threads " << threads;
  }
}

// Backend::matmuls runs products of one or two rows one per thread and larger ones with threads
// inside: each product gets the bits that matmul alone gives it, packed (Q8_0) or not (F16), at 1
// and 3 threads.
TEST(CpuBackend, MatmulsGiveEachProductTheBitsOfMatmulAlone) {
  std::mt19937 rng(9);
  const int64_t m = 48, k = 256;
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<Tensor> ws;
  for (DType t : {DType::q8_0, DType::f16, DType::q8_0, DType::q4_k, DType::f16}) {
    bytes.push_back(quantized(t, m, k, rng));
    const int64_t ne[] = {k, m};
    auto w = Tensor::view(t, ne, bytes.back().data(), bytes.back().size());
    ASSERT_TRUE(w.ok());
    ws.push_back(std::move(*w));
  }
  const int64_t rows[] = {1, 2, 1, 5, 2};  // two of more than two rows' kind, three small ones
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<std::vector<float>> xs;
  for (int64_t n : rows) {
    xs.emplace_back(static_cast<size_t>(n * k));
    for (auto& v : xs.back()) v = nd(rng);
  }
  std::vector<const float*> xp;
  for (const auto& x : xs) xp.push_back(x.data());
  expect_matmuls_as_matmul(ws, xp, std::vector<int64_t>(std::begin(rows), std::end(rows)));
}

// Matrix-vector products of whole matrices (at least 1 MiB: a layer's q, k, v or gate, up at
// decode) go through cpu::matvecs, one parallel region for all of them, the activations converted
// once per distinct input; small ones still go one per thread. Each product gets matmul's bits.
TEST(CpuBackend, MatmulsOfWholeMatricesGiveTheBitsOfMatmulAlone) {
  std::mt19937 rng(19);
  const struct {
    DType t;
    int64_t m, k, n;
    int x;  // which input: jobs with the same one share its conversion
  } specs[] = {{DType::q4_0, 2048, 1024, 1, 0}, {DType::q8_0, 1024, 1024, 1, 0}, {DType::f16, 1024, 1024, 1, 0},
               {DType::q4_k, 2048, 512, 1, 1},  // 0.59 MB: one per thread
               {DType::q4_0, 2048, 1024, 2, 2}};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<Tensor> ws;
  std::vector<std::vector<float>> xs(3);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  for (const auto& sp : specs) {
    bytes.push_back(quantized(sp.t, sp.m, sp.k, rng));
    const int64_t ne[] = {sp.k, sp.m};
    auto w = Tensor::view(sp.t, ne, bytes.back().data(), bytes.back().size());
    ASSERT_TRUE(w.ok());
    ws.push_back(std::move(*w));
    auto& x = xs[static_cast<size_t>(sp.x)];
    if (x.empty()) {
      x.resize(static_cast<size_t>(sp.n * sp.k));
      for (auto& v : x) v = nd(rng);
    }
  }
  EXPECT_GE(ws[0].n_bytes(), uint64_t{1} << 20);
  EXPECT_LT(ws[3].n_bytes(), uint64_t{1} << 20);
  std::vector<const float*> xp;
  std::vector<int64_t> rows;
  for (const auto& sp : specs) {
    xp.push_back(xs[static_cast<size_t>(sp.x)].data());
    rows.push_back(sp.n);
  }
  expect_matmuls_as_matmul(ws, xp, rows);
}

}  // namespace
}  // namespace fragua::backend
