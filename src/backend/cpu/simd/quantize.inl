// SPDX-License-Identifier: Apache-2.0
// Activation rows converted to the format the weights' kernels read (Act in kernels.h), each
// bit-identical to its scalar definition in vec_dot_scalar.cpp.

// Q8_0 activations (bit-identical to act_q8_0_scalar).
inline void act_q8_0_simd(const float* x, uint8_t* out, int64_t k) {
  auto* qs = reinterpret_cast<int8_t*>(out);
  auto* dd = reinterpret_cast<float*>(out + k);
  auto* ss = reinterpret_cast<int32_t*>(out + k + 4 * (k / 32));
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t b = 0; b < k / 32; ++b) {
    __m256 v[4];
    for (int j = 0; j < 4; ++j) v[j] = _mm256_loadu_ps(x + 32 * b + 8 * j);
    __m256 mx = _mm256_andnot_ps(sign, v[0]);
    for (int j = 1; j < 4; ++j) mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[j]));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    dd[b] = _cvtsh_ss(_cvtss_sh(amax / 127.0f, 0));
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.0f / amax : 0.0f);
    __m256i q[4];
    for (int j = 0; j < 4; ++j)
      q[j] =
          _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[j], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
    ss[b] = _mm_cvtsi128_si32(s4);
    // packs interleave the 128-bit lanes; the permute restores element order.
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 =
        _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + 32 * b), p8);
  }
}

// x -> F16 -> f32 with F16C (round to nearest even, as fp32_to_fp16), 8 values per step.
inline void act_f16r_simd(const float* x, uint8_t* out, int64_t k) {
  auto* o = reinterpret_cast<float*>(out);
  int64_t i = 0;
  for (; i + 8 <= k; i += 8)
    _mm256_storeu_ps(o + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT)));
  if (i < k) act_f16r_scalar(x + i, reinterpret_cast<uint8_t*>(o + i), k - i);
}

// Q8_K activations, bit-identical to quant_q8_k_ref: the signed value of largest magnitude
// (first one on ties) maps to -127, quants are nearest-even with 127 as the upper clamp.
inline void act_q8_k_simd(const float* x, uint8_t* out, int64_t k) {
  auto* blocks = reinterpret_cast<BlockQ8_K*>(out);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int64_t i = 0; i < k / 256; ++i, x += 256) {
    BlockQ8_K& b = blocks[i];
    __m256 mx = _mm256_setzero_ps();
    for (int j = 0; j < 256; j += 8) mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    const float amax = _mm_cvtss_f32(m);
    if (amax == 0.0f) {
      std::memset(&b, 0, sizeof(b));
      continue;
    }
    float max = 0.0f;
    const __m256 va = _mm256_set1_ps(amax);
    for (int j = 0; j < 256; j += 8) {
      const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), va, _CMP_EQ_OQ));
      if (hit != 0) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(hit))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale);
    const __m256i cap = _mm256_set1_epi32(127);
    for (int g = 0; g < 8; ++g) {  // 32 quants per step
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 32 * g + 8 * j), vs);
        q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)),
                                cap);
      }
      for (int h = 0; h < 2; ++h) {
        __m256i s = _mm256_add_epi32(q[2 * h], q[2 * h + 1]);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        b.bsums[2 * g + h] = static_cast<int16_t>(_mm_cvtsi128_si32(s4));
      }
      const __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
      const __m256i p8 =
          _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(b.qs + 32 * g), p8);
    }
    b.d = 1 / iscale;
  }
}
