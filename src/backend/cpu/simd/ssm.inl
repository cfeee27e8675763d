// SPDX-License-Identifier: Apache-2.0
// The Mamba-2 kernels (kernels.h: SsmHead, SsmConvRows), bit-identical to ssm_scan_scalar and
// ssm_conv_scalar: the same roundings, the scan's four accumulators of 16 lanes in four zmm or
// eight ymm registers.

inline void ssm_scan_simd(const SsmHead& a) {
  const int64_t blocked = a.N / 64 * 64;
  for (int64_t t = 0; t < a.n; ++t) {
    float dA = 0.0f;
    const float dt = ssm_dt_scalar(a.dt[static_cast<size_t>(t) * a.dt_ld], a.dt_bias, a.A, &dA);
    const float* x = a.x + static_cast<size_t>(t) * a.ld;
    const float* B = a.B + static_cast<size_t>(t) * a.ld;
    const float* C = a.C + static_cast<size_t>(t) * a.ld;
    float* y = a.y + static_cast<size_t>(t) * a.y_ld;
    for (int64_t p = 0; p < a.P; ++p) {
      float* s = a.s + p * a.N;
      const float xdt = x[p] * dt;
#ifdef __AVX512F__
      const __m512 vdA = _mm512_set1_ps(dA), vxdt = _mm512_set1_ps(xdt);
      __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
      for (int64_t i = 0; i < blocked; i += 64)
        for (int j = 0; j < 4; ++j) {
          const int64_t o = i + 16 * j;
          const __m512 sv = _mm512_fmadd_ps(_mm512_loadu_ps(s + o), vdA, _mm512_mul_ps(_mm512_loadu_ps(B + o), vxdt));
          _mm512_storeu_ps(s + o, sv);
          acc[j] = _mm512_fmadd_ps(sv, _mm512_loadu_ps(C + o), acc[j]);
        }
      const __m512 all = _mm512_add_ps(_mm512_add_ps(acc[0], acc[2]), _mm512_add_ps(acc[1], acc[3]));
      const __m256 v8 = _mm256_add_ps(_mm512_castps512_ps256(all), _mm512_extractf32x8_ps(all, 1));
#else
      const __m256 vdA = _mm256_set1_ps(dA), vxdt = _mm256_set1_ps(xdt);
      __m256 acc[8];  // accumulator j's lanes 0..7 in acc[2j], 8..15 in acc[2j + 1]
      for (auto& v : acc) v = _mm256_setzero_ps();
      for (int64_t i = 0; i < blocked; i += 64)
        for (int j = 0; j < 8; ++j) {
          const int64_t o = i + 8 * j;
          const __m256 sv = _mm256_fmadd_ps(_mm256_loadu_ps(s + o), vdA, _mm256_mul_ps(_mm256_loadu_ps(B + o), vxdt));
          _mm256_storeu_ps(s + o, sv);
          acc[j] = _mm256_fmadd_ps(sv, _mm256_loadu_ps(C + o), acc[j]);
        }
      const __m256 lo = _mm256_add_ps(_mm256_add_ps(acc[0], acc[4]), _mm256_add_ps(acc[2], acc[6]));
      const __m256 hi = _mm256_add_ps(_mm256_add_ps(acc[1], acc[5]), _mm256_add_ps(acc[3], acc[7]));
      const __m256 v8 = _mm256_add_ps(lo, hi);
#endif
      const __m128 v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
      const __m128 v2 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
      float sum = _mm_cvtss_f32(_mm_add_ss(v2, _mm_movehdup_ps(v2)));
      for (int64_t i = blocked; i < a.N; ++i) {
        s[i] = std::fma(s[i], dA, B[i] * xdt);
        sum = std::fma(s[i], C[i], sum);
      }
      y[p] = sum + ssm_skip_product(a.D, x[p]);
    }
  }
}

inline void ssm_conv_simd(const SsmConvRows& a) {
  if (a.K > 16) {
    ssm_conv_scalar(a);
    return;
  }
  for (int64_t t = 0; t < a.n; ++t) {
    float* out = a.out + static_cast<size_t>(t) * a.out_ld;
    const float* rows[16];
    for (int64_t k = 0; k < a.K; ++k) {
      const int64_t r = t + k;
      rows[k] = r < a.K - 1 ? a.state + static_cast<size_t>(r) * a.state_ld
                            : a.in + static_cast<size_t>(r - (a.K - 1)) * a.in_ld;
    }
    int64_t c = 0;
    for (; c + 8 <= a.nc; c += 8) {
      __m256 acc = _mm256_setzero_ps();
      for (int64_t k = 0; k < a.K; ++k)
        acc = _mm256_fmadd_ps(_mm256_loadu_ps(rows[k] + c),
                              _mm256_loadu_ps(a.wt + static_cast<size_t>(k) * a.wt_ld + static_cast<size_t>(c)), acc);
      _mm256_storeu_ps(out + c, _mm256_add_ps(acc, _mm256_loadu_ps(a.bias + c)));
    }
    for (; c < a.nc; ++c) {
      float acc = 0.0f;
      for (int64_t k = 0; k < a.K; ++k)
        acc = std::fma(rows[k][c], a.wt[static_cast<size_t>(k) * a.wt_ld + static_cast<size_t>(c)], acc);
      out[c] = acc + a.bias[c];
    }
    swiglu_simd(out, nullptr, a.nc, out);
  }
}
