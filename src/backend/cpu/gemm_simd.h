// SIMD micro-kernels shared by vec_dot_avx2.cpp and vec_dot_avx512.cpp. Each includes this file
// once inside its own namespace, with FRAGUA_VNNI defined where AVX512-VNNI may be used (the
// 256-bit VPDPBUSD of AVX512VL); the wide float kernels use zmm under __AVX512F__.
//
// Integer dots: weights are made unsigned (nibbles, or int8 + 128) so that one u8 x s8
// instruction forms the products; the offset is removed exactly with the per-block sum of the
// activations that the Q8 row carries (dot(w - o, x) = dot(w, x) - o * sum(x)).
// A tile is R weight rows x C activation rows: each weight block is unpacked once per tile and
// each activation block loaded once per row, with R*C accumulators in registers.
// The including file provides <immintrin.h>, <cstring>, <type_traits>, kernels.h and blocks.h
// before opening its namespace.

using fragua::tensor::BlockQ4_0;
using fragua::tensor::BlockQ4_1;
using fragua::tensor::BlockQ4_K;
using fragua::tensor::BlockQ5_0;
using fragua::tensor::BlockQ5_1;
using fragua::tensor::BlockQ5_K;
using fragua::tensor::BlockQ6_K;
using fragua::tensor::BlockQ8_0;
using fragua::tensor::BlockQ8_K;

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float half(uint16_t h) { return _cvtsh_ss(h); }

template <class T>
inline __m256i load256(const T* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

// Sums of four u8*s8 products per i32 lane (u <= 127 keeps maddubs from saturating).
inline __m256i dot_u8s8(__m256i u, __m256i s) {
#ifdef FRAGUA_VNNI
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// 32 nibbles: low nibbles of qs[0..15] are elements 0..15, high nibbles elements 16..31.
inline __m256i nibbles32(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

// Byte j = 0x10 where bit j of the 32-bit mask is set.
inline __m256i fifth_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(static_cast<int>(bits)),
      _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
  const __m256i sel = _mm256_set1_epi64x(0x8040201008040201LL);
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, sel), sel), _mm256_set1_epi8(0x10));
}

struct WQ4_0 {
  using Block = BlockQ4_0;
  static constexpr int lane_corr = 1;  // offset 8 over 8 lanes: sum(x) per lane
  static constexpr bool has_min = false;
  static __m256i unpack(const Block* b) { return nibbles32(b->qs); }
  static __m256i dot(__m256i q, __m256i x) { return dot_u8s8(q, x); }
};
struct WQ4_1 {
  using Block = BlockQ4_1;
  static constexpr int lane_corr = 0;
  static constexpr bool has_min = true;
  static __m256i unpack(const Block* b) { return nibbles32(b->qs); }
  static __m256i dot(__m256i q, __m256i x) { return dot_u8s8(q, x); }
};
struct WQ5_0 {
  using Block = BlockQ5_0;
  static constexpr int lane_corr = 2;  // offset 16 over 8 lanes
  static constexpr bool has_min = false;
  static __m256i unpack(const Block* b) { return _mm256_or_si256(nibbles32(b->qs), fifth_bits(b->qh)); }
  static __m256i dot(__m256i q, __m256i x) { return dot_u8s8(q, x); }
};
struct WQ5_1 {
  using Block = BlockQ5_1;
  static constexpr int lane_corr = 0;
  static constexpr bool has_min = true;
  static __m256i unpack(const Block* b) { return _mm256_or_si256(nibbles32(b->qs), fifth_bits(b->qh)); }
  static __m256i dot(__m256i q, __m256i x) { return dot_u8s8(q, x); }
};
#ifdef FRAGUA_VNNI
struct WQ8_0 {
  using Block = BlockQ8_0;
  static constexpr int lane_corr = 16;  // w + 128 (xor 0x80): offset 128 over 8 lanes
  static constexpr bool has_min = false;
  static __m256i unpack(const Block* b) { return _mm256_xor_si256(load256(b->qs), _mm256_set1_epi8(-128)); }
  static __m256i dot(__m256i q, __m256i x) { return _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, x); }
};
#else
struct WQ8_0 {
  using Block = BlockQ8_0;
  static constexpr int lane_corr = 0;
  static constexpr bool has_min = false;
  static __m256i unpack(const Block* b) { return load256(b->qs); }
  // |w| as unsigned times x carrying w's sign: products fit maddubs' i16 pairs (128*127*2).
  static __m256i dot(__m256i q, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(x, q)),
                             _mm256_set1_epi16(1));
  }
};
#endif

template <class W, int R, int C>
void tile_legacy(int64_t nb, const uint8_t* w, size_t ws, const Q8Row* xr, float* y, size_t ys) {
  __m256 acc[R][C];
  float accm[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps(), accm[r][c] = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xq[C], corr[C];
    __m256 dx[C];
    for (int c = 0; c < C; ++c) {
      xq[c] = load256(xr[c].qs + 32 * b);
      dx[c] = _mm256_set1_ps(xr[c].d[b]);
      if constexpr (W::lane_corr != 0) corr[c] = _mm256_set1_epi32(xr[c].s[b] * W::lane_corr);
    }
    for (int r = 0; r < R; ++r) {
      const auto* blk = reinterpret_cast<const typename W::Block*>(w + r * ws) + b;
      const __m256i q = W::unpack(blk);
      const __m256 dw = _mm256_set1_ps(half(blk->d));
      for (int c = 0; c < C; ++c) {
        __m256i p = W::dot(q, xq[c]);
        if constexpr (W::lane_corr != 0) p = _mm256_sub_epi32(p, corr[c]);
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw, dx[c]), acc[r][c]);
        if constexpr (W::has_min) accm[r][c] += half(blk->m) * (xr[c].d[b] * static_cast<float>(xr[c].s[b]));
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = hsum(acc[r][c]) + accm[r][c];
}

// Scales and mins of a Q4_K/Q5_K block as 16 bytes: sc[0..7] then m[0..7] (same unpacking as
// k4_scale_min, done on 32-bit words).
inline void k4_unpack_scales(const uint8_t* s, uint8_t out[16]) {
  uint32_t a[3];
  std::memcpy(a, s, 12);
  const uint32_t low6 = 0x3f3f3f3f, low4 = 0x0f0f0f0f, low2 = 0x03030303;
  const uint32_t o[4] = {a[0] & low6, (a[2] & low4) | (((a[0] >> 6) & low2) << 4), a[1] & low6,
                         ((a[2] >> 4) & low4) | (((a[1] >> 6) & low2) << 4)};
  std::memcpy(out, o, 16);
}

template <bool five, int R, int C>
void tile_qk45(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  using Block = std::conditional_t<five, BlockQ5_K, BlockQ4_K>;
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const Block* blk = reinterpret_cast<const Block*>(w + r * ws) + i;
      alignas(16) uint8_t sm[16];
      k4_unpack_scales(blk->scales, sm);
      const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8));
      const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  // m0 m0 m1 m1 ...
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      __m256i hb;
      if constexpr (five) hb = load256(blk->qh);
      for (int g = 0; g < 4; ++g) {
        const __m256i q = load256(blk->qs + 32 * g);
        __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if constexpr (five) {
          const __m256i one = _mm256_set1_epi8(1);
          lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g), one), 4));
          hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2 * g + 1), one), 4));
        }
        const __m256i s_lo = _mm256_set1_epi16(sm[2 * g]), s_hi = _mm256_set1_epi16(sm[2 * g + 1]);
        for (int c = 0; c < C; ++c) {
          const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xb[c]->qs + 64 * g)), s_lo);
          const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xb[c]->qs + 64 * g + 32)), s_hi);
          isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(plo, phi));
        }
      }
      const float d = half(blk->d), dmin = half(blk->dmin);
      for (int c = 0; c < C; ++c) {
        const __m256i msum = _mm256_madd_epi16(load256(xb[c]->bsums), mins);
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_set1_ps(d * xb[c]->d), acc[r][c]);
        acc[r][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * xb[c]->d), acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = hsum(acc[r][c]);
}

template <int R, int C>
void tile_q6_k(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F), m2 = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const BlockQ6_K* blk = reinterpret_cast<const BlockQ6_K*>(w + r * ws) + i;
      const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        const __m256i ql0 = load256(blk->ql + 64 * h), ql1 = load256(blk->ql + 64 * h + 32);
        const __m256i qh = load256(blk->qh + 32 * h);
        const __m256i nib[4] = {_mm256_and_si256(ql0, m4), _mm256_and_si256(ql1, m4),
                                _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4)};
        for (int rr = 0; rr < 4; ++rr) {
          const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * rr), m2), 4);
          const __m256i q = _mm256_or_si256(nib[rr], hi);  // 0..63, offset 32 removed below
          const int j = 8 * h + 2 * rr;                    // sub-blocks j (lanes 0..15) and j + 1 (16..31)
          const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(blk->scales[j + 1]), _mm_set1_epi16(blk->scales[j]));
          for (int c = 0; c < C; ++c) {
            const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q, load256(xb[c]->qs + 128 * h + 32 * rr)), sc);
            isum[c] = _mm256_add_epi32(isum[c], p);
          }
        }
      }
      const float d = half(blk->d);
      for (int c = 0; c < C; ++c) {
        const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(xb[c]->bsums), sc16), 5);
        acc[r][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[c], corr)), _mm256_set1_ps(d * xb[c]->d),
                                    acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = hsum(acc[r][c]);
}

// ---- float weights (x already f32, rounded to the weight precision where llama.cpp does) ----

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

// ---- drivers: R x C tiles over the block, remainders with narrower tiles ----

// Walks an nr x nc output block in R x C tiles, columns outer: C activation rows stay in L1
// while the (smaller) weight rows stream past. Remainders use R x 1, 1 x C and 1 x 1 tiles.
// at(std::integral_constant<int, R'>{}, std::integral_constant<int, C'>{}, r, c) runs one tile.
template <int R, int C, class At>
void drive_tiles(int nr, int nc, At at) {
  using std::integral_constant;
  int c = 0;
  for (; c + C <= nc; c += C) {
    int r = 0;
    for (; r + R <= nr; r += R) at(integral_constant<int, R>{}, integral_constant<int, C>{}, r, c);
    for (; r < nr; ++r) at(integral_constant<int, 1>{}, integral_constant<int, C>{}, r, c);
  }
  for (; c < nc; ++c) {
    int r = 0;
    for (; r + R <= nr; r += R) at(integral_constant<int, R>{}, integral_constant<int, 1>{}, r, c);
    for (; r < nr; ++r) at(integral_constant<int, 1>{}, integral_constant<int, 1>{}, r, c);
  }
}

template <class W, int R, int C>
void legacy_tile_at(int64_t k, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
  Q8Row xr[C];
  for (int c = 0; c < C; ++c) xr[c] = q8_row(x + c * xs, k);
  tile_legacy<W, R, C>(k / 32, w, ws, xr, y, ys);
}

template <class W, int R, int C>
void gemm_legacy(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                 size_t ys) {
  if (nc == 1) {
    // Matrix-vector: one row after the other keeps the weights a single sequential stream,
    // which the hardware prefetcher follows best (measured 2x faster than 4 interleaved rows).
    for (int r = 0; r < nr; ++r) legacy_tile_at<W, 1, 1>(k, w + r * ws, ws, x, xs, y + r, ys);
    return;
  }
  drive_tiles<R, C>(nr, nc, [&](auto tr, auto tc, int r, int c) {
    legacy_tile_at<W, decltype(tr)::value, decltype(tc)::value>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
  });
}

// Tiles whose activation rows are passed as pointers (k-quants and float weights).
template <template <int, int> class T, int R, int C>
void gemm_rows(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
               size_t ys) {
  auto at = [&](auto tile, int r, int c, int cn) {
    const uint8_t* xp[C];
    for (int i = 0; i < cn; ++i) xp[i] = x + (c + i) * xs;
    tile(k, w + r * ws, ws, xp, y + c * ys + r, ys);
  };
  if (nc == 1) {
    for (int r = 0; r < nr; ++r) at(T<1, 1>::run, r, 0, 1);  // sequential stream, as above
    return;
  }
  drive_tiles<R, C>(nr, nc, [&](auto tr, auto tc, int r, int c) {
    at(T<decltype(tr)::value, decltype(tc)::value>::run, r, c, decltype(tc)::value);
  });
}

template <int R, int C>
struct Q4K {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk45<false, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q5K {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk45<true, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q6K {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_q6_k<R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <class W>
struct FloatTile {
  template <int R, int C>
  struct T {
    static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
      tile_float<W, R, C>(k, w, ws, x, y, ys);
    }
  };
};

// ---- activation quantization (bit-identical to act_q8_0_scalar) ----

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

// ---- Q8_0 in llama.cpp's order (bit-identical to dot_q8_0 in vec_dot_scalar.cpp) ----
// Signed x signed through the unsigned dot: |w| times x with w's sign, exact per 4-element lane.
template <int R, int C>
void tile_q8_0_ggml(int64_t nb, const uint8_t* w, size_t ws, const Q8Row* xr, float* y, size_t ys) {
  __m256 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    // Matrix-vector: one weight stream; fetch 4 KB ahead of it.
    if constexpr (R == 1 && C == 1) _mm_prefetch(reinterpret_cast<const char*>(w) + b * 34 + 4096, _MM_HINT_T0);
    __m256i xq[C];
    for (int c = 0; c < C; ++c) xq[c] = load256(xr[c].qs + 32 * b);
    for (int r = 0; r < R; ++r) {
      const BlockQ8_0* blk = reinterpret_cast<const BlockQ8_0*>(w + r * ws) + b;
      const __m256i q = load256(blk->qs);
      const __m256i aq = _mm256_sign_epi8(q, q);
      const float dw = half(blk->d);
      for (int c = 0; c < C; ++c) {
        // |q| may be 128: maddubs pair sums stay within int16 (2 * 128 * 127); VPDPBUSD is exact.
        const __m256i p = dot_u8s8(aq, _mm256_sign_epi8(xq[c], q));
        acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xr[c].d[b]), _mm256_cvtepi32_ps(p), acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = hsum(acc[r][c]);
}

template <int R, int C>
void gemm_q8_0_ggml(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                    size_t ys) {
  auto at = [&](auto tr, auto tc, int r, int c) {
    constexpr int TR = decltype(tr)::value, TC = decltype(tc)::value;
    Q8Row xr[TC];
    for (int i = 0; i < TC; ++i) xr[i] = q8_row(x + (c + i) * xs, k);
    tile_q8_0_ggml<TR, TC>(k / 32, w + r * ws, ws, xr, y + c * ys + r, ys);
  };
  if (nc == 1) {  // one row after the other: one sequential weight stream (two interleaved rows
                  // measured 4x slower here)
    for (int r = 0; r < nr; ++r) at(std::integral_constant<int, 1>{}, std::integral_constant<int, 1>{}, r, 0);
    return;
  }
  drive_tiles<R, C>(nr, nc, at);
}

// ---- Q4_0 packed in 16-row panels (cpu::pack_weights), bit-identical to the scalar kernel ----
inline int32_t load_i32(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// Byte pattern that copies byte i of each 32-bit lane to all four of its bytes.
inline __m256i spread_byte(int i) {
  const char a = static_cast<char>(i), b = static_cast<char>(4 + i), c = static_cast<char>(8 + i),
             d = static_cast<char>(12 + i);
  return _mm256_setr_epi8(a, a, a, a, b, b, b, b, c, c, c, c, d, d, d, d, a, a, a, a, b, b, b, b, c, c, c, c, d, d, d,
                          d);
}

// Eight rows (half h of a panel) x C activation columns; y[c * ys + r] for r < 8.
template <bool Five, int C>
void tile_panel8(int64_t nb, const uint8_t* panel, int h, const Q8Row* xr, float* y, size_t ys) {
  using P = Panel<Five>;
  __m256 acc[C];
  for (int c = 0; c < C; ++c) acc[c] = _mm256_setzero_ps();
  const __m256i lo = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * P::bytes;
    __m256i g[8];
    for (int i = 0; i < 4; ++i) {
      const __m256i z = load256(blk + 64 * i + 32 * h);
      g[i] = _mm256_and_si256(z, lo);
      g[i + 4] = _mm256_and_si256(_mm256_srli_epi16(z, 4), lo);
    }
    if constexpr (Five) {
      const __m256i hb = load256(blk + P::fifth_bits + 32 * h), sixteen = _mm256_set1_epi8(0x10);
      const __m256i sel_lo = _mm256_set1_epi32(0x08040201), sel_hi = _mm256_set1_epi32(static_cast<int>(0x80402010u));
      for (int i = 0; i < 4; ++i) {
        const __m256i v = _mm256_shuffle_epi8(hb, spread_byte(i));
        g[i] = _mm256_or_si256(g[i], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_lo), sel_lo), sixteen));
        g[i + 4] = _mm256_or_si256(g[i + 4],
                                   _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_hi), sel_hi), sixteen));
      }
    }
    const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + P::scales + 16 * h)));
    for (int c = 0; c < C; ++c) {
      const int8_t* xq = xr[c].qs + 32 * b;
      __m256i s = _mm256_set1_epi32(-P::offset * xr[c].s[b]);
      for (int i = 0; i < 8; ++i) s = _mm256_add_epi32(s, dot_u8s8(g[i], _mm256_set1_epi32(load_i32(xq + 4 * i))));
      acc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(xr[c].d[b])), acc[c]);
    }
  }
  for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + c * ys, acc[c]);
}

// Panels of 16 rows, C activation columns at a time (columns outer, as drive_tiles, so a tile's
// activation rows stay in L1 while the panels stream past). ws: bytes per row in the file layout.
template <int C, template <int> class Tile>
void drive_panels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                  size_t ys) {
  const int64_t nb = k / 32;
  auto cols = [&](auto cn, int c0) {
    constexpr int N = decltype(cn)::value;
    Q8Row xr[N];
    for (int i = 0; i < N; ++i) xr[i] = q8_row(x + static_cast<size_t>(c0 + i) * xs, k);
    for (int p = 0; p < nr / 16; ++p)
      Tile<N>::run(nb, w + static_cast<size_t>(p) * 16 * ws, xr, y + c0 * ys + 16 * p, ys);
  };
  using std::integral_constant;
  int c = 0;
  for (; c + C <= nc; c += C) cols(integral_constant<int, C>{}, c);
  for (; c + 2 <= nc; c += 2) cols(integral_constant<int, 2>{}, c);
  if (c < nc) cols(integral_constant<int, 1>{}, c);
}

template <bool Five>
struct Panel8x2 {
  template <int C>
  struct T {
    static void run(int64_t nb, const uint8_t* panel, const Q8Row* xr, float* y, size_t ys) {
      tile_panel8<Five, C>(nb, panel, 0, xr, y, ys);
      tile_panel8<Five, C>(nb, panel, 1, xr, y + 8, ys);
    }
  };
};

template <bool Five>
void gemm_panels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                 size_t ys) {
  drive_panels<4, Panel8x2<Five>::template T>(k, w, ws, nr, x, xs, nc, y, ys);
}

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

// ---- SwiGLU, bit-identical to swiglu_scalar ----
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
      swiglu_scalar(gate + i, up + i, 8, y + i);
      continue;
    }
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(nn), _mm256_set1_epi32(127)), 23);
    const __m256 ex = _mm256_mul_ps(j, _mm256_castsi256_ps(e));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, ex)), _mm256_loadu_ps(up + i)));
  }
  if (i < n) swiglu_scalar(gate + i, up + i, n - i, y + i);
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
