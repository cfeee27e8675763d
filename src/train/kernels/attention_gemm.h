// SPDX-License-Identifier: Apache-2.0
// The pieces the tiled attention kernels (attention.cpp) are made of, in two builds chosen at
// run time (DESIGN 5): the portable loops (attention.cpp) and AVX-512 (attention_avx512.cpp).
#pragma once

namespace fragua::train::kernels {

struct AttentionOps {
  // C (M,N) (+)= op(A) (M,K) @ B (K,N), row-major with leading dimensions lda, ldb, ldc; op(A) = A
  // stored (M,K), or with a_transposed A stored (K,M) (element (m,k) at A[k*lda + m]);
  // accumulate = false overwrites C.
  void (*gemm)(float* C, int ldc, const float* A, int lda, bool a_transposed, const float* B, int ldb, int M, int N,
               int K, bool accumulate);
  // Rows i < m of the score strip S (leading dimension ld, n columns) for query rows r0 + i:
  // scale, causal softmax over columns <= r0 + i (zero beyond, up to n), lse[r0 + i] = its
  // log-sum-exp.
  void (*softmax_rows)(float* S, int ld, int m, int n, int r0, float scale, float* lse);
  // Backward of the same rows: P = exp(S * scale - lse) into S, and dP (same layout) becomes
  // dS = P * (dP - rowsum(P * dP)) * scale; both zero beyond the causal limit.
  void (*softmax_grad_rows)(float* S, float* dP, int ld, int m, int n, int r0, float scale, const float* lse);
};

extern const AttentionOps kAttentionOpsPortable;
extern const AttentionOps kAttentionOpsAvx512;

}  // namespace fragua::train::kernels
