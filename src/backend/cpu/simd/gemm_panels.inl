// Q4_0 and Q5_0 packed in 16-row panels (cpu::pack_weights, Panel in kernels.h), bit-identical
// to gemm_panels_scalar on every level: 256-bit kernels (eight rows at a time), then with
// FRAGUA_VNNI the 512-bit ones (one row per lane).

// NH halves of a panel, 8 rows each, from half h0, x C activation columns; y[c * ys + r] for
// r < 8 NH. With NH = 2 (matrix-vector) both halves are done block by block, so that the panel
// streams from memory once; prompt tiles (C > 1) take one half at a time (registers).
template <bool Five, int C, int NH>
void tile_panel8(int64_t nb, const uint8_t* panel, int h0, const Q8Row* xr, float* y, size_t ys) {
  using P = Panel<Five>;
  __m256 acc[NH][C];
  for (int hh = 0; hh < NH; ++hh)
    for (int c = 0; c < C; ++c) acc[hh][c] = _mm256_setzero_ps();
  const __m256i lo = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = panel + b * P::bytes;
    if constexpr (C == 1) prefetch_block(blk, P::bytes);
    for (int hh = 0; hh < NH; ++hh) {
      const int h = h0 + hh;
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
          g[i] =
              _mm256_or_si256(g[i], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_lo), sel_lo), sixteen));
          g[i + 4] = _mm256_or_si256(g[i + 4],
                                     _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_hi), sel_hi), sixteen));
        }
      }
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + P::scales + 16 * h)));
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = xr[c].qs + 32 * b;
        __m256i s = _mm256_set1_epi32(-P::offset * xr[c].s[b]);
        for (int i = 0; i < 8; ++i) s = _mm256_add_epi32(s, dot_u8s8(g[i], _mm256_set1_epi32(load_i32(xq + 4 * i))));
        acc[hh][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(xr[c].d[b])), acc[hh][c]);
      }
    }
  }
  for (int hh = 0; hh < NH; ++hh)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + c * ys + 8 * hh, acc[hh][c]);
}

template <bool Five>
struct Panel8x2 {
  template <int C>
  struct T {
    static void run(int64_t nb, const uint8_t* panel, const Q8Row* xr, float* y, size_t ys) {
      if constexpr (C == 1) {
        tile_panel8<Five, 1, 2>(nb, panel, 0, xr, y, ys);
      } else {
        tile_panel8<Five, C, 1>(nb, panel, 0, xr, y, ys);
        tile_panel8<Five, C, 1>(nb, panel, 1, xr, y + 8, ys);
      }
    }
  };
};

template <bool Five>
void gemm_panels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                 size_t ys) {
  drive_panels<4, Panel8x2<Five>::template T>(k, w, ws, nr, x, xs, nc, y, ys);
}

// ---- 512-bit (AVX-512 table) ----
#ifdef FRAGUA_VNNI

// Q4_0 / Q5_0 in 16-row panels with 512-bit registers: lane r is row r of the panel.
template <bool Five>
struct Panel16 {
  template <int C>
  struct T {
    static void run(int64_t nb, const uint8_t* panel, const Q8Row* xr, float* y, size_t ys) {
      using P = Panel<Five>;
      __m512 acc[C];
      for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
      const __m512i lo = _mm512_set1_epi8(0x0F);
      for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* blk = panel + b * P::bytes;
        if constexpr (C == 1) prefetch_block(blk, P::bytes);
        __m512i g[8];
        for (int i = 0; i < 4; ++i) {
          const __m512i z = _mm512_loadu_si512(blk + 64 * i);
          g[i] = _mm512_and_si512(z, lo);
          g[i + 4] = _mm512_and_si512(_mm512_srli_epi16(z, 4), lo);
        }
        if constexpr (Five) {
          const __m512i hb = _mm512_loadu_si512(blk + P::fifth_bits), sixteen = _mm512_set1_epi8(0x10);
          const __m512i sel_lo = _mm512_set1_epi32(0x08040201),
                        sel_hi = _mm512_set1_epi32(static_cast<int>(0x80402010u));
          for (int i = 0; i < 4; ++i) {
            const __m512i v = _mm512_shuffle_epi8(hb, _mm512_broadcast_i64x4(spread_byte(i)));
            g[i] = _mm512_or_si512(g[i], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_lo), sixteen));
            g[i + 4] = _mm512_or_si512(g[i + 4], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_hi), sixteen));
          }
        }
        const __m512 dw = _mm512_cvtph_ps(load256(blk + P::scales));
        for (int c = 0; c < C; ++c) {
          const int8_t* xq = xr[c].qs + 32 * b;
          // Two dependency chains of four, joined: the sum is the same exact integer.
          __m512i s0 = _mm512_set1_epi32(-P::offset * xr[c].s[b]), s1 = _mm512_setzero_si512();
          for (int i = 0; i < 4; ++i) {
            s0 = _mm512_dpbusd_epi32(s0, g[i], _mm512_set1_epi32(load_i32(xq + 4 * i)));
            s1 = _mm512_dpbusd_epi32(s1, g[i + 4], _mm512_set1_epi32(load_i32(xq + 16 + 4 * i)));
          }
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)),
                                   _mm512_mul_ps(dw, _mm512_set1_ps(xr[c].d[b])), acc[c]);
        }
      }
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(y + c * ys, acc[c]);
    }
  };
};

template <bool Five>
void gemm_panels512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                    size_t ys) {
  drive_panels<8, Panel16<Five>::template T>(k, w, ws, nr, x, xs, nc, y, ys);
}

#endif  // FRAGUA_VNNI
