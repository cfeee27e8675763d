// SPDX-License-Identifier: Apache-2.0
// AVX512-BF16 micro-kernel (matmul_bf16.h): a 6 x 32 block of C in twelve zmm registers; each
// step broadcasts one BF16 pair of an A row and multiplies it with 32 columns' pairs of the
// packed B panel by VDPBF16PS (two products per lane, summed into F32; Intel SDM vol. 2A).
// Only this file's functions need the AVX512-BF16 extension, named by the target attribute
// (the *_avx512.cpp flags give the rest).
#include <immintrin.h>

#include <cstring>

#include "train/kernels/matmul_bf16.h"

namespace fragua::train::kernels {

namespace {

#define FRAGUA_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

inline __mmask16 bf16_avx512_mask(int w) {
  if (w <= 0) return 0;
  return w >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << w) - 1u);
}

template <int R>
FRAGUA_BF16_TARGET void bf16_avx512_block(float* C, int ldc, const uint16_t* a, int a_stride, const uint16_t* bp,
                                          int kp, int w, bool overwrite) {
  const __mmask16 m0 = bf16_avx512_mask(w), m1 = bf16_avx512_mask(w - 16);
  __m512 c0[R], c1[R];
  for (int r = 0; r < R; ++r) {
    c0[r] = _mm512_setzero_ps();
    c1[r] = _mm512_setzero_ps();
  }
  for (int kk = 0; kk < kp; ++kk) {
    const uint16_t* b = bp + static_cast<long>(kk) * 2 * kBf16PanelCols;
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + 32);
    for (int r = 0; r < R; ++r) {
      int pair;
      std::memcpy(&pair, a + static_cast<long>(r) * a_stride + 2 * kk, sizeof pair);
      const __m512bh av = (__m512bh)_mm512_set1_epi32(pair);
      c0[r] = _mm512_dpbf16_ps(c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps(c1[r], av, b1);
    }
  }
  for (int r = 0; r < R; ++r) {
    float* c = C + static_cast<long>(r) * ldc;
    if (!overwrite) {
      c0[r] = _mm512_add_ps(c0[r], _mm512_maskz_loadu_ps(m0, c));
      c1[r] = _mm512_add_ps(c1[r], _mm512_maskz_loadu_ps(m1, c + 16));
    }
    _mm512_mask_storeu_ps(c, m0, c0[r]);
    _mm512_mask_storeu_ps(c + 16, m1, c1[r]);
  }
}

}  // namespace

FRAGUA_BF16_TARGET void bf16_panel_avx512(float* C, int ldc, const uint16_t* a, int a_stride, int rows,
                                          const uint16_t* bpanel, int kp, int w, bool overwrite) {
  constexpr int kRows = 6;
  int i = 0;
  for (; i + kRows <= rows; i += kRows)
    bf16_avx512_block<kRows>(C + static_cast<long>(i) * ldc, ldc, a + static_cast<long>(i) * a_stride, a_stride,
                             bpanel, kp, w, overwrite);
  float* c = C + static_cast<long>(i) * ldc;
  const uint16_t* ar = a + static_cast<long>(i) * a_stride;
  switch (rows - i) {
    case 5: bf16_avx512_block<5>(c, ldc, ar, a_stride, bpanel, kp, w, overwrite); break;
    case 4: bf16_avx512_block<4>(c, ldc, ar, a_stride, bpanel, kp, w, overwrite); break;
    case 3: bf16_avx512_block<3>(c, ldc, ar, a_stride, bpanel, kp, w, overwrite); break;
    case 2: bf16_avx512_block<2>(c, ldc, ar, a_stride, bpanel, kp, w, overwrite); break;
    case 1: bf16_avx512_block<1>(c, ldc, ar, a_stride, bpanel, kp, w, overwrite); break;
    default: break;
  }
}

FRAGUA_BF16_TARGET void bf16_convert_avx512(uint16_t* dst, const float* src, int n) {
  for (int i = 0; i < n; i += 16) {
    const __mmask16 k = bf16_avx512_mask(n - i);
    const __m256i h = (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(k, src + i));
    _mm256_mask_storeu_epi16(dst + i, k, h);
  }
}

FRAGUA_BF16_TARGET void bf16_pack_panel_avx512(uint16_t* panel, const float* b, size_t b_rs, int kc, int kp, int w) {
  // Word 2c of the result is row k's column c, word 2c+1 row k+1's: the pairs VDPBF16PS reads.
  alignas(64) static constexpr uint16_t kInterleave[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                           21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                           11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i idx = _mm512_load_si512(kInterleave);
  const __mmask16 m0 = bf16_avx512_mask(w), m1 = bf16_avx512_mask(w - 16);
  for (int kk = 0; kk < kp; ++kk) {
    const int k = 2 * kk;
    const float* r0 = b + static_cast<size_t>(k) * b_rs;
    const float* r1 = r0 + b_rs;
    const bool has1 = k + 1 < kc;
    for (int half = 0; half < 2; ++half) {
      const __mmask16 m = half ? m1 : m0;
      const __m512 x0 = _mm512_maskz_loadu_ps(m, r0 + 16 * half);
      const __m512 x1 = has1 ? _mm512_maskz_loadu_ps(m, r1 + 16 * half) : _mm512_setzero_ps();
      const __m512i both = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);  // words 0-15 from x0, 16-31 from x1
      _mm512_storeu_si512(panel + static_cast<size_t>(kk) * 64 + 32 * half, _mm512_permutexvar_epi16(idx, both));
    }
  }
}

FRAGUA_BF16_TARGET void bf16_pack_panel_kmajor_avx512(uint16_t* panel, const float* b, size_t b_cs, int kc, int kp,
                                                     int w) {
  // Each column rounded along k at once, then its BF16 pairs (32-bit words) placed 32 words apart.
  alignas(64) uint16_t col_bf16[kBf16BlockK + 2];
  for (int col = 0; col < kBf16PanelCols; ++col) {
    if (col < w) {
      bf16_convert_avx512(col_bf16, b + static_cast<size_t>(col) * b_cs, kc);
      col_bf16[kc] = 0;
    }
    for (int kk = 0; kk < kp; ++kk) {
      uint16_t* dst = panel + (static_cast<size_t>(kk) * kBf16PanelCols + col) * 2;
      if (col < w) {
        std::memcpy(dst, col_bf16 + 2 * kk, 2 * sizeof(uint16_t));
      } else {
        dst[0] = 0;
        dst[1] = 0;
      }
    }
  }
}

#undef FRAGUA_BF16_TARGET

}  // namespace fragua::train::kernels
