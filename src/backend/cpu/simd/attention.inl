// SPDX-License-Identifier: Apache-2.0
// Attention pieces: the prompt-batch regime (f32 scores of keys stored transposed, a vectorised
// softmax) and the F16 KV cache (row conversions, the one-pass attention of generation steps),
// each bit-identical to its scalar definition.

// ---- prompt-batch attention (f32) ----
// exp(x) as 2^n * e^r with n = nearest(x / ln 2), r = x - n ln 2 (two-part ln 2), e^r by a
// degree-7 Taylor polynomial (|r| <= 0.35: truncation below 1e-8 relative); x below -87.3
// (where e^x is within 1e-38 of 0) is clamped. Same operations as exp_poly_scalar, lane by lane.
inline __m256 exp_poly8(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  const __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-0.693145752f), x);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-1.42860677e-6f), r);
  __m256 p = _mm256_set1_ps(1.98412698e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.38888889e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.33333333e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.16666667e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.66666667e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// s[i * ss + j] = scale * sum_d q[i * qs + d] * kt[d * kts + j] for i < nt (<= 8) and every j
// below n rounded up to the vector width (kt rows are padded with zeros): keys in lanes, each
// lane a sequential chain of FMAs over d, so no horizontal sums.
inline void attn_scores_simd(int64_t hd, const float* q, size_t qs, int nt, const float* kt, size_t kts, int64_t n,
                             float scale, float* s, size_t ss) {
#ifdef __AVX512F__
  constexpr int W = 16;
  using V = __m512;
#define FR_LOAD _mm512_loadu_ps
#define FR_FMA _mm512_fmadd_ps
#define FR_SET1 _mm512_set1_ps
#define FR_ZERO _mm512_setzero_ps
#define FR_STORE _mm512_storeu_ps
#define FR_MUL _mm512_mul_ps
#else
  constexpr int W = 8;
  using V = __m256;
#define FR_LOAD _mm256_loadu_ps
#define FR_FMA _mm256_fmadd_ps
#define FR_SET1 _mm256_set1_ps
#define FR_ZERO _mm256_setzero_ps
#define FR_STORE _mm256_storeu_ps
#define FR_MUL _mm256_mul_ps
#endif
  const V sc = FR_SET1(scale);
  for (int64_t j = 0; j < n; j += W) {
    V acc[8];
    for (int i = 0; i < 8; ++i) acc[i] = FR_ZERO();
    for (int64_t d = 0; d < hd; ++d) {
      const V k = FR_LOAD(kt + static_cast<size_t>(d) * kts + j);
      for (int i = 0; i < nt; ++i) acc[i] = FR_FMA(FR_SET1(q[i * qs + static_cast<size_t>(d)]), k, acc[i]);
    }
    for (int i = 0; i < nt; ++i) FR_STORE(s + i * ss + j, FR_MUL(acc[i], sc));
  }
#undef FR_LOAD
#undef FR_FMA
#undef FR_SET1
#undef FR_ZERO
#undef FR_STORE
#undef FR_MUL
}

// Row i of s (n_seen[i] valid entries of n) becomes its softmax; entries from n_seen[i] to n
// become 0.
inline void softmax_rows_simd(float* s, size_t ss, int nt, const int64_t* n_seen, int64_t n) {
  for (int i = 0; i < nt; ++i) {
    float* row = s + i * ss;
    const int64_t m = n_seen[i];
    float mx = -INFINITY;
    for (int64_t j = 0; j < m; ++j) mx = std::max(mx, row[j]);
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= m; j += 8) {
      const __m256 e = exp_poly8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vmx));
      _mm256_storeu_ps(row + j, e);
      vsum = _mm256_add_ps(vsum, e);
    }
    float sum = hsum(vsum);
    for (; j < m; ++j) sum += (row[j] = exp_poly_scalar(row[j] - mx));
    const float inv = m > 0 ? 1.0f / sum : 0.0f;
    const __m256 vinv = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= m; j += 8) _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), vinv));
    for (; j < m; ++j) row[j] *= inv;
    for (j = m; j < n; ++j) row[j] = 0.0f;
  }
}

// ---- F16 KV cache and attention (bit-identical to the scalar definitions) ----
inline __m256 load_f16x8(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline void store_f16x8(uint16_t* p, __m256 v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
}

inline void to_f16_simd(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) store_f16x8(y + i, _mm256_loadu_ps(x + i));
  if (i < n) to_f16_scalar(x + i, y + i, n - i);
}

inline void from_f16_simd(const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, load_f16x8(x + i));
  if (i < n) from_f16_scalar(x + i, y + i, n - i);
}

inline __m256 round_f16x8(__m256 v) { return _mm256_cvtph_ps(_mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT)); }

// score_f16 with vectors: the 16 lanes of each ggml accumulator as two 8-lane halves (lanes 0-7
// and 8-15), folded and reduced in the same order; the tail past 64-element steps in double.
inline float score_f16_simd(const uint16_t* k, const __m256* qv, const uint16_t* q16, int64_t hd) {
  const int64_t np = hd - hd % 64;
  double sum = 0.0;
  if (np > 0) {
    __m256 x[8];
    for (int j = 0; j < 8; ++j) x[j] = _mm256_setzero_ps();
    for (int64_t i = 0; i < np; i += 64)
      for (int j = 0; j < 8; ++j) x[j] = _mm256_fmadd_ps(load_f16x8(k + i + 8 * j), qv[i / 8 + j], x[j]);
    // ggml accumulator j is (x[2j], x[2j + 1]); per lane (0 + 2) + (1 + 3)
    const __m256 lo = _mm256_add_ps(_mm256_add_ps(x[0], x[4]), _mm256_add_ps(x[2], x[6]));
    const __m256 hi = _mm256_add_ps(_mm256_add_ps(x[1], x[5]), _mm256_add_ps(x[3], x[7]));
    const __m256 t3 = _mm256_add_ps(hi, lo);
    const __m128 t6 = _mm_add_ps(_mm256_extractf128_ps(t3, 1), _mm256_castps256_ps128(t3));
    const __m128 t8 = _mm_add_ps(t6, _mm_shuffle_ps(t6, t6, _MM_SHUFFLE(1, 0, 3, 2)));
    sum = static_cast<double>(_mm_cvtss_f32(t8) + _mm_cvtss_f32(_mm_shuffle_ps(t8, t8, 1)));
  }
  for (int64_t i = np; i < hd; ++i) sum += static_cast<double>(half(k[i]) * half(q16[i]));
  return static_cast<float>(sum);
}

// attend_f16_scalar's arithmetic with vectors, head_dim = 8 * NV. q and the f16 accumulator
// live in registers (the accumulator is rounded to f16 after every update, as if stored); scores
// are computed 16 keys at a time, then folded in key order.
template <int NV>
inline void attend_f16_regs(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride, int64_t n,
                            float scale, float* out) {
  __m256 qv[NV], acc[NV];
  uint16_t q16[8 * NV];
  for (int i = 0; i < NV; ++i) {
    store_f16x8(q16 + 8 * i, _mm256_loadu_ps(q + 8 * i));
    qv[i] = load_f16x8(q16 + 8 * i);
    acc[i] = _mm256_setzero_ps();
  }
  float sum = 0.0f, mx = -INFINITY, sc[16];
  for (int64_t j0 = 0; j0 < n; j0 += 16) {
    const int m = static_cast<int>(std::min<int64_t>(16, n - j0));
    for (int jj = 0; jj < m; ++jj)
      sc[jj] = score_f16_simd(k + static_cast<size_t>(j0 + jj) * kv_stride, qv, q16, 8 * NV) * scale;
    for (int jj = 0; jj < m; ++jj) {
      const float s = sc[jj];
      const uint16_t* vj = v + static_cast<size_t>(j0 + jj) * kv_stride;
      float ms = 1.0f, vs = 1.0f;
      if (s > mx) {
        ms = std::exp(mx - s);
        mx = s;
        const __m256 f = _mm256_set1_ps(ms);
        for (int i = 0; i < NV; ++i) acc[i] = round_f16x8(_mm256_mul_ps(acc[i], f));
      } else {
        vs = std::exp(s - mx);
      }
      const __m256 w = _mm256_set1_ps(vs);
      for (int i = 0; i < NV; ++i) acc[i] = round_f16x8(_mm256_fmadd_ps(load_f16x8(vj + 8 * i), w, acc[i]));
      sum = std::fma(sum, ms, vs);
    }
  }
  const __m256 inv = _mm256_set1_ps(sum == 0.0f ? 0.0f : 1.0f / sum);
  for (int i = 0; i < NV; ++i) _mm256_storeu_ps(out + 8 * i, _mm256_mul_ps(acc[i], inv));
}

inline void attend_f16_simd(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride, int64_t n,
                            int64_t hd, float scale, float* out, uint16_t* work) {
  switch (hd) {
    case 32:
      return attend_f16_regs<4>(q, k, v, kv_stride, n, scale, out);
    case 48:
      return attend_f16_regs<6>(q, k, v, kv_stride, n, scale, out);
    case 64:
      return attend_f16_regs<8>(q, k, v, kv_stride, n, scale, out);
    case 80:
      return attend_f16_regs<10>(q, k, v, kv_stride, n, scale, out);
    case 96:
      return attend_f16_regs<12>(q, k, v, kv_stride, n, scale, out);
    case 128:
      return attend_f16_regs<16>(q, k, v, kv_stride, n, scale, out);
    default:
      attend_f16_scalar(q, k, v, kv_stride, n, hd, scale, out, work);
  }
}
