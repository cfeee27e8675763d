// SPDX-License-Identifier: Apache-2.0
// AVX-512 build of the attention product (attention_gemm.h): a 6 x 32 block of C stays in twelve
// zmm registers while K runs, each step broadcasting one element of A per row against two
// vectors of B's row (the register blocking of Goto & van de Geijn 2008, without packing: the
// attention operands are small and already in cache). Columns past N are masked.
#include <immintrin.h>

#include "train/kernels/attention_gemm.h"

namespace fragua::train::kernels {

namespace {

inline __mmask16 attn_avx512_mask(int w) {
  if (w <= 0) return 0;
  return w >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << w) - 1u);
}

template <int R>
void attn_avx512_block(float* C, int ldc, const float* A, int lda, const float* B, int ldb, int w, int K,
                       bool accumulate) {
  const __mmask16 m0 = attn_avx512_mask(w), m1 = attn_avx512_mask(w - 16);
  __m512 c0[R], c1[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    const float* b = B + static_cast<long>(k) * ldb;
    const __m512 b0 = _mm512_maskz_loadu_ps(m0, b);
    const __m512 b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(A[static_cast<long>(r) * lda + k]);
      c0[r] = _mm512_fmadd_ps(a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps(a, b1, c1[r]);
    }
  }
  for (int r = 0; r < R; ++r) {
    float* c = C + static_cast<long>(r) * ldc;
    if (accumulate) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, c));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, c0[r]);
    _mm512_mask_storeu_ps(c + 16, m1, c1[r]);
  }
}

}  // namespace

void attention_gemm_avx512(float* C, int ldc, const float* A, int lda, const float* B, int ldb, int M, int N, int K,
                           bool accumulate) {
  constexpr int kRows = 6;
  for (int j = 0; j < N; j += 32) {
    const int w = N - j < 32 ? N - j : 32;
    int i = 0;
    for (; i + kRows <= M; i += kRows)
      attn_avx512_block<kRows>(C + static_cast<long>(i) * ldc + j, ldc, A + static_cast<long>(i) * lda, lda, B + j,
                               ldb, w, K, accumulate);
    float* c = C + static_cast<long>(i) * ldc + j;
    const float* a = A + static_cast<long>(i) * lda;
    switch (M - i) {
      case 5: attn_avx512_block<5>(c, ldc, a, lda, B + j, ldb, w, K, accumulate); break;
      case 4: attn_avx512_block<4>(c, ldc, a, lda, B + j, ldb, w, K, accumulate); break;
      case 3: attn_avx512_block<3>(c, ldc, a, lda, B + j, ldb, w, K, accumulate); break;
      case 2: attn_avx512_block<2>(c, ldc, a, lda, B + j, ldb, w, K, accumulate); break;
      case 1: attn_avx512_block<1>(c, ldc, a, lda, B + j, ldb, w, K, accumulate); break;
      default: break;
    }
  }
}

}  // namespace fragua::train::kernels
