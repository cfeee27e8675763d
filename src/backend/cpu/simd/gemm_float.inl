// SPDX-License-Identifier: Apache-2.0
// F32, F16 and BF16 weights against f32 activations (x already f32, rounded to the weight
// precision where llama.cpp does): zmm under __AVX512F__, ymm otherwise, same code.

#ifdef __AVX512F__
using VecF = __m512;
constexpr int kLanes = 16;
inline VecF vzero() { return _mm512_setzero_ps(); }
inline VecF vfma(VecF a, VecF b, VecF c) { return _mm512_fmadd_ps(a, b, c); }
inline float vsum(VecF v) { return _mm512_reduce_add_ps(v); }
inline VecF vload_x(const float* p) { return _mm512_loadu_ps(p); }
struct WF32 {
  static constexpr int64_t bytes(int64_t i) { return 4 * i; }
  static VecF load(const uint8_t* row, int64_t i) { return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + i); }
  static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
};
struct WF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static VecF load(const uint8_t* row, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
  }
  static float at(const uint8_t* row, int64_t i) { return half(reinterpret_cast<const uint16_t*>(row)[i]); }
};
struct WBF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static VecF load(const uint8_t* row, int64_t i) {
    const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + 2 * i)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
  }
  static float at(const uint8_t* row, int64_t i) {
    uint32_t u = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};
#else
using VecF = __m256;
constexpr int kLanes = 8;
inline VecF vzero() { return _mm256_setzero_ps(); }
inline VecF vfma(VecF a, VecF b, VecF c) { return _mm256_fmadd_ps(a, b, c); }
inline float vsum(VecF v) { return hsum(v); }
inline VecF vload_x(const float* p) { return _mm256_loadu_ps(p); }
struct WF32 {
  static constexpr int64_t bytes(int64_t i) { return 4 * i; }
  static VecF load(const uint8_t* row, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i); }
  static float at(const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; }
};
struct WF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static VecF load(const uint8_t* row, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
  }
  static float at(const uint8_t* row, int64_t i) { return half(reinterpret_cast<const uint16_t*>(row)[i]); }
};
struct WBF16 {
  static constexpr int64_t bytes(int64_t i) { return 2 * i; }
  static VecF load(const uint8_t* row, int64_t i) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float at(const uint8_t* row, int64_t i) {
    uint32_t u = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(row)[i]) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
};
#endif

// One row by one column: four independent FMA chains hide the FMA latency.
template <class W>
float dot_float_1x1(int64_t k, const uint8_t* w, const float* x) {
  VecF a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
  int64_t i = 0;
  for (; i + 4 * kLanes <= k; i += 4 * kLanes) {
    // One weight stream (rows one after the other): fetch 4 KB ahead of it.
    _mm_prefetch(reinterpret_cast<const char*>(w) + W::bytes(i) + 4096, _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(w) + W::bytes(i) + 4096 + 64, _MM_HINT_T0);
    a0 = vfma(W::load(w, i), vload_x(x + i), a0);
    a1 = vfma(W::load(w, i + kLanes), vload_x(x + i + kLanes), a1);
    a2 = vfma(W::load(w, i + 2 * kLanes), vload_x(x + i + 2 * kLanes), a2);
    a3 = vfma(W::load(w, i + 3 * kLanes), vload_x(x + i + 3 * kLanes), a3);
  }
  for (; i + kLanes <= k; i += kLanes) a0 = vfma(W::load(w, i), vload_x(x + i), a0);
  float s = vsum(a0) + vsum(a1) + vsum(a2) + vsum(a3);
  for (; i < k; ++i) s += W::at(w, i) * x[i];
  return s;
}

template <class W, int R, int C>
void tile_float(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  if constexpr (R == 1 && C == 1) {
    y[0] = dot_float_1x1<W>(k, w, reinterpret_cast<const float*>(x[0]));
    return;
  }
  VecF acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = vzero();
  const int64_t kv = k / kLanes * kLanes;
  for (int64_t i = 0; i < kv; i += kLanes) {
    VecF xv[C];
    for (int c = 0; c < C; ++c) xv[c] = vload_x(reinterpret_cast<const float*>(x[c]) + i);
    for (int r = 0; r < R; ++r) {
      const VecF wv = W::load(w + r * ws, i);
      for (int c = 0; c < C; ++c) acc[r][c] = vfma(wv, xv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int c = 0; c < C; ++c) {
      float s = vsum(acc[r][c]);
      for (int64_t i = kv; i < k; ++i) s += W::at(w + r * ws, i) * reinterpret_cast<const float*>(x[c])[i];
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
