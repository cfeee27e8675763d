// SPDX-License-Identifier: Apache-2.0
// Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 weights against Q8_0 activations (32-element blocks).
// 256-bit kernels first (both tables); then, with FRAGUA_VNNI, the 512-bit ones of the AVX-512
// table: two consecutive blocks fill one zmm, so one VPDPBUSD, one conversion and one FMA serve
// 64 products; the zero-offset correction is the dot's starting value.

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

// ---- 512-bit (AVX-512 table) ----
#ifdef FRAGUA_VNNI

// Lane i of the result takes element i / 8 of the two-element source (block b or b + 1).
inline __m512i pair_index() { return _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1); }

// Two scales of adjacent blocks as [d0 x 8, d1 x 8].
template <class Block>
inline __m512 pair_scales(const Block* b) {
  const uint32_t both = static_cast<uint32_t>(b[0].d) | (static_cast<uint32_t>(b[1].d) << 16);
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(both)));
  return _mm512_permutexvar_ps(pair_index(), _mm512_castps128_ps512(f));
}

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
      const __m512 dw = pair_scales(blk);
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

// Matrix-vector: the activation-side vectors (scales, offset corrections) are expanded once per
// call and reused by every row; rows are walked in order (one sequential weight stream).
template <class W2>
void gemv_legacy512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, float* y) {
  using Block = typename W2::Narrow::Block;
  const int64_t nb = k / 32, np = nb / 2;
  const Q8Row xr = q8_row(x, k);
  // Per block pair: 16 scales then 16 correction words (kept as plain arrays, 64 bytes each).
  thread_local std::vector<float> dxv;
  thread_local std::vector<int32_t> initv;
  if (static_cast<int64_t>(dxv.size()) < 16 * np)
    dxv.resize(static_cast<size_t>(16 * np)), initv.resize(static_cast<size_t>(16 * np));
  const __m512i idx = pair_index();
  for (int64_t p = 0; p < np; ++p) {
    _mm512_storeu_ps(
        dxv.data() + 16 * p,
        _mm512_permutexvar_ps(
            idx, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(xr.d + 2 * p))))));
    const __m512i s = _mm512_permutexvar_epi32(
        idx, _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(xr.s + 2 * p))));
    _mm512_storeu_si512(initv.data() + 16 * p,
                        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(s, W2::corr_shift)));
  }
  const auto dx_at = [&](int64_t p) { return _mm512_loadu_ps(dxv.data() + 16 * p); };
  const auto init_at = [&](int64_t p) { return _mm512_loadu_si512(initv.data() + 16 * p); };
  const Q8Row xt = {xr.qs + 32 * (nb - 1), xr.d + nb - 1, xr.s + nb - 1};
  for (int r = 0; r < nr; ++r) {
    const Block* blk = reinterpret_cast<const Block*>(w + r * ws);
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int64_t p = 0;
    for (; p + 2 <= np; p += 2) {  // two independent FMA chains
      const __m512i q0 = W2::unpack2(blk + 2 * p), q1 = W2::unpack2(blk + 2 * p + 2);
      const __m512i i0 = _mm512_dpbusd_epi32(init_at(p), q0, _mm512_loadu_si512(xr.qs + 64 * p));
      const __m512i i1 = _mm512_dpbusd_epi32(init_at(p + 1), q1, _mm512_loadu_si512(xr.qs + 64 * p + 64));
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(pair_scales(blk + 2 * p), dx_at(p)), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i1), _mm512_mul_ps(pair_scales(blk + 2 * p + 2), dx_at(p + 1)), acc1);
    }
    for (; p < np; ++p) {
      const __m512i i0 = _mm512_dpbusd_epi32(init_at(p), W2::unpack2(blk + 2 * p), _mm512_loadu_si512(xr.qs + 64 * p));
      acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i0), _mm512_mul_ps(pair_scales(blk + 2 * p), dx_at(p)), acc0);
    }
    float tail = 0.0f;
    if (nb % 2 != 0)
      tile_legacy<typename W2::Narrow, 1, 1>(1, w + r * ws + (nb - 1) * sizeof(Block), ws, &xt, &tail, 1);
    y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + tail;
  }
}

template <class W2, int R, int C>
void gemm_legacy512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                    size_t ys) {
  if (nc == 1) {
    gemv_legacy512<W2>(k, w, ws, nr, x, y);
    return;
  }
  drive_tiles<R, C>(nr, nc, [&](auto tr, auto tc, int r, int c) {
    legacy512_at<W2, decltype(tr)::value, decltype(tc)::value>(k, w + r * ws, ws, x + c * xs, xs, y + c * ys + r, ys);
  });
}

// Q8_0 in llama.cpp's order with 512-bit registers (bit-identical to dot_q8_0): in a tile each
// register holds two outputs' eight lanes (two activation columns of one row); each 256-bit half
// is reduced exactly as the 256-bit kernel does. (Pairing two rows for the matrix-vector case
// measured 3.6x slower than the 256-bit kernel row by row, which it therefore uses.)
inline __m512 halves(float lo, float hi) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(lo)), _mm256_set1_ps(hi), 1);
}
inline __m512i pair256(const int8_t* lo, const int8_t* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(load256(lo)), load256(hi), 1);
}
// |w| as unsigned bytes and x with w's sign: the exact signed products through VPDPBUSD.
inline __m512i dot_signed(__m512i w, __m512i x) {
  const __m512i neg = _mm512_mask_sub_epi8(x, _mm512_movepi8_mask(w), _mm512_setzero_si512(), x);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), neg);
}

template <int R, int CP>
void tile_q8_0_ggml512(int64_t nb, const uint8_t* w, size_t ws, const Q8Row* xr, float* y, size_t ys) {
  __m512 acc[R][CP];
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < CP; ++p) acc[r][p] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    __m512i xq[CP];
    __m512 dx[CP];
    for (int p = 0; p < CP; ++p) {
      xq[p] = pair256(xr[2 * p].qs + 32 * b, xr[2 * p + 1].qs + 32 * b);
      dx[p] = halves(xr[2 * p].d[b], xr[2 * p + 1].d[b]);
    }
    for (int r = 0; r < R; ++r) {
      const BlockQ8_0* blk = reinterpret_cast<const BlockQ8_0*>(w + r * ws) + b;
      const __m512i q = _mm512_broadcast_i64x4(load256(blk->qs));
      const __m512 dw = _mm512_set1_ps(half(blk->d));
      for (int p = 0; p < CP; ++p)
        acc[r][p] = _mm512_fmadd_ps(_mm512_mul_ps(dw, dx[p]), _mm512_cvtepi32_ps(dot_signed(q, xq[p])), acc[r][p]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int p = 0; p < CP; ++p) {
      y[(2 * p) * ys + r] = hsum(_mm512_castps512_ps256(acc[r][p]));
      y[(2 * p + 1) * ys + r] = hsum(_mm512_extractf32x8_ps(acc[r][p], 1));
    }
}

template <int R, int C>
void gemm_q8_0_ggml512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                       size_t ys) {
  static_assert(C % 2 == 0, "columns go in pairs");
  if (nc == 1) {  // matrix-vector: the 256-bit kernel, one row after the other (one weight stream)
    gemm_q8_0_ggml<R, C>(k, w, ws, nr, x, xs, nc, y, ys);
    return;
  }
  drive_tiles<R, C>(nr, nc, [&](auto tr, auto tc, int r, int c) {
    constexpr int TR = decltype(tr)::value, TC = decltype(tc)::value;
    Q8Row xr[TC];
    for (int i = 0; i < TC; ++i) xr[i] = q8_row(x + (c + i) * xs, k);
    if constexpr (TC % 2 == 0)
      tile_q8_0_ggml512<TR, TC / 2>(k / 32, w + r * ws, ws, xr, y + c * ys + r, ys);
    else
      tile_q8_0_ggml<TR, TC>(k / 32, w + r * ws, ws, xr, y + c * ys + r, ys);
  });
}

#endif  // FRAGUA_VNNI
