// SPDX-License-Identifier: Apache-2.0
// The Mamba-2 kernels' scalar level (kernels.h: SsmHead, SsmConvRows): the definition of the
// arithmetic that simd/ssm.inl reproduces bit for bit, with every product-sum an explicit fma;
// the CPU backend's threaded drivers; and the plain references (backend.h: ref::ssm_*).
#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "backend/cpu/kernels.h"
#include "fragua/backend/backend.h"
#include "fragua/base/thread_pool.h"

namespace fragua::cpu {

float ssm_dt_scalar(float raw, float bias, float A, float* dA) {
  const float v = raw + bias;
  // ggml_compute_softplus_f32 (ggml-impl.h): log(1 + exp(v)) in f32, v itself above 20.
  const float dt = v > 20.0f ? v : std::log(1.0f + std::exp(v));
  *dA = std::exp(dt * A);
  return dt;
}

float reduce16_scalar(const float* l) {
  float v8[8], v4[4];
  for (int j = 0; j < 8; ++j) v8[j] = l[j] + l[j + 8];
  for (int j = 0; j < 4; ++j) v4[j] = v8[j] + v8[j + 4];
  return (v4[0] + v4[2]) + (v4[1] + v4[3]);
}

// The scan in the arithmetic of llama.cpp's ggml_compute_forward_ssm_scan_f32 (Mamba-2 branch) as
// the bench's peer runs it (GCC, -march=native on AVX-512: GGML_F32_STEP 64 = four registers of
// 16; GCC contracts its mul-then-add of the state into one fma): s = fma(s, dA, B x dt); over each
// whole block of 64 state values, y's sum in four 16-lane accumulators, value i in accumulator
// (i mod 64) / 16, lane i mod 16, by fma, the accumulators added (0 + 2) + (1 + 3)
// (GGML_F32_VEC_REDUCE) and the 16 lanes as _mm512_reduce_add_ps adds them; the values past the
// last whole block in a scalar fma chain after that. The D skip is the graph's separate ggml_mul
// and ggml_add: y = sum + (D x). Checked bit for bit against the peer's libggml-cpu (ggml_ssm_scan
// on random inputs, state sizes 16, 64, 80, 128).
void ssm_scan_scalar(const SsmHead& a) {
  const int64_t blocked = a.N / 64 * 64;
  for (int64_t t = 0; t < a.n; ++t) {
    float dA = 0.0f;
    const float dt = ssm_dt_scalar(a.dt[static_cast<size_t>(t) * a.dt_ld], a.dt_bias, a.A, &dA);
    const float* x = a.x + static_cast<size_t>(t) * a.ld;
    const float* B = a.B + static_cast<size_t>(t) * a.ld;
    const float* C = a.C + static_cast<size_t>(t) * a.ld;
    float* y = a.y + static_cast<size_t>(t) * a.y_ld;
    for (int64_t p = 0; p < a.P; ++p) {
      const float xdt = x[p] * dt;
      float* s = a.s + p * a.N;
      float acc[4][16] = {};
      for (int64_t i = 0; i < blocked; ++i) {
        s[i] = std::fma(s[i], dA, B[i] * xdt);
        float& lane = acc[(i % 64) / 16][i % 16];
        lane = std::fma(s[i], C[i], lane);
      }
      float lanes[16];
      for (int j = 0; j < 16; ++j) lanes[j] = (acc[0][j] + acc[2][j]) + (acc[1][j] + acc[3][j]);
      float sum = reduce16_scalar(lanes);
      for (int64_t i = blocked; i < a.N; ++i) {
        s[i] = std::fma(s[i], dA, B[i] * xdt);
        sum = std::fma(s[i], C[i], sum);
      }
      y[p] = sum + ssm_skip_product(a.D, x[p]);
    }
  }
}

void ssm_conv_scalar(const SsmConvRows& a) {
  for (int64_t t = 0; t < a.n; ++t) {
    float* out = a.out + static_cast<size_t>(t) * a.out_ld;
    for (int64_t c = 0; c < a.nc; ++c) {
      float acc = 0.0f;
      for (int64_t k = 0; k < a.K; ++k) {
        const int64_t r = t + k;
        const float v = r < a.K - 1 ? a.state[static_cast<size_t>(r) * a.state_ld + static_cast<size_t>(c)]
                                    : a.in[static_cast<size_t>(r - (a.K - 1)) * a.in_ld + static_cast<size_t>(c)];
        acc = std::fma(v, a.wt[static_cast<size_t>(k) * a.wt_ld + static_cast<size_t>(c)], acc);
      }
      out[c] = acc + a.bias[c];
    }
    swiglu_scalar(out, nullptr, a.nc, out);
  }
}

}  // namespace fragua::cpu

namespace fragua::cpu {

namespace {

// The chunked (state-space duality) form of the scan (Dao & Gu 2024, section 6; the "ssd_minimal"
// listing): over a chunk of L tokens with cumulative decays d[t][s] = dA[s+1] ... dA[t] (d[t][t] =
// 1), and S0 the state before the chunk,
//   y[t]  = sum_{s <= t} (C[t] . B[s]) d[t][s] dt[s] x[s]   (intra-chunk: masked matrix products)
//         + d[t][-1] (C[t] . S0) + D x[t]                      (the state passed in)
//   S_new = d[L-1][-1] S0 + sum_s d[L-1][s] dt[s] x[s] B[s]^T  (the state passed on)
// The products run on gemm_f32 (the float kernels, one arithmetic on every SIMD level), the rest
// in scalar code on one thread per head, so that the bits depend neither on the level nor on the
// thread count. G = C B^T is computed once per group and chunk (the heads of a group share B, C).
struct SsdScratch {
  std::vector<float> decay, M, xt, xwt, bt, ys, ds, dt, da;
  void fit(int64_t L, int64_t P, int64_t N) {
    decay.resize(static_cast<size_t>(L * L));
    M.resize(static_cast<size_t>(L * L));
    xt.resize(static_cast<size_t>(P * L));
    xwt.resize(static_cast<size_t>(P * L));
    bt.resize(static_cast<size_t>(N * L));
    ys.resize(static_cast<size_t>(L * P));
    ds.resize(static_cast<size_t>(P * N));
    dt.resize(static_cast<size_t>(L));
    da.resize(static_cast<size_t>(L));
  }
};

// One head over one chunk of Lc tokens starting at t0. G: [Lc][Lc], G[t][s] = C[t] . B[s].
void ssd_head_chunk(const SsmHead& a, int64_t t0, int64_t Lc, const float* G, SsdScratch& w) {
  const int64_t P = a.P, N = a.N;
  for (int64_t t = 0; t < Lc; ++t)
    w.dt[t] = ssm_dt_scalar(a.dt[static_cast<size_t>(t0 + t) * a.dt_ld], a.dt_bias, a.A, &w.da[t]);
  // decay[t][s] for s <= t: row t from its diagonal down, decay[t][s] = decay[t][s + 1] * dA[s + 1].
  for (int64_t t = 0; t < Lc; ++t) {
    float* d = w.decay.data() + t * Lc;
    d[t] = 1.0f;
    for (int64_t s = t - 1; s >= 0; --s) d[s] = d[s + 1] * w.da[s + 1];
  }
  std::vector<float>& M = w.M;
  for (int64_t t = 0; t < Lc; ++t)
    for (int64_t s = 0; s < Lc; ++s)
      M[static_cast<size_t>(t * Lc + s)] =
          s <= t ? G[t * Lc + s] * (w.decay[static_cast<size_t>(t * Lc + s)] * w.dt[s]) : 0.0f;
  for (int64_t s = 0; s < Lc; ++s) {
    const float* x = a.x + static_cast<size_t>(t0 + s) * a.ld;
    for (int64_t p = 0; p < P; ++p) w.xt[static_cast<size_t>(p * Lc + s)] = x[p];
  }
  float* y0 = a.y + static_cast<size_t>(t0) * a.y_ld;
  // y[t][p] = sum_s M[t][s] x[s][p]
  gemm_f32(Lc, w.xt.data(), Lc, P, M.data(), Lc, Lc, y0, static_cast<int64_t>(a.y_ld));
  // ys[t][p] = C[t] . S0[p]
  gemm_f32(N, a.s, N, P, a.C + static_cast<size_t>(t0) * a.ld, static_cast<int64_t>(a.ld), Lc, w.ys.data(), P);
  float dstart = 1.0f;  // dA[0] ... dA[t]: the decay S0 has gone through by token t
  for (int64_t t = 0; t < Lc; ++t) {
    dstart *= w.da[t];
    const float* x = a.x + static_cast<size_t>(t0 + t) * a.ld;
    float* y = y0 + static_cast<size_t>(t) * a.y_ld;
    for (int64_t p = 0; p < P; ++p)
      y[p] = std::fma(dstart, w.ys[static_cast<size_t>(t * P + p)], y[p]) + ssm_skip_product(a.D, x[p]);
  }
  // S_new[p][n] = S0[p][n] * dstart + sum_s (decay[Lc-1][s] dt[s] x[s][p]) B[s][n]
  const float* last = w.decay.data() + (Lc - 1) * Lc;
  for (int64_t s = 0; s < Lc; ++s) {
    const float ws = last[s] * w.dt[s];
    const float* B = a.B + static_cast<size_t>(t0 + s) * a.ld;
    for (int64_t p = 0; p < P; ++p) w.xwt[static_cast<size_t>(p * Lc + s)] = ws * w.xt[static_cast<size_t>(p * Lc + s)];
    for (int64_t n = 0; n < N; ++n) w.bt[static_cast<size_t>(n * Lc + s)] = B[n];
  }
  gemm_f32(Lc, w.bt.data(), Lc, N, w.xwt.data(), Lc, P, w.ds.data(), N);
  for (int64_t i = 0; i < P * N; ++i) a.s[i] = std::fma(a.s[i], dstart, w.ds[static_cast<size_t>(i)]);
}

}  // namespace

void ssm_scan_threaded(const backend::SsmScanArgs& a, ThreadPool& pool) {
  const int64_t heads_per_group = a.n_head / a.n_group, P = a.head_dim, N = a.d_state;
  const int64_t di = a.n_head * P;
  // Head h's slices of the packed x|B|C rows, dt, its parameters, state and output.
  auto ssm_head_view = [&](int64_t h) {
    const int64_t g = h / heads_per_group;
    SsmHead head{};
    head.n = a.n;
    head.P = P;
    head.N = N;
    head.x = a.xbc + h * P;
    head.B = a.xbc + di + g * N;
    head.C = a.xbc + di + a.n_group * N + g * N;
    head.ld = static_cast<size_t>(a.xbc_stride);
    head.dt = a.dt + h;
    head.dt_ld = static_cast<size_t>(a.dt_stride);
    head.dt_bias = a.dt_bias[h];
    head.A = a.A[h];
    head.D = a.D[h];
    head.s = a.state + h * P * N;
    head.y = a.y + h * P;
    head.y_ld = static_cast<size_t>(a.y_stride);
    return head;
  };
  if (a.chunk > 0 && a.n > 1) {
    const int64_t L = a.chunk, n_chunks = (a.n + L - 1) / L, G = a.n_group;
    const auto ld = static_cast<size_t>(a.xbc_stride);
    // G[group][chunk] = C B^T over the chunk's tokens, [L][L] each (the last chunk's Lc x Lc).
    std::vector<float> gram(static_cast<size_t>(G * n_chunks * L * L));
    auto grams = [&](size_t i0, size_t i1) {
      for (auto i = static_cast<int64_t>(i0); i < static_cast<int64_t>(i1); ++i) {
        const int64_t g = i / n_chunks, c = i % n_chunks, t0 = c * L, Lc = std::min(L, a.n - t0);
        const float* B = a.xbc + di + g * N + static_cast<size_t>(t0) * ld;
        const float* C = B + a.n_group * N;
        gemm_f32(N, B, a.xbc_stride, Lc, C, a.xbc_stride, Lc, gram.data() + i * L * L, Lc);
      }
    };
    pool.parallel_for(static_cast<size_t>(G * n_chunks), grams);
    auto heads = [&](size_t h0, size_t h1) {
      thread_local SsdScratch w;
      w.fit(L, P, N);
      for (auto h = static_cast<int64_t>(h0); h < static_cast<int64_t>(h1); ++h) {
        const int64_t g = h / heads_per_group;
        const SsmHead head = ssm_head_view(h);
        for (int64_t c = 0; c < n_chunks; ++c)
          ssd_head_chunk(head, c * L, std::min(L, a.n - c * L), gram.data() + (g * n_chunks + c) * L * L, w);
      }
    };
    pool.parallel_for(static_cast<size_t>(a.n_head), heads);
    return;
  }
  auto heads = [&](size_t h0, size_t h1) {
    for (auto h = static_cast<int64_t>(h0); h < static_cast<int64_t>(h1); ++h) {
      SsmHead head = ssm_head_view(h);
      ssm_scan(head);
    }
  };
  // A head is P x N multiply-adds per token; below ~32k in all a fork-join costs more.
  if (a.n * a.n_head * P * N < (1 << 15))
    heads(0, static_cast<size_t>(a.n_head));
  else
    pool.parallel_for(static_cast<size_t>(a.n_head), heads);
}

void ssm_conv_threaded(const backend::SsmConvArgs& a, ThreadPool& pool) {
  const int64_t C = a.channels, K = a.d_conv;
  // Tap-major kernel, so that a vector of channels reads one row per tap.
  std::vector<float> wt(static_cast<size_t>(C * K));
  for (int64_t c = 0; c < C; ++c)
    for (int64_t k = 0; k < K; ++k) wt[static_cast<size_t>(k * C + c)] = a.weight[c * K + k];
  auto channels = [&](size_t b0, size_t b1) {
    const int64_t c0 = static_cast<int64_t>(b0) * 16, c1 = std::min(C, static_cast<int64_t>(b1) * 16);
    SsmConvRows r{};
    r.n = a.n;
    r.nc = c1 - c0;
    r.K = K;
    r.state = a.state + c0;
    r.state_ld = static_cast<size_t>(C);
    r.in = a.in + c0;
    r.in_ld = static_cast<size_t>(a.in_stride);
    r.wt = wt.data() + c0;
    r.wt_ld = static_cast<size_t>(C);
    r.bias = a.bias + c0;
    r.out = a.out + c0;
    r.out_ld = static_cast<size_t>(C);
    ssm_conv(r);
  };
  const auto blocks = static_cast<size_t>((C + 15) / 16);
  if (a.n * C * K < (1 << 16))
    channels(0, blocks);
  else
    pool.parallel_for(blocks, channels);
  // The new state: the last K-1 rows of state + run, oldest first (in place: row r takes row
  // n + r of the concatenation, never one already overwritten).
  for (int64_t r = 0; r < K - 1; ++r) {
    const int64_t src = a.n + r;
    const float* from = src < K - 1 ? a.state + src * C : a.in + (src - (K - 1)) * a.in_stride;
    std::copy_n(from, C, a.state + r * C);
  }
}

}  // namespace fragua::cpu

namespace fragua::backend {

void Backend::ssm_conv(const SsmConvArgs& a) { ref::ssm_conv(a); }
void Backend::ssm_scan(const SsmScanArgs& a) { ref::ssm_scan(a); }

namespace ref {

void ssm_conv(const SsmConvArgs& a) {
  const int64_t C = a.channels, K = a.d_conv;
  for (int64_t t = 0; t < a.n; ++t)
    for (int64_t c = 0; c < C; ++c) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t r = t + k;
        const float v = r < K - 1 ? a.state[r * C + c] : a.in[(r - (K - 1)) * a.in_stride + c];
        acc += v * a.weight[c * K + k];
      }
      acc += a.bias[c];
      a.out[t * C + c] = acc / (1.0f + std::exp(-acc));
    }
  for (int64_t r = 0; r < K - 1; ++r) {
    const int64_t src = a.n + r;
    const float* from = src < K - 1 ? a.state + src * C : a.in + (src - (K - 1)) * a.in_stride;
    std::copy_n(from, C, a.state + r * C);
  }
}

void ssm_scan(const SsmScanArgs& a) {
  const int64_t P = a.head_dim, N = a.d_state, di = a.n_head * P, hpg = a.n_head / a.n_group;
  for (int64_t t = 0; t < a.n; ++t) {
    const float* x = a.xbc + t * a.xbc_stride;
    for (int64_t h = 0; h < a.n_head; ++h) {
      const float v = a.dt[t * a.dt_stride + h] + a.dt_bias[h];
      const float dt = v > 20.0f ? v : std::log1p(std::exp(v));
      const float dA = std::exp(dt * a.A[h]);
      const float* B = x + di + (h / hpg) * N;
      const float* C = B + a.n_group * N;
      for (int64_t p = 0; p < P; ++p) {
        float* s = a.state + (h * P + p) * N;
        float acc = 0.0f;
        for (int64_t i = 0; i < N; ++i) {
          s[i] = s[i] * dA + B[i] * (x[h * P + p] * dt);
          acc += s[i] * C[i];
        }
        a.y[t * a.y_stride + h * P + p] = acc + a.D[h] * x[h * P + p];
      }
    }
  }
}

}  // namespace ref
}  // namespace fragua::backend
