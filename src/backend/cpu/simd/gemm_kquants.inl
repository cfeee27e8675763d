// SPDX-License-Identifier: Apache-2.0
// Q2_K, Q3_K, Q4_K, Q5_K and Q6_K weights against Q8_K activations (256-element super-blocks).
// 256-bit kernels first; then, with FRAGUA_VNNI, the 512-bit ones: one zmm holds 64 consecutive
// elements of a super-block (two 32-element sub-blocks of Q4_K / Q5_K, four 16-element sub-blocks
// of Q2_K, Q3_K and Q6_K), so the matching activations are one 64-byte load; the per-sub-block
// scales become one i16 vector picked out of the block's scales by a permute.

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

// Q3_K's 16 scales as unsigned bytes (value + 32), unpacked on 32-bit words (q3_k_scales).
inline __m128i q3_k_scales_u8(const uint8_t* s) {
  uint32_t a[3];
  std::memcpy(a, s, 12);
  const uint32_t low4 = 0x0f0f0f0f, low2 = 0x03030303;
  // Built in registers: four 32-bit stores read back by one 128-bit load would miss store
  // forwarding, a stall per block that made the matrix-vector product 4 times slower.
  return _mm_set_epi32(static_cast<int>(((a[1] >> 4) & low4) | (((a[2] >> 6) & low2) << 4)),
                       static_cast<int>(((a[0] >> 4) & low4) | (((a[2] >> 4) & low2) << 4)),
                       static_cast<int>((a[1] & low4) | (((a[2] >> 2) & low2) << 4)),
                       static_cast<int>((a[0] & low4) | ((a[2] & low2) << 4)));
}

// A Q2_K or Q3_K block's 16 sub-block scales as i16 (sc16), and what multiplies the activation
// sums (aux16): Q3_K the scales themselves (its offset of 4), Q2_K its 4-bit minima.
template <bool three, class Block>
inline void qk23_scales(const Block* blk, __m256i& sc16, __m256i& aux16) {
  if constexpr (three) {
    sc16 = _mm256_sub_epi16(_mm256_cvtepu8_epi16(q3_k_scales_u8(blk->scales)), _mm256_set1_epi16(32));
    aux16 = sc16;
  } else {
    const __m128i sb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)), low4 = _mm_set1_epi8(0x0F);
    sc16 = _mm256_cvtepu8_epi16(_mm_and_si128(sb, low4));
    aux16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(sb, 4), low4));
  }
}

// Q2_K and Q3_K: in half h of a block (128 elements, 32 bytes of qs), bit pair s of each byte
// holds elements 32s..32s+31 of the half in order, i.e. sub-blocks 8h+2s (lanes 0..15) and
// 8h+2s+1 (lanes 16..31), so one shift and mask per 32 elements lines them up with the
// activations, and one byte shuffle of the half's eight i16 scales (held in both 128-bit lanes)
// gives the pair's scales. Q3_K's third bit (hmask bit 4h+s) is added as +4, its offset of 4
// removed exactly with the scaled activation sums; Q2_K's mins are one dot of the mins against
// the sums. Each super-block's sums are reduced to one exact integer and added in f32 as
// dot_q2_k / dot_q3_k define (one fma per sum), so every level gives the same bits.
template <bool three, int R, int C>
void tile_qk23(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  using Block = std::conditional_t<three, BlockQ3_K, BlockQ2_K>;
  float acc[R][C] = {};
  const __m256i m3 = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1);
  // i16 element 2s of a 128-bit lane to the low lane, 2s + 1 to the high one.
  __m256i pick[4];
  for (int s = 0; s < 4; ++s)
    pick[s] = _mm256_set_m128i(_mm_set1_epi16(static_cast<short>((4 * s + 3) << 8 | (4 * s + 2))),
                               _mm_set1_epi16(static_cast<short>((4 * s + 1) << 8 | 4 * s)));
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const Block* blk = reinterpret_cast<const Block*>(w + r * ws) + i;
      __m256i sc16, aux16;
      qk23_scales<three>(blk, sc16, aux16);
      const __m256i half_sc[2] = {_mm256_permute2x128_si256(sc16, sc16, 0x00),
                                  _mm256_permute2x128_si256(sc16, sc16, 0x11)};
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      __m256i hm = _mm256_setzero_si256();
      if constexpr (three) hm = load256(blk->hmask);
      for (int h = 0; h < 2; ++h) {
        const __m256i q = load256(blk->qs + 32 * h);
        for (int s = 0; s < 4; ++s) {
          __m256i v = _mm256_and_si256(_mm256_srli_epi16(q, 2 * s), m3);
          if constexpr (three)
            v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hm, 4 * h + s), one), 2));
          const __m256i scv = _mm256_shuffle_epi8(half_sc[h], pick[s]);
          for (int c = 0; c < C; ++c)
            isum[c] = _mm256_add_epi32(
                isum[c], _mm256_madd_epi16(_mm256_maddubs_epi16(v, load256(xb[c]->qs + 128 * h + 32 * s)), scv));
        }
      }
      const float d = half(blk->d);
      for (int c = 0; c < C; ++c) {
        const __m256i bs = _mm256_madd_epi16(load256(xb[c]->bsums), aux16);
        if constexpr (three) {
          acc[r][c] = std::fma(static_cast<float>(hsum_i32(_mm256_sub_epi32(isum[c], _mm256_slli_epi32(bs, 2)))),
                               d * xb[c]->d, acc[r][c]);
        } else {
          acc[r][c] = std::fma(static_cast<float>(hsum_i32(isum[c])), d * xb[c]->d, acc[r][c]);
          acc[r][c] = std::fma(-static_cast<float>(hsum_i32(bs)), half(blk->dmin) * xb[c]->d, acc[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = acc[r][c];
}

template <int R, int C>
struct Q2K {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk23<false, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q3K {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk23<true, R, C>(k / 256, w, ws, x, y, ys);
  }
};

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

// ---- 512-bit (AVX-512 table) ----
#ifdef FRAGUA_VNNI

// i16 lane e -> value base + e / group (group 16 for Q4_K/Q5_K, 8 for Q6_K).
inline __m512i lane_groups(int base, int shift) {
  alignas(64) int16_t v[32];
  for (int e = 0; e < 32; ++e) v[e] = static_cast<int16_t>(base + (e >> shift));
  return _mm512_load_si512(v);
}

template <bool five, int R, int C>
void tile_qk45_512(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  using Block = std::conditional_t<five, BlockQ5_K, BlockQ4_K>;
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  __m512i pick[4];
  for (int g = 0; g < 4; ++g) pick[g] = lane_groups(2 * g, 4);
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const Block* blk = reinterpret_cast<const Block*>(w + r * ws) + i;
      alignas(16) uint8_t sm[16];
      k4_unpack_scales(blk->scales, sm);
      const __m512i sc = _mm512_castsi256_si512(
          _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(sm))));  // sc0..7, m0..7
      const __m128i m8 = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(sm + 8));
      const __m256i mins = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));
      __m512i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
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
        const __m512i qz = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        const __m512i scz = _mm512_permutexvar_epi16(pick[g], sc);
        for (int c = 0; c < C; ++c) {
          const __m512i p = _mm512_maddubs_epi16(qz, _mm512_loadu_si512(xb[c]->qs + 64 * g));
          isum[c] = _mm512_dpwssd_epi32(isum[c], p, scz);  // VNNI: scale, pair-sum and accumulate
        }
      }
      const float d = half(blk->d), dmin = half(blk->dmin);
      for (int c = 0; c < C; ++c) {
        const __m512i msum = _mm512_zextsi256_si512(_mm256_madd_epi16(load256(xb[c]->bsums), mins));
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_set1_ps(d * xb[c]->d), acc[r][c]);
        acc[r][c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_set1_ps(dmin * xb[c]->d), acc[r][c]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
}

template <int R, int C>
void tile_q6_k_512(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) acc[r][c] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F), m2 = _mm512_set1_epi8(3);
  __m512i pick[4];
  for (int p = 0; p < 4; ++p) pick[p] = lane_groups(4 * p, 3);  // sub-blocks 4p .. 4p+3
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const BlockQ6_K* blk = reinterpret_cast<const BlockQ6_K*>(w + r * ws) + i;
      const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk->scales)));
      const __m512i sc = _mm512_castsi256_si512(sc16);
      __m512i isum[C];
      for (int c = 0; c < C; ++c) {
        // Start from -32 * sum(scale * bsum): the offset of the 6-bit quants, removed exactly.
        const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(xb[c]->bsums), sc16), 5);
        isum[c] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr));
      }
      for (int h = 0; h < 2; ++h) {
        const __m512i ql = _mm512_loadu_si512(blk->ql + 64 * h);
        const __m256i qh = load256(blk->qh + 32 * h);
        const __m512i qh01 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        const __m512i qh23 = _mm512_srli_epi16(qh01, 4);
        // Elements 128h + 0..63 (low nibbles of ql) and 128h + 64..127 (high nibbles).
        const __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(qh01, m2), 4));
        const __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                            _mm512_slli_epi16(_mm512_and_si512(qh23, m2), 4));
        const __m512i s01 = _mm512_permutexvar_epi16(pick[2 * h], sc);
        const __m512i s23 = _mm512_permutexvar_epi16(pick[2 * h + 1], sc);
        for (int c = 0; c < C; ++c) {
          const __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512(xb[c]->qs + 128 * h));
          const __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512(xb[c]->qs + 128 * h + 64));
          isum[c] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[c], p01, s01), p23, s23);
        }
      }
      const float d = half(blk->d);
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_set1_ps(d * xb[c]->d), acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = _mm512_reduce_add_ps(acc[r][c]);
}

// Q2_K and Q3_K with 512-bit registers: bit pairs 0 and 1 of half h's 32 bytes are elements
// 0..63 of the half, pairs 2 and 3 elements 64..127 (one zmm each, as tile_q6_k_512 builds its
// quants), their sub-blocks' scales one permute of the block's 16 i16 scales. The same exact
// sums and f32 steps as tile_qk23 (the same bits).
template <bool three, int R, int C>
void tile_qk23_512(int64_t nsb, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
  using Block = std::conditional_t<three, BlockQ3_K, BlockQ2_K>;
  float acc[R][C] = {};
  const __m512i m3 = _mm512_set1_epi8(3), one = _mm512_set1_epi8(1);
  __m512i pick[4];
  for (int p = 0; p < 4; ++p) pick[p] = lane_groups(4 * p, 3);  // sub-blocks 4p .. 4p+3
  for (int64_t i = 0; i < nsb; ++i) {
    const BlockQ8_K* xb[C];
    for (int c = 0; c < C; ++c) xb[c] = reinterpret_cast<const BlockQ8_K*>(x[c]) + i;
    for (int r = 0; r < R; ++r) {
      const Block* blk = reinterpret_cast<const Block*>(w + r * ws) + i;
      __m256i sc16, aux16;
      qk23_scales<three>(blk, sc16, aux16);
      const __m512i sc = _mm512_castsi256_si512(sc16);
      __m512i isum[C];
      for (int c = 0; c < C; ++c) {
        if constexpr (three) {  // start from -4 * sum(scale * bsum): the quants' offset of 4
          const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(load256(xb[c]->bsums), sc16), 2);
          isum[c] = _mm512_zextsi256_si512(_mm256_sub_epi32(_mm256_setzero_si256(), corr));
        } else {
          isum[c] = _mm512_setzero_si512();
        }
      }
      __m256i hm = _mm256_setzero_si256();
      if constexpr (three) hm = load256(blk->hmask);
      for (int h = 0; h < 2; ++h) {
        const __m256i q = load256(blk->qs + 32 * h);
        const __m512i q01 = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 2), 1);
        __m512i v01 = _mm512_and_si512(q01, m3), v23 = _mm512_and_si512(_mm512_srli_epi16(q01, 4), m3);
        if constexpr (three) {
          const __m256i hh = _mm256_srli_epi16(hm, 4 * h);
          const __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(hh), _mm256_srli_epi16(hh, 1), 1);
          v01 = _mm512_or_si512(v01, _mm512_slli_epi16(_mm512_and_si512(h01, one), 2));
          v23 = _mm512_or_si512(v23, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h01, 2), one), 2));
        }
        const __m512i s01 = _mm512_permutexvar_epi16(pick[2 * h], sc);
        const __m512i s23 = _mm512_permutexvar_epi16(pick[2 * h + 1], sc);
        for (int c = 0; c < C; ++c) {
          const __m512i p01 = _mm512_maddubs_epi16(v01, _mm512_loadu_si512(xb[c]->qs + 128 * h));
          const __m512i p23 = _mm512_maddubs_epi16(v23, _mm512_loadu_si512(xb[c]->qs + 128 * h + 64));
          isum[c] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(isum[c], p01, s01), p23, s23);
        }
      }
      const float d = half(blk->d);
      for (int c = 0; c < C; ++c) {
        acc[r][c] = std::fma(static_cast<float>(_mm512_reduce_add_epi32(isum[c])), d * xb[c]->d, acc[r][c]);
        if constexpr (!three) {
          const int32_t msum = hsum_i32(_mm256_madd_epi16(load256(xb[c]->bsums), aux16));
          acc[r][c] = std::fma(-static_cast<float>(msum), half(blk->dmin) * xb[c]->d, acc[r][c]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) y[c * ys + r] = acc[r][c];
}

template <int R, int C>
struct Q2K512 {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk23_512<false, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q3K512 {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk23_512<true, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q4K512 {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk45_512<false, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q5K512 {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_qk45_512<true, R, C>(k / 256, w, ws, x, y, ys);
  }
};
template <int R, int C>
struct Q6K512 {
  static void run(int64_t k, const uint8_t* w, size_t ws, const uint8_t* const* x, float* y, size_t ys) {
    tile_q6_k_512<R, C>(k / 256, w, ws, x, y, ys);
  }
};

#endif  // FRAGUA_VNNI
