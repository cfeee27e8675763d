// SPDX-License-Identifier: Apache-2.0
// Causal scaled dot-product attention (Vaswani et al. 2017) with grouped-query attention
// (Ainslie et al. 2023): query head h uses key/value head h / (NH / NKV).
//   forward:  S = Q K^T / sqrt(HS) (causal), P = softmax(S), out = P V
//   backward: dP = dout V^T;  dS = P * (dP - rowsum(P * dP)) / sqrt(HS)   (softmax Jacobian)
//             dQ += dS K;  dK += dS^T Q;  dV += P^T dout
// Tiled as FlashAttention (Dao et al. 2022, recomputation in backward): per (batch, head) the
// queries go in blocks of kAttnRows rows against the keys up to the block's last row (causal
// block skipping), so only a kAttnRows x T strip of scores exists at a time; forward keeps one
// log-sum-exp per query row and backward recomputes P from it. Every product is one call of
// the attention GEMM and the softmax row passes (attention_gemm.h), AVX-512 where the CPU
// has it.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fragua/train/kernels.h"
#include "train/kernels/attention_gemm.h"

namespace fragua::train::kernels {

namespace {

constexpr int kAttnRows = 64;

// KernelOptions::use_blas = false selects the portable loops here too, so the reference tests
// run both builds on a machine with AVX-512.
const AttentionOps& pick_attention_ops(const KernelOptions& opts) {
  static const bool has_avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return opts.use_blas && has_avx512 ? kAttentionOpsAvx512 : kAttentionOpsPortable;
}

// dst (HS, T) = the T rows of HS floats at src with stride ld, transposed.
void attn_transpose_rows(float* dst, const float* src, int T, int HS, int ld) {
  for (int j = 0; j < T; ++j) {
    const float* row = src + static_cast<size_t>(j) * ld;
    for (int d = 0; d < HS; ++d) dst[static_cast<size_t>(d) * T + j] = row[d];
  }
}

void attn_gemm_portable(float* C, int ldc, const float* A, int lda, bool a_transposed, const float* B, int ldb, int M,
                        int N, int K, bool accumulate) {
  for (int i = 0; i < M; ++i) {
    float* c = C + static_cast<size_t>(i) * ldc;
    if (!accumulate) std::fill(c, c + N, 0.0f);
    for (int k = 0; k < K; ++k) {
      const float a = a_transposed ? A[static_cast<size_t>(k) * lda + i] : A[static_cast<size_t>(i) * lda + k];
      const float* b = B + static_cast<size_t>(k) * ldb;
      for (int j = 0; j < N; ++j) c[j] += a * b[j];
    }
  }
}

void attn_softmax_rows_portable(float* S, int ld, int m, int n, int r0, float scale, float* lse) {
  for (int i = 0; i < m; ++i) {
    const int r = r0 + i;
    float* row = S + static_cast<size_t>(i) * ld;
    float mx = -INFINITY;
    for (int j = 0; j <= r; ++j) {
      row[j] *= scale;
      mx = std::max(mx, row[j]);
    }
    float sum = 0;
    for (int j = 0; j <= r; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j <= r; ++j) row[j] *= inv;
    for (int j = r + 1; j < n; ++j) row[j] = 0;
    lse[r] = mx + std::log(sum);
  }
}

void attn_softmax_grad_rows_portable(float* S, float* dP, int ld, int m, int n, int r0, float scale,
                                     const float* lse) {
  for (int i = 0; i < m; ++i) {
    const int r = r0 + i;
    float* prow = S + static_cast<size_t>(i) * ld;
    float* drow = dP + static_cast<size_t>(i) * ld;
    float dot = 0;
    for (int j = 0; j <= r; ++j) {
      prow[j] = std::exp(prow[j] * scale - lse[r]);
      dot += prow[j] * drow[j];
    }
    for (int j = 0; j <= r; ++j) drow[j] = prow[j] * (drow[j] - dot) * scale;
    for (int j = r + 1; j < n; ++j) prow[j] = drow[j] = 0;
  }
}

}  // namespace

const AttentionOps kAttentionOpsPortable{attn_gemm_portable, attn_softmax_rows_portable,
                                         attn_softmax_grad_rows_portable};

// out (B,T,NH,HS), lse (B,NH,T), q (B,T,NH,HS), k v (B,T,NKV,HS)
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int B, int T, int NH,
                       int NKV, int HS, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const AttentionOps& ops = pick_attention_ops(opts);
  const int group = NH / NKV, ldq = NH * HS, ldk = NKV * HS;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(opts, static_cast<size_t>(B) * NH, [&](size_t s, size_t e) {
    std::vector<float> kt(static_cast<size_t>(HS) * T), strip(static_cast<size_t>(kAttnRows) * T);
    for (size_t unit = s; unit < e; ++unit) {
      const int b = static_cast<int>(unit / NH), h = static_cast<int>(unit % NH), g = h / group;
      const size_t bt = static_cast<size_t>(b) * T;
      attn_transpose_rows(kt.data(), k + bt * ldk + static_cast<size_t>(g) * HS, T, HS, ldk);
      const float* vg = v + bt * ldk + static_cast<size_t>(g) * HS;
      float* lse_h = lse + (static_cast<size_t>(b) * NH + h) * T;
      for (int r0 = 0; r0 < T; r0 += kAttnRows) {
        const int r1 = std::min(T, r0 + kAttnRows), m = r1 - r0, n = r1;
        const size_t qoff = ((bt + r0) * NH + h) * HS;
        ops.gemm(strip.data(), T, q + qoff, ldq, false, kt.data(), T, m, n, HS, false);
        ops.softmax_rows(strip.data(), T, m, n, r0, scale, lse_h);
        ops.gemm(out + qoff, ldq, strip.data(), T, false, vg, ldk, m, HS, n, false);
      }
    }
  });
}

// dq (B,T,NH,HS), dk dv (B,T,NKV,HS), dout (B,T,NH,HS), lse (B,NH,T) from forward, q k v as in
// forward. Work is split by (batch, key/value head): each unit owns its dk/dv rows and the dq rows
// of the query heads in its group, so no two threads write the same element and the sums run in
// the same order whatever the thread count.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* q,
                        const float* k, const float* v, int B, int T, int NH, int NKV, int HS,
                        const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const AttentionOps& ops = pick_attention_ops(opts);
  const int group = NH / NKV, ldq = NH * HS, ldk = NKV * HS;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(opts, static_cast<size_t>(B) * NKV, [&](size_t s, size_t e) {
    const size_t strip_floats = static_cast<size_t>(kAttnRows) * T;
    std::vector<float> kt(static_cast<size_t>(HS) * T), vt(static_cast<size_t>(HS) * T), p(strip_floats),
        dp(strip_floats);
    for (size_t unit = s; unit < e; ++unit) {
      const int b = static_cast<int>(unit / NKV), g = static_cast<int>(unit % NKV);
      const size_t bt = static_cast<size_t>(b) * T, kvoff = bt * ldk + static_cast<size_t>(g) * HS;
      attn_transpose_rows(kt.data(), k + kvoff, T, HS, ldk);
      attn_transpose_rows(vt.data(), v + kvoff, T, HS, ldk);
      for (int h = g * group; h < (g + 1) * group; ++h) {
        const float* lse_h = lse + (static_cast<size_t>(b) * NH + h) * T;
        for (int r0 = 0; r0 < T; r0 += kAttnRows) {
          const int r1 = std::min(T, r0 + kAttnRows), m = r1 - r0, n = r1;
          const size_t qoff = ((bt + r0) * NH + h) * HS;
          ops.gemm(p.data(), T, q + qoff, ldq, false, kt.data(), T, m, n, HS, false);
          ops.gemm(dp.data(), T, dout + qoff, ldq, false, vt.data(), T, m, n, HS, false);
          ops.softmax_grad_rows(p.data(), dp.data(), T, m, n, r0, scale, lse_h);
          ops.gemm(dq + qoff, ldq, dp.data(), T, false, k + kvoff, ldk, m, HS, n, true);
          ops.gemm(dk + kvoff, ldk, dp.data(), T, true, q + qoff, ldq, n, HS, m, true);
          ops.gemm(dv + kvoff, ldk, p.data(), T, true, dout + qoff, ldq, n, HS, m, true);
        }
      }
    }
  });
}

}  // namespace fragua::train::kernels
