// SPDX-License-Identifier: Apache-2.0
// The one product the tiled attention kernels (attention.cpp) are made of, in two builds chosen
// at run time (DESIGN 5): the portable loops (attention.cpp) and an AVX-512 register-blocked
// micro-kernel (attention_avx512.cpp).
//   C (M,N) (+)= A (M,K) @ B (K,N), all row-major with leading dimensions lda, ldb, ldc;
//   accumulate = false overwrites C.
#pragma once

namespace fragua::train::kernels {

using AttentionGemmFn = void (*)(float* C, int ldc, const float* A, int lda, const float* B, int ldb, int M, int N,
                                 int K, bool accumulate);

void attention_gemm_portable(float* C, int ldc, const float* A, int lda, const float* B, int ldb, int M, int N, int K,
                             bool accumulate);
void attention_gemm_avx512(float* C, int ldc, const float* A, int lda, const float* B, int ldb, int M, int N, int K,
                           bool accumulate);

}  // namespace fragua::train::kernels
