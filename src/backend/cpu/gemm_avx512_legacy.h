// 512-bit kernels for the 32-element formats (Q4_0, Q5_0, Q8_0), included by vec_dot_avx512.cpp
// after gemm_simd.h. Two consecutive blocks fill one zmm, so one VPDPBUSD, one conversion and
// one FMA serve 64 products; the zero-offset correction is the dot's starting value.

// Lane i of the result takes element i / 8 of the two-element source (block b or b + 1).
inline __m512i pair_index() { return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1); }

// [b0 low nibbles, b0 high, b1 low, b1 high]: the natural element order of the two blocks.
template <class Block>
inline __m512i nibbles64(const Block* b) {
  const __m256i v = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs)));
  __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
  z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
  return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
}

struct W2Q4_0 {
  using Narrow = WQ4_0;
  static constexpr int corr_shift = 0;  // sum(x) per lane, as in WQ4_0
  static __m512i unpack2(const BlockQ4_0* b) { return nibbles64(b); }
};
struct W2Q5_0 {
  using Narrow = WQ5_0;
  static constexpr int corr_shift = 1;
  static __m512i unpack2(const BlockQ5_0* b) {
    const __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(fifth_bits(b[0].qh)), fifth_bits(b[1].qh), 1);
    return _mm512_or_si512(nibbles64(b), h);
  }
};
struct W2Q8_0 {
  using Narrow = WQ8_0;
  static constexpr int corr_shift = 4;
  static __m512i unpack2(const BlockQ8_0* b) {
    const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(load256(b[0].qs)), load256(b[1].qs), 1);
    return _mm512_xor_si512(z, _mm512_set1_epi8(-128));
  }
};

template <class W2, int R, int C>
void tile_legacy512(int64_t nb, const uint8_t* w, size_t ws, const Q8Row* xr, float* y, size_t ys) {
  using Block = typename W2::Narrow::Block;
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  const __m512i idx = pair_index();
  int64_t b = 0;
  for (; b + 2 <= nb; b += 2) {
    __m512i xq[C], init[C];
    __m512 dx[C];
    for (int c = 0; c < C; ++c) {
      xq[c] = _mm512_loadu_si512(xr[c].qs + 32 * b);
      dx[c] = _mm512_permutexvar_ps(
          idx, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(xr[c].d + b)))));
      const __m512i s = _mm512_permutexvar_epi32(
          idx, _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xr[c].s + b))));
      init[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, W2::corr_shift));
    }
    for (int r = 0; r < R; ++r) {
      const Block* blk = reinterpret_cast<const Block*>(w + r * ws) + b;
      const __m512i q = W2::unpack2(blk);
      const __m512 dw = _mm512_insertf32x8(_mm512_set1_ps(half(blk[0].d)), _mm256_set1_ps(half(blk[1].d)), 1);
      for (int c = 0; c < C; ++c) {
        const __m512i p = _mm512_dpbusd_epi32(init[c], q, xq[c]);
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(p), _mm512_mul_ps(dw, dx[c]), acc[r][c]);
      }
    }
  }
  float tail[R * C] = {};
  if (b < nb) {  // an odd last block: the 256-bit kernel
    Q8Row xt[C];
    for (int c = 0; c < C; ++c) xt[c] = {xr[c].qs + 32 * b, xr[c].d + b, xr[c].s + b};
    tile_legacy<typename W2::Narrow, R, C>(1, w + b * static_cast<int64_t>(sizeof(Block)), ws, xt, tail, R);
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = _mm512_reduce_add_ps(acc[r][c]) + tail[c * R + r];
}

template <class W2, int R, int C>
void legacy512_at(int64_t k, const uint8_t* w, size_t ws, const uint8_t* x, size_t xs, float* y, size_t ys) {
  Q8Row xr[C];
  for (int c = 0; c < C; ++c) xr[c] = q8_row(x + c * xs, k);
  tile_legacy512<W2, R, C>(k / 32, w, ws, xr, y, ys);
}

template <class W2, int R, int C>
void gemm_legacy512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                    size_t ys) {
  if (nc == 1) {  // sequential weight stream (see gemm_legacy)
    for (int r = 0; r < nr; ++r) legacy512_at<W2, 1, 1>(k, w + r * ws, ws, x, xs, y + r, ys);
    return;
  }
  int r = 0;
  for (; r + R <= nr; r += R) {
    int c = 0;
    for (; c + C <= nc; c += C) legacy512_at<W2, R, C>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
    for (; c < nc; ++c) legacy512_at<W2, R, 1>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
  }
  for (; r < nr; ++r) {
    int c = 0;
    for (; c + C <= nc; c += C) legacy512_at<W2, 1, C>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
    for (; c < nc; ++c) legacy512_at<W2, 1, 1>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
  }
}
