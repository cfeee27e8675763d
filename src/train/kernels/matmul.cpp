// SPDX-License-Identifier: Apache-2.0
// Linear layer without bias: out = inp @ weight^T. The fast path calls OpenBLAS sgemm (measured
// faster than our loops at every training size: docs/benchmarks/train.md); the plain loops stay
// beside it as the reference the tests check the BLAS path against.
//   forward:  out (N,OC)   = inp (N,C) @ W^T (C,OC)
//   backward: dinp (N,C)  += dout (N,OC) @ W (OC,C)
//             dW (OC,C)   += dout^T (OC,N) @ inp (N,C)
#include "fragua/train/kernels.h"

#include <cblas.h>

namespace fragua::train::kernels {

namespace {

// Dot product with 8 independent accumulators so the compiler can vectorize without -ffast-math.
inline float mm_dot(const float* a, const float* b, int n) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

void set_blas_threads(int n) { openblas_set_num_threads(n); }

// out (N,OC), inp (N,C), weight (OC,C)
void matmul_forward_plain(float* out, const float* inp, const float* weight, int N, int C, int OC,
                          const KernelOptions& opts) {
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n)
      for (int o = 0; o < OC; ++o) out[n * OC + o] = mm_dot(inp + n * C, weight + static_cast<size_t>(o) * C, C);
  });
}

// dinp (N,C), dweight (OC,C), dout (N,OC), inp (N,C), weight (OC,C)
void matmul_backward_plain(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, int N,
                           int C, int OC, const KernelOptions& opts) {
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n) {
      float* dx = dinp + n * C;
      for (int o = 0; o < OC; ++o) {
        float g = dout[n * OC + o];
        const float* w = weight + static_cast<size_t>(o) * C;
        for (int c = 0; c < C; ++c) dx[c] += g * w[c];
      }
    }
  });
  parallel_for(opts, static_cast<size_t>(OC), [&](size_t b, size_t e) {
    for (size_t o = b; o < e; ++o) {
      float* dw = dweight + o * C;
      for (int n = 0; n < N; ++n) {
        float g = dout[static_cast<size_t>(n) * OC + o];
        const float* x = inp + static_cast<size_t>(n) * C;
        for (int c = 0; c < C; ++c) dw[c] += g * x[c];
      }
    }
  });
}

void matmul_forward(float* out, const float* inp, const float* weight, int N, int C, int OC,
                    const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::matmul);
  if (opts.profile) opts.profile->matmul_flops += 2.0 * N * C * OC;
  if (opts.bf16) return gemm_bf16(out, OC, inp, C, 1, weight, 1, C, N, OC, C, false, opts);
  if (!opts.use_blas) return matmul_forward_plain(out, inp, weight, N, C, OC, opts);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, weight, C, 0.0f, out, OC);
}

void matmul_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, int N,
                     int C, int OC, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::matmul);
  if (opts.profile) opts.profile->matmul_flops += 4.0 * N * C * OC;
  if (opts.bf16) {
    gemm_bf16(dinp, C, dout, OC, 1, weight, C, 1, N, C, OC, true, opts);
    gemm_bf16(dweight, C, dout, 1, OC, inp, C, 1, OC, C, N, true, opts);
    return;
  }
  if (!opts.use_blas) return matmul_backward_plain(dinp, dweight, dout, inp, weight, N, C, OC, opts);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
}

}  // namespace fragua::train::kernels
