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

float ssm_reduce16_scalar(const float* l) {
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
      float sum = ssm_reduce16_scalar(lanes);
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

void ssm_scan_threaded(const backend::SsmScanArgs& a, ThreadPool& pool) {
  const int64_t heads_per_group = a.n_head / a.n_group, P = a.head_dim, N = a.d_state;
  const int64_t di = a.n_head * P;
  auto heads = [&](size_t h0, size_t h1) {
    for (auto h = static_cast<int64_t>(h0); h < static_cast<int64_t>(h1); ++h) {
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
