// SPDX-License-Identifier: Apache-2.0
// AVX-512 AdamW update (adamw_update.h): the portable loop's operations one for one, sixteen
// lanes at a time, the tail under a mask (no scalar code here, where the compiler could fuse a
// multiply and an add and so round differently).
#include <immintrin.h>

#include "train/adamw_update.h"

namespace fragua::train {

void adamw_update_avx512(float* p, const float* g, float* m, float* v, size_t n, const AdamWUpdate& u) {
  const __m512 clip = _mm512_set1_ps(u.clip), b1 = _mm512_set1_ps(u.b1), b2 = _mm512_set1_ps(u.b2);
  const __m512 omb1 = _mm512_set1_ps(u.one_minus_b1), omb2 = _mm512_set1_ps(u.one_minus_b2);
  const __m512 bc1 = _mm512_set1_ps(u.bc1), bc2 = _mm512_set1_ps(u.bc2), lr = _mm512_set1_ps(u.lr);
  const __m512 decay = _mm512_set1_ps(u.decay), eps = _mm512_set1_ps(u.eps);
  for (size_t i = 0; i < n; i += 16) {
    const size_t left = n - i;
    const __mmask16 k = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
    const __m512 gi = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g + i), clip);
    __m512 mi = _mm512_maskz_loadu_ps(k, m + i), vi = _mm512_maskz_loadu_ps(k, v + i);
    __m512 pi = _mm512_maskz_loadu_ps(k, p + i);
    mi = _mm512_add_ps(_mm512_mul_ps(b1, mi), _mm512_mul_ps(omb1, gi));
    vi = _mm512_add_ps(_mm512_mul_ps(b2, vi), _mm512_mul_ps(_mm512_mul_ps(omb2, gi), gi));
    const __m512 mhat = _mm512_div_ps(mi, bc1), vhat = _mm512_div_ps(vi, bc2);
    pi = _mm512_sub_ps(pi, _mm512_mul_ps(decay, pi));
    pi = _mm512_sub_ps(pi, _mm512_div_ps(_mm512_mul_ps(lr, mhat), _mm512_add_ps(_mm512_sqrt_ps(vhat), eps)));
    _mm512_mask_storeu_ps(m + i, k, mi);
    _mm512_mask_storeu_ps(v + i, k, vi);
    _mm512_mask_storeu_ps(p + i, k, pi);
  }
}

}  // namespace fragua::train
