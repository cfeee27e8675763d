// SPDX-License-Identifier: Apache-2.0
// F32, F16 and BF16 weights against f32 activations (x already f32, rounded to the weight
// precision where llama.cpp does). One arithmetic on every level, written out lane by lane in
// vec_dot_scalar.cpp (dot_float_lanes), so that a float matmul gives the same bits at every SIMD
// level as the quantized ones do:
//   - products accumulate by fma in 16 lanes, element i in lane i mod 16;
//   - a matrix-vector product (one activation column) keeps four such accumulators, element i of
//     each whole block of 64 in accumulator (i mod 64) / 16, added lane by lane as
//     (a0 + a2) + (a1 + a3) and summed as below; the elements past the last 64 are added in
//     double, each product rounded to f32 first: ggml_vec_dot_f16's arithmetic (llama.cpp's
//     decode), so that F16 models decode to llama.cpp's bits;
//   - with more columns, one 16-lane accumulator per output (register tiles of any shape), the
//     elements past the last whole 16 in an fma chain onto its sum: the order of llama.cpp's
//     tinyBLAS (its prompt batches);
//   - a 16-lane sum as _mm512_reduce_add_ps forms it: halves added 8, 4, 2, then the last pair.
// 16 lanes are one zmm under __AVX512F__, two ymm (lanes 0-7, 8-15) otherwise.

#ifdef __AVX512F__
struct V16 {
  __m512 v;
};
inline V16 v16_zero() { return {_mm512_setzero_ps()}; }
inline V16 v16_fma(V16 a, V16 b, V16 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
inline V16 v16_add(V16 a, V16 b) { return {_mm512_add_ps(a.v, b.v)}; }
inline float v16_sum(V16 a) { return hsum(_mm256_add_ps(_mm512_castps512_ps256(a.v), _mm512_extractf32x8_ps(a.v, 1))); }
inline V16 v16_load_x(const float* p) { return {_mm512_loadu_ps(p)}; }
struct WF32 {
  static constexpr int64_t bytes(int64_t i) { return 4 * i; }
  static V16 load(const uint8_t* row, int64_t i) { return {_mm512_loadu_ps(reinterpret_cast<const float*>(row) + i)}; }
  static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
};
struct WF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static V16 load(const uint8_t* row, int64_t i) {
    return {_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)))};
  }
  static float at(const uint8_t* row, int64_t i) { return half(reinterpret_cast<const uint16_t*>(row)[i]); }
};
struct WBF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static V16 load(const uint8_t* row, int64_t i) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
    return {_mm512_castsi512_ps(_mm512_slli_epi32(v, 16))};
  }
  static float at(const uint8_t* row, int64_t i) {
    uint32_t u = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};
#else
struct V16 {
  __m256 lo, hi;
};
inline V16 v16_zero() { return {_mm256_setzero_ps(), _mm256_setzero_ps()}; }
inline V16 v16_fma(V16 a, V16 b, V16 c) {
  return {_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
inline V16 v16_add(V16 a, V16 b) { return {_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
inline float v16_sum(V16 a) { return hsum(_mm256_add_ps(a.lo, a.hi)); }
inline V16 v16_load_x(const float* p) { return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
struct WF32 {
  static constexpr int64_t bytes(int64_t i) { return 4 * i; }
  static __m256 load8(const uint8_t* p) { return _mm256_loadu_ps(reinterpret_cast<const float*>(p)); }
  static V16 load(const uint8_t* row, int64_t i) {
    const float* p = reinterpret_cast<const float*>(row) + i;
    return {_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)};
  }
  static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
};
struct WF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static __m256 load8(const uint8_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
  static V16 load(const uint8_t* row, int64_t i) {
    return {_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i))),
            _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i + 16)))};
  }
  static float at(const uint8_t* row, int64_t i) { return half(reinterpret_cast<const uint16_t*>(row)[i]); }
};
struct WBF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static __m256 load8(const uint8_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static V16 load(const uint8_t* row, int64_t i) { return {load8(row + 2 * i), load8(row + 2 * i + 16)}; }
  static float at(const uint8_t* row, int64_t i) {
    uint32_t u = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};
#endif

// Matrix-vector: four independent fma chains hide the fma latency. No software prefetch: the
// 4 KiB-ahead prefetch this loop had (+20% at 110M F16 when the weights were read from the
// file's 4 KiB pages: it started the next page's TLB walk early) costs about a tenth of the
// stream now that float weights are copied into huge pages (0.9B F16 decode replay, share of
// the probe read: Zen 3 1 thread 74 -> 78-80%, Zen 5 1 thread 67-70 -> 78-84%).
template <class W>
float dot_float_matvec(int64_t k, const uint8_t* w, const float* x) {
  V16 a0 = v16_zero(), a1 = v16_zero(), a2 = v16_zero(), a3 = v16_zero();
  int64_t i = 0;
  for (; i + 64 <= k; i += 64) {
    a0 = v16_fma(W::load(w, i), v16_load_x(x + i), a0);
    a1 = v16_fma(W::load(w, i + 16), v16_load_x(x + i + 16), a1);
    a2 = v16_fma(W::load(w, i + 32), v16_load_x(x + i + 32), a2);
    a3 = v16_fma(W::load(w, i + 48), v16_load_x(x + i + 48), a3);
  }
  double s = v16_sum(v16_add(v16_add(a0, a2), v16_add(a1, a3)));
  for (; i < k; ++i) s += static_cast<double>(W::at(w, i) * x[i]);
  return static_cast<float>(s);
}

template <class W, int R, int C>
void tile_float(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
#ifndef __AVX512F__
  // 256 bits: each 16-lane accumulator is two ymm; the 8 lanes of each half are done in turn, so
  // that one column's activations and one row's weights take one register each (2RC + C + 1 live
  // registers: a 3 x 2 tile fits the sixteen without spilling).
  if constexpr (R * C > 1) {
    __m256 acc[R][C][2];
    for (int r = 0; r < R; ++r)
      for (int c = 0; c < C; ++c) acc[r][c][0] = acc[r][c][1] = _mm256_setzero_ps();
    const int64_t kv = k / 16 * 16;
    for (int64_t i = 0; i < kv; i += 16) {
      for (int hf = 0; hf < 2; ++hf) {
        __m256 xv[C];
        for (int c = 0; c < C; ++c) xv[c] = _mm256_loadu_ps(reinterpret_cast<const float*>(x[c]) + i + 8 * hf);
        for (int r = 0; r < R; ++r) {
          const __m256 wv = W::load8(w + r * ws + W::bytes(i + 8 * hf));
          for (int c = 0; c < C; ++c) acc[r][c][hf] = _mm256_fmadd_ps(wv, xv[c], acc[r][c][hf]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int c = 0; c < C; ++c) {
        float s = v16_sum(V16{acc[r][c][0], acc[r][c][1]});
        for (int64_t i = kv; i < k; ++i) s = std::fma(W::at(w + r * ws, i), reinterpret_cast<const float*>(x[c])[i], s);
        y[c * ys + r] = s;
      }
    }
    return;
  }
#endif
  V16 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = v16_zero();
  const int64_t kv = k / 16 * 16;
  for (int64_t i = 0; i < kv; i += 16) {
    V16 xv[C];
    for (int c = 0; c < C; ++c) xv[c] = v16_load_x(reinterpret_cast<const float*>(x[c]) + i);
    for (int r = 0; r < R; ++r) {
      const V16 wv = W::load(w + r * ws, i);
      for (int c = 0; c < C; ++c) acc[r][c] = v16_fma(wv, xv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float s = v16_sum(acc[r][c]);
      for (int64_t i = kv; i < k; ++i) s = std::fma(W::at(w + r * ws, i), reinterpret_cast<const float*>(x[c])[i], s);
      y[c * ys + r] = s;
    }
  }
}

template <class W>
struct FloatTile {
  template <int R, int C>
  struct T {
    static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
      tile_float<W, R, C>(k, w, ws, x, y, ys);
    }
  };
};

// The float GemmFn: one column row by row (the matrix-vector form), more in R x C tiles.
template <class W, int R, int C>
void gemm_float(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                size_t ys) {
  if (nc == 1) {
    for (int r = 0; r < nr; ++r)
      y[r] = dot_float_matvec<W>(k, w + static_cast<size_t>(r) * ws, reinterpret_cast<const float*>(x));
    return;
  }
  gemm_rows<FloatTile<W>::template T, R, C>(k, w, ws, nr, x, xs, nc, y, ys);
}
