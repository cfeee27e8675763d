// SPDX-License-Identifier: Apache-2.0
// The Mamba-2 kernels: the selective scan and the causal convolution give the same bits on every
// SIMD level and any thread count, and stay within float rounding of the plain references
// (backend::ref::ssm_scan / ssm_conv), themselves checked against a double-precision recurrence.
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/backend/backend.h"
#include "test_util.h"

namespace fragua {
namespace {

struct SsmLevelGuard {
  std::string saved = cpu::simd_level();
  ~SsmLevelGuard() { cpu::set_simd_level(saved); }
};

std::vector<float> ssm_random(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// A scan problem: n tokens, H heads of P channels, G groups, state size N; rows padded past the
// x/B/C values (stride) so that strides are exercised.
struct ScanCase {
  int64_t n, H, P, G, N;
  std::vector<float> xbc, dt, dt_bias, A, D, state0;
  int64_t stride() const { return H * P + 2 * G * N + 3; }
  explicit ScanCase(int64_t n_, int64_t H_, int64_t P_, int64_t G_, int64_t N_, uint32_t seed)
      : n(n_), H(H_), P(P_), G(G_), N(N_) {
    std::mt19937 rng(seed);
    xbc = ssm_random(static_cast<size_t>(n * stride()), -1.0f, 1.0f, rng);
    dt = ssm_random(static_cast<size_t>(n * (H + 1)), -3.0f, 1.0f, rng);
    dt[0] = 25.0f;  // past softplus's identity threshold
    dt_bias = ssm_random(static_cast<size_t>(H), -0.5f, 0.5f, rng);
    A = ssm_random(static_cast<size_t>(H), -4.0f, -0.1f, rng);
    D = ssm_random(static_cast<size_t>(H), -1.0f, 1.0f, rng);
    state0 = ssm_random(static_cast<size_t>(H * P * N), -0.5f, 0.5f, rng);
  }
  // Runs `fn` on the case; returns y then the final state.
  template <class Fn>
  std::vector<float> run(Fn fn) const {
    std::vector<float> y(static_cast<size_t>(n * H * P)), s = state0;
    backend::SsmScanArgs a;
    a.xbc = xbc.data();
    a.xbc_stride = stride();
    a.dt = dt.data();
    a.dt_stride = H + 1;
    a.dt_bias = dt_bias.data();
    a.A = A.data();
    a.D = D.data();
    a.state = s.data();
    a.y = y.data();
    a.y_stride = H * P;
    a.n = n;
    a.n_head = H;
    a.head_dim = P;
    a.d_state = N;
    a.n_group = G;
    fn(a);
    y.insert(y.end(), s.begin(), s.end());
    return y;
  }
  // The recurrence in double from the same inputs.
  std::vector<double> exact() const {
    std::vector<double> y(static_cast<size_t>(n * H * P)), s(state0.begin(), state0.end());
    const int64_t DI = H * P;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t h = 0; h < H; ++h) {
        const double v = double(dt[static_cast<size_t>(t * (H + 1) + h)]) + dt_bias[static_cast<size_t>(h)];
        const double d = v > 20.0 ? v : std::log1p(std::exp(v));
        const double dA = std::exp(d * A[static_cast<size_t>(h)]);
        const int64_t g = h / (H / G);
        for (int64_t p = 0; p < P; ++p) {
          const double x = xbc[static_cast<size_t>(t * stride() + h * P + p)];
          double acc = 0;
          for (int64_t i = 0; i < N; ++i) {
            double& st = s[static_cast<size_t>((h * P + p) * N + i)];
            st = st * dA + d * x * xbc[static_cast<size_t>(t * stride() + DI + g * N + i)];
            acc += st * xbc[static_cast<size_t>(t * stride() + DI + G * N + g * N + i)];
          }
          y[static_cast<size_t>(t * DI + h * P + p)] = acc + D[static_cast<size_t>(h)] * x;
        }
      }
    y.insert(y.end(), s.begin(), s.end());
    return y;
  }
};

void expect_close_to_exact(const std::vector<float>& got, const std::vector<double>& want, double rel,
                           const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], rel * scale) << what << " at " << i;
}

TEST(SsmScan, EveryLevelAndThreadCountGivesTheSameBitsNearTheDoubleRecurrence) {
  SsmLevelGuard guard;
  // State sizes: whole blocks of 64 (128 as in Granite 4.0), a block and a tail (80), tails alone
  // (16, 20).
  for (const ScanCase& c : {ScanCase(5, 4, 8, 2, 128, 1), ScanCase(7, 3, 4, 1, 16, 2), ScanCase(3, 2, 3, 2, 20, 3),
                            ScanCase(4, 2, 4, 1, 80, 4)}) {
    const std::string what = "N=" + std::to_string(c.N);
    const std::vector<double> exact = c.exact();
    expect_close_to_exact(c.run([](const backend::SsmScanArgs& a) { backend::ref::ssm_scan(a); }), exact, 2e-6,
                          what + " ref");
    cpu::set_simd_level("scalar");
    ThreadPool one(1), three(3);
    const std::vector<float> want = c.run([&](const backend::SsmScanArgs& a) { cpu::ssm_scan_threaded(a, one); });
    expect_close_to_exact(want, exact, 2e-6, what + " scalar");
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!cpu::simd_supported(level)) continue;
      cpu::set_simd_level(level);
      for (ThreadPool* pool : {&one, &three}) {
        const std::vector<float> got =
            c.run([&](const backend::SsmScanArgs& a) { cpu::ssm_scan_threaded(a, *pool); });
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << what << " " << level << " threads " << pool->size() << " at " << i;
      }
    }
  }
}

// The chunked (SSD) form: prompt runs cut into chunks of a.chunk tokens (a last chunk shorter, a
// run shorter than one chunk), from a non-zero state. The same bits on every level and thread
// count (its products run on the float GEMM, one arithmetic on every level), and near the double
// recurrence within the recurrent form's bound, though it sums in another order (measured: at
// most 1.4e-7 of the largest value here).
TEST(SsmScanChunked, EveryLevelAndThreadCountGivesTheSameBitsNearTheDoubleRecurrence) {
  SsmLevelGuard guard;
  struct Chunked {
    ScanCase c;
    int64_t chunk;
  };
  for (const Chunked& k : {Chunked{ScanCase(13, 4, 8, 2, 128, 11), 4}, Chunked{ScanCase(5, 3, 4, 1, 16, 12), 8},
                           Chunked{ScanCase(70, 2, 16, 1, 80, 13), 16}, Chunked{ScanCase(9, 2, 3, 2, 20, 14), 9}}) {
    const ScanCase& c = k.c;
    const std::string what = "n=" + std::to_string(c.n) + " chunk " + std::to_string(k.chunk);
    const std::vector<double> exact = c.exact();
    cpu::set_simd_level("scalar");
    ThreadPool one(1), three(3);
    auto chunked = [&](ThreadPool& pool) {
      return c.run([&](const backend::SsmScanArgs& a) {
        backend::SsmScanArgs b = a;
        b.chunk = k.chunk;
        cpu::ssm_scan_threaded(b, pool);
      });
    };
    const std::vector<float> want = chunked(one);
    expect_close_to_exact(want, exact, 2e-6, what + " scalar");
    for (const char* level : {"scalar", "avx2", "avx512"}) {
      if (!cpu::simd_supported(level)) continue;
      cpu::set_simd_level(level);
      for (ThreadPool* pool : {&one, &three}) {
        const std::vector<float> got = chunked(*pool);
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_EQ(got[i], want[i]) << what << " " << level << " threads " << pool->size() << " at " << i;
      }
    }
  }
}

// The convolution of `channels` over n tokens from a given state: y then the new state.
std::vector<float> conv_run(int64_t n, int64_t C, int64_t K, uint32_t seed,
                            const std::function<void(const backend::SsmConvArgs&)>& fn) {
  std::mt19937 rng(seed);
  const int64_t stride = C + 5;
  std::vector<float> in = ssm_random(static_cast<size_t>(n * stride), -2.0f, 2.0f, rng);
  std::vector<float> w = ssm_random(static_cast<size_t>(C * K), -1.0f, 1.0f, rng);
  std::vector<float> bias = ssm_random(static_cast<size_t>(C), -0.5f, 0.5f, rng);
  std::vector<float> state = ssm_random(static_cast<size_t>((K - 1) * C), -2.0f, 2.0f, rng);
  std::vector<float> out(static_cast<size_t>(n * C));
  backend::SsmConvArgs a;
  a.in = in.data();
  a.in_stride = stride;
  a.out = out.data();
  a.weight = w.data();
  a.bias = bias.data();
  a.state = state.data();
  a.n = n;
  a.channels = C;
  a.d_conv = K;
  fn(a);
  out.insert(out.end(), state.begin(), state.end());
  return out;
}

TEST(SsmConv, EveryLevelAndThreadCountGivesTheSameBitsNearTheReference) {
  SsmLevelGuard guard;
  // Runs shorter than the state (1, 2 tokens with d_conv 4: the state shifts), longer ones, a
  // channel count that is no multiple of 8 or 16, and one large enough to be threaded.
  struct Shape {
    int64_t n, C, K;
  };
  for (const Shape s : {Shape{1, 37, 4}, Shape{2, 37, 4}, Shape{9, 37, 4}, Shape{6, 40, 2}, Shape{64, 1100, 4}}) {
    const std::string what = "n=" + std::to_string(s.n) + " C=" + std::to_string(s.C);
    const auto ref = conv_run(s.n, s.C, s.K, 7, [](const backend::SsmConvArgs& a) { backend::ref::ssm_conv(a); });
    cpu::set_simd_level("scalar");
    ThreadPool one(1), three(3);
    const auto want = conv_run(s.n, s.C, s.K, 7, [&](const backend::SsmConvArgs& a) { cpu::ssm_conv_threaded(a, one); });
    for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(want[i], ref[i], 2e-6 * (1 + std::fabs(ref[i]))) << what;
    // The new state is the last d_conv-1 inputs exactly.
    for (size_t i = static_cast<size_t>(s.n * s.C); i < want.size(); ++i) ASSERT_EQ(want[i], ref[i]) << what;
    for (const char* level : {"avx2", "avx512"}) {
      if (!cpu::simd_supported(level)) continue;
      cpu::set_simd_level(level);
      for (ThreadPool* pool : {&one, &three}) {
        const auto got =
            conv_run(s.n, s.C, s.K, 7, [&](const backend::SsmConvArgs& a) { cpu::ssm_conv_threaded(a, *pool); });
        for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], want[i]) << what << " " << level << " at " << i;
      }
    }
  }
}

// The conv of a run split in two (state carried) is the conv of the whole run.
TEST(SsmConv, ASplitRunCarriesItsStateExactly) {
  ThreadPool pool(2);
  const int64_t C = 19, K = 4, n = 7;
  std::mt19937 rng(5);
  std::vector<float> in = ssm_random(static_cast<size_t>(n * C), -1.0f, 1.0f, rng);
  std::vector<float> w = ssm_random(static_cast<size_t>(C * K), -1.0f, 1.0f, rng);
  std::vector<float> bias = ssm_random(static_cast<size_t>(C), -0.5f, 0.5f, rng);
  auto run = [&](std::vector<float>& state, int64_t from, int64_t count, float* out) {
    backend::SsmConvArgs a;
    a.in = in.data() + from * C;
    a.in_stride = C;
    a.out = out;
    a.weight = w.data();
    a.bias = bias.data();
    a.state = state.data();
    a.n = count;
    a.channels = C;
    a.d_conv = K;
    cpu::ssm_conv_threaded(a, pool);
  };
  std::vector<float> s1(static_cast<size_t>((K - 1) * C)), s2 = s1, whole(static_cast<size_t>(n * C)), parts = whole;
  run(s1, 0, n, whole.data());
  for (int64_t t = 0; t < n; ++t) run(s2, t, 1, parts.data() + t * C);
  EXPECT_EQ(whole, parts);
  EXPECT_EQ(s1, s2);
}

}  // namespace
}  // namespace fragua
