// SPDX-License-Identifier: Apache-2.0
// SwiGLU, bit-identical to swiglu_scalar; up == nullptr: silu alone (as up = 1).

inline void swiglu_simd(const float* gate, const float* up, int64_t n, float* y) {
  const __m256 shift = _mm256_set1_ps(0x1.8p23f), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 g = _mm256_loadu_ps(gate + i);
    const __m256 x = _mm256_sub_ps(_mm256_setzero_ps(), g);
    const __m256 nn = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), shift), shift);
    const __m256 b =
        _mm256_fnmadd_ps(nn, _mm256_set1_ps(0x1.7f7d1cp-20f), _mm256_fnmadd_ps(nn, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(_mm256_set1_ps(0x1.ffffecp-1f), b, one));
    // j * 2^n through the exponent bits while 2^n is a normal number; otherwise the scalar path.
    const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), nn), _mm256_set1_ps(126.0f), _CMP_GT_OQ);
    if (_mm256_movemask_ps(big) != 0) {
      swiglu_scalar(gate + i, up != nullptr ? up + i : nullptr, 8, y + i);
      continue;
    }
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nn), _mm256_set1_epi32(127)), 23);
    const __m256 ex = _mm256_mul_ps(j, _mm256_castsi256_ps(e));
    const __m256 uv = up != nullptr ? _mm256_loadu_ps(up + i) : one;
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, ex)), uv));
  }
  if (i < n) swiglu_scalar(gate + i, up != nullptr ? up + i : nullptr, n - i, y + i);
}
