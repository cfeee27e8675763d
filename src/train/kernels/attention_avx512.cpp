// SPDX-License-Identifier: Apache-2.0
// AVX-512 build of the attention pieces (attention_gemm.h).
// The product: a 6 x 32 block of C stays in twelve zmm registers while K runs, each step
// broadcasting one element of A per row against two vectors of B's row (the register blocking of
// Goto & van de Geijn 2008). B is first copied into a contiguous, zero-padded panel of 32 columns
// x up to kAttnPanelK rows: its rows are T or heads x HS floats apart in the attention buffers, a
// power-of-two stride whose rows would fall into a few L1 sets and evict each other. Columns
// past N are masked on store.
// The softmax passes: sixteen columns at a time with an exponential of our own (below), the row
// sums reduced in a fixed order, so the result does not depend on the thread count.
#include <immintrin.h>

#include "train/kernels/attention_gemm.h"

namespace fragua::train::kernels {

namespace {

constexpr int kAttnPanelK = 256;

inline __mmask16 attn_avx512_mask(int w) {
  if (w <= 0) return 0;
  return w >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << w) - 1u);
}

// exp(x) for x <= 0 (scores minus their row maximum): x = n ln2 + f with |f| <= ln2/2 (ln2 split
// in two parts, Cody & Waite 1980), e^f by its degree-6 Taylor polynomial (truncation below
// 2^-23 relative on that range), 2^n built in the exponent field. Below -87 (where e^x
// would be denormal) and at -inf: 0.
inline __m512 attn_avx512_exp(__m512 x) {
  const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_LT_OQ);
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  f = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), f);
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  return _mm512_maskz_mul_ps(static_cast<__mmask16>(~tiny), p, _mm512_castsi512_ps(e));
}

template <int R, bool TA>
void attn_avx512_block(float* C, int ldc, const float* A, int lda, const float* panel, int w, int K, bool accumulate) {
  const __mmask16 m0 = attn_avx512_mask(w), m1 = attn_avx512_mask(w - 16);
  __m512 c0[R], c1[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_load_ps(panel + 32 * k);
    const __m512 b1 = _mm512_load_ps(panel + 32 * k + 16);
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(TA ? A[static_cast<long>(k) * lda + r] : A[static_cast<long>(r) * lda + k]);
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

template <bool TA>
void attn_avx512_panel_rows(float* C, int ldc, const float* A, int lda, const float* panel, int M, int w, int kc,
                            bool acc) {
  constexpr int kRows = 6;
  // Row i of op(A) starts at A + i*lda (stored (M,K)) or A + i (stored (K,M)).
  const long row_step = TA ? 1 : lda;
  int i = 0;
  for (; i + kRows <= M; i += kRows)
    attn_avx512_block<kRows, TA>(C + static_cast<long>(i) * ldc, ldc, A + i * row_step, lda, panel, w, kc, acc);
  float* c = C + static_cast<long>(i) * ldc;
  const float* a = A + i * row_step;
  switch (M - i) {
    case 5: attn_avx512_block<5, TA>(c, ldc, a, lda, panel, w, kc, acc); break;
    case 4: attn_avx512_block<4, TA>(c, ldc, a, lda, panel, w, kc, acc); break;
    case 3: attn_avx512_block<3, TA>(c, ldc, a, lda, panel, w, kc, acc); break;
    case 2: attn_avx512_block<2, TA>(c, ldc, a, lda, panel, w, kc, acc); break;
    case 1: attn_avx512_block<1, TA>(c, ldc, a, lda, panel, w, kc, acc); break;
    default: break;
  }
}

void attn_gemm_avx512(float* C, int ldc, const float* A, int lda, bool a_transposed, const float* B, int ldb, int M,
                      int N, int K, bool accumulate) {
  alignas(64) float panel[kAttnPanelK * 32];
  if (K <= 0 && !accumulate)
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) C[static_cast<long>(i) * ldc + j] = 0.0f;
  for (int j = 0; j < N; j += 32) {
    const int w = N - j < 32 ? N - j : 32;
    const __mmask16 m0 = attn_avx512_mask(w), m1 = attn_avx512_mask(w - 16);
    for (int k0 = 0; k0 < K; k0 += kAttnPanelK) {
      const int kc = K - k0 < kAttnPanelK ? K - k0 : kAttnPanelK;
      for (int k = 0; k < kc; ++k) {
        const float* b = B + static_cast<long>(k0 + k) * ldb + j;
        _mm512_store_ps(panel + 32 * k, _mm512_maskz_loadu_ps(m0, b));
        _mm512_store_ps(panel + 32 * k + 16, _mm512_maskz_loadu_ps(m1, b + 16));
      }
      const bool acc = accumulate || k0 > 0;
      if (a_transposed)
        attn_avx512_panel_rows<true>(C + j, ldc, A + static_cast<long>(k0) * lda, lda, panel, M, w, kc, acc);
      else
        attn_avx512_panel_rows<false>(C + j, ldc, A + k0, lda, panel, M, w, kc, acc);
    }
  }
}

void attn_softmax_rows_avx512(float* S, int ld, int m, int n, int r0, float scale, float* lse) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int i = 0; i < m; ++i) {
    const int r = r0 + i, len = r + 1;
    float* row = S + static_cast<long>(i) * ld;
    __m512 vmax = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < len; j += 16) {
      const __mmask16 k = attn_avx512_mask(len - j);
      const __m512 x = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + j), vscale);
      _mm512_mask_storeu_ps(row + j, k, x);
      vmax = _mm512_mask_max_ps(vmax, k, vmax, x);
    }
    const float mx = _mm512_reduce_max_ps(vmax);
    const __m512 vmx = _mm512_set1_ps(mx);
    __m512 vsum = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
      const __mmask16 k = attn_avx512_mask(len - j);
      const __m512 ex = _mm512_maskz_mov_ps(k, attn_avx512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, row + j), vmx)));
      _mm512_mask_storeu_ps(row + j, k, ex);
      vsum = _mm512_add_ps(vsum, ex);
    }
    const float sum = _mm512_reduce_add_ps(vsum);
    const __m512 inv = _mm512_set1_ps(1.0f / sum);
    for (int j = 0; j < len; j += 16) {
      const __mmask16 k = attn_avx512_mask(len - j);
      _mm512_mask_storeu_ps(row + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, row + j), inv));
    }
    for (int j = len; j < n; ++j) row[j] = 0.0f;
    lse[r] = mx + __builtin_logf(sum);
  }
}

void attn_softmax_grad_rows_avx512(float* S, float* dP, int ld, int m, int n, int r0, float scale, const float* lse) {
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int i = 0; i < m; ++i) {
    const int r = r0 + i, len = r + 1;
    float* prow = S + static_cast<long>(i) * ld;
    float* drow = dP + static_cast<long>(i) * ld;
    const __m512 vlse = _mm512_set1_ps(lse[r]);
    __m512 vdot = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
      const __mmask16 k = attn_avx512_mask(len - j);
      const __m512 x = _mm512_sub_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(k, prow + j), vscale), vlse);
      const __m512 p = _mm512_maskz_mov_ps(k, attn_avx512_exp(x));
      _mm512_mask_storeu_ps(prow + j, k, p);
      vdot = _mm512_add_ps(vdot, _mm512_mul_ps(p, _mm512_maskz_loadu_ps(k, drow + j)));
    }
    const __m512 dot = _mm512_set1_ps(_mm512_reduce_add_ps(vdot));
    for (int j = 0; j < len; j += 16) {
      const __mmask16 k = attn_avx512_mask(len - j);
      const __m512 p = _mm512_maskz_loadu_ps(k, prow + j), d = _mm512_maskz_loadu_ps(k, drow + j);
      _mm512_mask_storeu_ps(drow + j, k, _mm512_mul_ps(_mm512_mul_ps(p, _mm512_sub_ps(d, dot)), vscale));
    }
    for (int j = len; j < n; ++j) prow[j] = drow[j] = 0.0f;
  }
}

}  // namespace

const AttentionOps kAttentionOpsAvx512{attn_gemm_avx512, attn_softmax_rows_avx512, attn_softmax_grad_rows_avx512};

}  // namespace fragua::train::kernels
