// SPDX-License-Identifier: Apache-2.0
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
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, P::bytes);
    const uint8_t* qs = f.at(P::quants);
    if constexpr (C == 1) prefetch_block(panel + b * P::bytes, P::bytes);
    for (int hh = 0; hh < NH; ++hh) {
      const int h = h0 + hh;
      __m256i g[8];
      for (int i = 0; i < 4; ++i) {
        const __m256i z = load256(qs + 64 * i + 32 * h);
        g[i] = _mm256_and_si256(z, lo);
        g[i + 4] = _mm256_and_si256(_mm256_srli_epi16(z, 4), lo);
      }
      if constexpr (Five) {
        const __m256i hb = load256(f.at(P::fifth_bits) + 32 * h), sixteen = _mm256_set1_epi8(0x10);
        const __m256i sel_lo = _mm256_set1_epi32(0x08040201), sel_hi = _mm256_set1_epi32(static_cast<int>(0x80402010u));
        for (int i = 0; i < 4; ++i) {
          const __m256i v = _mm256_shuffle_epi8(hb, spread_byte(i));
          g[i] =
              _mm256_or_si256(g[i], _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_lo), sel_lo), sixteen));
          g[i + 4] = _mm256_or_si256(g[i + 4],
                                     _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(v, sel_hi), sel_hi), sixteen));
        }
      }
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P::scales) + 16 * h)));
      for (int c = 0; c < C; ++c) {
        const int8_t* xq = xr[c].qs + 32 * b;
        __m256i s = _mm256_set1_epi32(-P::offset * xr[c].s[b]);
#ifdef FRAGUA_VNNI
        for (int i = 0; i < 8; ++i) s = _mm256_add_epi32(s, dot_u8s8(g[i], _mm256_set1_epi32(load_i32(xq + 4 * i))));
#else
        // maddubs pair sums added in 16 bits, widened once per run: exact, since a pair is at
        // most 2 * 15 * 128 (Q4_0: eight pairs, 30720) or 2 * 31 * 128 (Q5_0: four, 31744).
        constexpr int run = Five ? 4 : 8;
        for (int i0 = 0; i0 < 8; i0 += run) {
          __m256i t = _mm256_maddubs_epi16(g[i0], _mm256_set1_epi32(load_i32(xq + 4 * i0)));
          for (int i = i0 + 1; i < i0 + run; ++i)
            t = _mm256_add_epi16(t, _mm256_maddubs_epi16(g[i], _mm256_set1_epi32(load_i32(xq + 4 * i))));
          s = _mm256_add_epi32(s, _mm256_madd_epi16(t, _mm256_set1_epi16(1)));
        }
#endif
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

// Q8_0 panels (Q8Panel), rows 8h..8h+7 x C columns: the eight accumulators of dot_q8_0 per row,
// signed products through |w| x sign(x, w) (exact: pair sums of maddubs stay within 2 * 128 * 127).
// Blocks b0..b1 of half h, accumulating into acc. The accumulators are copied into a local array
// for the loop: through the caller's pointer, every FMA's result was also stored at once (the
// quant loads are of char type, which may alias them): a store at every lane and block (Zen 3,
// 1 thread, 512 x 4096 in L3: 0.071-0.074 -> 0.067-0.068 ms without).
template <int C, int h>
void q8panel8_blocks(int64_t b0, int64_t b1, int64_t nb, const uint8_t* panel, const Q8Row* xr,
                     __m256 (*acc_out)[8]) {
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80)), ones = _mm256_set1_epi16(1);
  __m256 acc[C][8];
  for (int c = 0; c < C; ++c)
    for (int l = 0; l < 8; ++l) acc[c][l] = acc_out[c][l];
  for (int64_t b = b0; b < b1; ++b) {
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, Q8Panel::bytes);
    const uint8_t* qs = f.at(Q8Panel::quants);
    if constexpr (C == 1) {
      // Half a block's bytes of the next run at every block of both passes (see Q8Panel8x2).
      constexpr int64_t half = Q8Panel::bytes / 2;
      prefetch_lines(panel + b1 * Q8Panel::bytes + (h * (b1 - b0) + (b - b0)) * half, half);
    }
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(Q8Panel::scales) + 16 * h)));
    __m256 d[C];
    for (int c = 0; c < C; ++c) d[c] = _mm256_mul_ps(dw, _mm256_set1_ps(xr[c].d[b]));
    for (int l = 0; l < 8; ++l) {
      const __m256i q = _mm256_xor_si256(load256(qs + 64 * l + 32 * h), bias);
      const __m256i aq = _mm256_sign_epi8(q, q);
      for (int c = 0; c < C; ++c) {
        const __m256i xs = _mm256_sign_epi8(_mm256_set1_epi32(load_i32(xr[c].qs + 32 * b + 4 * l)), q);
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aq, xs), ones);
        acc[c][l] = _mm256_fmadd_ps(d[c], _mm256_cvtepi32_ps(p), acc[c][l]);
      }
    }
  }
  for (int c = 0; c < C; ++c)
    for (int l = 0; l < 8; ++l) acc_out[c][l] = acc[c][l];
}

template <int C>
void store_q8panel8(__m256 (*acc)[8], float* y, size_t ys) {
  for (int c = 0; c < C; ++c) {
    const __m256* a = acc[c];
    _mm256_storeu_ps(y + c * ys, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a[4], a[0]), _mm256_add_ps(a[6], a[2])),
                                               _mm256_add_ps(_mm256_add_ps(a[5], a[1]), _mm256_add_ps(a[7], a[3]))));
  }
}

// Half by half; for one column (matrix-vector) both halves go through each run of 32 blocks
// (17 KiB, still in L1 for the second half) so that the panel streams from memory once: both
// halves' sixteen accumulators do not fit in the sixteen AVX2 registers. The second pass reads
// from L1 only, so the software prefetch is spread over both passes: at every block of either
// pass, half a block's bytes of the next run (a steady request stream; prefetching whole blocks
// in the first pass only left DRAM idle in the second: 1 thread on the Zen 3 VM, 0.9B Q8_0
// decode replay 63-65% -> 78-79% of a plain read, 2 threads 63-73% -> 78-89%).
struct Q8Panel8x2 {
  template <int C>
  struct T {
    static void run(int64_t nb, const uint8_t* panel, const Q8Row* xr, float* y, size_t ys) {
      __m256 acc[2][C][8];
      for (int h = 0; h < 2; ++h)
        for (int c = 0; c < C; ++c)
          for (int l = 0; l < 8; ++l) acc[h][c][l] = _mm256_setzero_ps();
      const int64_t run = C == 1 ? 32 : nb;
      for (int64_t b0 = 0; b0 < nb; b0 += run) {
        q8panel8_blocks<C, 0>(b0, std::min(nb, b0 + run), nb, panel, xr, acc[0]);
        q8panel8_blocks<C, 1>(b0, std::min(nb, b0 + run), nb, panel, xr, acc[1]);
      }
      store_q8panel8<C>(acc[0], y, ys);
      store_q8panel8<C>(acc[1], y + 8, ys);
    }
  };
};

inline void gemm_q8_0_panels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc,
                             float* y, size_t ys) {
  drive_panels<1, Q8Panel8x2::template T>(k, w, ws, nr, x, xs, nc, y, ys);
}

// ---- 512-bit (AVX-512 table) ----
#ifdef FRAGUA_VNNI

// One Q4_0 / Q5_0 panel block for 16 rows (lane r = row r): acc + (the block's exact integer
// sum) x (row scale x dx). xb(i) gives the activations' 32-bit group i (bytes 4i..4i+3) in every
// lane; neg_s is -offset x the block's activation sum in every lane.
template <bool Five, class XB>
inline __m512 panel16_block(const PanelBlock<const uint8_t>& f, XB xb, __m512i neg_s, __m512 dx, __m512 acc) {
  using P = Panel<Five>;
  const __m512i lo = _mm512_set1_epi8(0x0F);
  const uint8_t* qs = f.at(P::quants);
  __m512i g[8];
  for (int i = 0; i < 4; ++i) {
    const __m512i z = _mm512_loadu_si512(qs + 64 * i);
    g[i] = _mm512_and_si512(z, lo);
    g[i + 4] = _mm512_and_si512(_mm512_srli_epi16(z, 4), lo);
  }
  if constexpr (Five) {
    const __m512i hb = _mm512_loadu_si512(f.at(P::fifth_bits)), sixteen = _mm512_set1_epi8(0x10);
    const __m512i sel_lo = _mm512_set1_epi32(0x08040201), sel_hi = _mm512_set1_epi32(static_cast<int>(0x80402010u));
    for (int i = 0; i < 4; ++i) {
      const __m512i v = _mm512_shuffle_epi8(hb, _mm512_broadcast_i64x4(spread_byte(i)));
      g[i] = _mm512_or_si512(g[i], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_lo), sixteen));
      g[i + 4] = _mm512_or_si512(g[i + 4], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_hi), sixteen));
    }
  }
  const __m512 dw = _mm512_cvtph_ps(load256(f.at(P::scales)));
  // Two dependency chains of four, joined: the sum is the same exact integer.
  __m512i s0 = neg_s, s1 = _mm512_setzero_si512();
  for (int i = 0; i < 4; ++i) {
    s0 = _mm512_dpbusd_epi32(s0, g[i], xb(i));
    s1 = _mm512_dpbusd_epi32(s1, g[i + 4], xb(4 + i));
  }
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), _mm512_mul_ps(dw, dx), acc);
}

// Matrix-vector product of one Q4_0 / Q5_0 panel (nb a multiple of 8). The activations are read
// 8 blocks at a time (256 quant bytes in four registers, 8 scales, 8 sums) and spread to the
// lanes by permutes from registers: a load from the activation row at every block, interleaved
// with the weight stream, cost a single-thread DRAM stream about a sixth of its rate on the Zen 5
// development VM (a scratch stream of 1 GiB: 30 GB/s plain, 25 with one 32-byte load per 256
// weight bytes cycling over 8 KiB, 30 with one every 8 pairs or from a fixed address). The same
// products, in the same order, as the per-block path: the same bits.
// The software prefetch goes the same way: every line of the next 8 blocks' worth, 6 KiB ahead,
// in one burst per 8 blocks, in place of the lines of one block 8 KiB ahead at every block (Zen 5
// VM, 0.9B decode replay, 2 threads, 5 interleaved rounds: 48.0-54.8 -> 55.6-60.4 GB/s, 76-86% ->
// 91-106% of the probe read after each; 1 thread 24.3-26.4 -> 27.0-29.4 GB/s).
template <bool Five>
void panel16_vec(int64_t nb, const uint8_t* panel, const Q8Row& xr, float* y) {
  using P = Panel<Five>;
  constexpr int shift = Five ? 4 : 3;  // offset 16 or 8
  static_assert(P::offset == 1 << shift);
  constexpr int ahead = 6144;
  __m512 acc = _mm512_setzero_ps();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    prefetch_lines(panel + b0 * P::bytes + ahead, 8 * P::bytes);
    const __m512i xa[4] = {_mm512_loadu_si512(xr.qs + 32 * b0), _mm512_loadu_si512(xr.qs + 32 * b0 + 64),
                           _mm512_loadu_si512(xr.qs + 32 * b0 + 128), _mm512_loadu_si512(xr.qs + 32 * b0 + 192)};
    const __m512 d8 = _mm512_castps256_ps512(_mm256_loadu_ps(xr.d + b0));
    const __m512i s8 = _mm512_castsi256_si512(
        _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(load256(xr.s + b0), shift)));
    unrolled<8>([&](auto jc) {
      constexpr int j = decltype(jc)::value;
      const int64_t b = b0 + j;
      const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, P::bytes);
      const __m512i xj = xa[j >> 1];
      auto xb = [&](int i) { return _mm512_permutexvar_epi32(_mm512_set1_epi32((j & 1) * 8 + i), xj); };
      acc = panel16_block<Five>(f, xb, _mm512_permutexvar_epi32(_mm512_set1_epi32(j), s8),
                                _mm512_permutexvar_ps(_mm512_set1_epi32(j), d8), acc);
    });
  }
  _mm512_storeu_ps(y, acc);
}

// Q4_0 / Q5_0 in 16-row panels with 512-bit registers: lane r is row r of the panel.
template <bool Five>
struct Panel16 {
  template <int C>
  struct T {
    static void run(int64_t nb, const uint8_t* panel, const Q8Row* xr, float* y, size_t ys) {
      using P = Panel<Five>;
      if constexpr (C == 1) {
        if (nb % 8 == 0) return panel16_vec<Five>(nb, panel, xr[0], y);
      }
      __m512 acc[C];
      for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
      const __m512i lo = _mm512_set1_epi8(0x0F);
      for (int64_t b = 0; b < nb; ++b) {
        const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, P::bytes);
        const uint8_t* qs = f.at(P::quants);
        if constexpr (C == 1) prefetch_block(panel + b * P::bytes, P::bytes);
        __m512i g[8];
        for (int i = 0; i < 4; ++i) {
          const __m512i z = _mm512_loadu_si512(qs + 64 * i);
          g[i] = _mm512_and_si512(z, lo);
          g[i + 4] = _mm512_and_si512(_mm512_srli_epi16(z, 4), lo);
        }
        if constexpr (Five) {
          const __m512i hb = _mm512_loadu_si512(f.at(P::fifth_bits)), sixteen = _mm512_set1_epi8(0x10);
          const __m512i sel_lo = _mm512_set1_epi32(0x08040201),
                        sel_hi = _mm512_set1_epi32(static_cast<int>(0x80402010u));
          for (int i = 0; i < 4; ++i) {
            const __m512i v = _mm512_shuffle_epi8(hb, _mm512_broadcast_i64x4(spread_byte(i)));
            g[i] = _mm512_or_si512(g[i], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_lo), sixteen));
            g[i + 4] = _mm512_or_si512(g[i + 4], _mm512_maskz_mov_epi8(_mm512_test_epi8_mask(v, sel_hi), sixteen));
          }
        }
        const __m512 dw = _mm512_cvtph_ps(load256(f.at(P::scales)));
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

// Q8_0 panels with 512-bit registers, lane r = row r: VPDPBUSD on the stored quants plus 128,
// started at -128 times the sum of the 4 activations (s4), gives each of dot_q8_0's eight lane
// sums exactly; one FMA per lane and block, then the lanes added in dot_q8_0's order.
// Matrix-vector product of one Q8_0 panel (nb a multiple of 8), with the activations, their
// 4-element sums and scales read 8 blocks at a time and spread by permutes, as panel16_vec: the
// same products in the same order as tile_q8panel16<1>.
inline void q8panel16_vec(int64_t nb, const uint8_t* panel, const Q8Row& xr, const int32_t* s4, float* y) {
  __m512 acc[8];
  for (int l = 0; l < 8; ++l) acc[l] = _mm512_setzero_ps();
  for (int64_t b0 = 0; b0 < nb; b0 += 8) {
    __m512i xa[4], sa[4];
    for (int i = 0; i < 4; ++i) {
      xa[i] = _mm512_loadu_si512(xr.qs + 32 * b0 + 64 * i);
      sa[i] = _mm512_loadu_si512(s4 + 8 * b0 + 16 * i);
    }
    const __m512 d8 = _mm512_castps256_ps512(_mm256_loadu_ps(xr.d + b0));
    unrolled<8>([&](auto jc) {
      constexpr int j = decltype(jc)::value;
      const int64_t b = b0 + j;
      const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, Q8Panel::bytes);
      const uint8_t* qs = f.at(Q8Panel::quants);
      prefetch_block(panel + b * Q8Panel::bytes, Q8Panel::bytes);
      const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(load256(f.at(Q8Panel::scales))),
                                     _mm512_permutexvar_ps(_mm512_set1_epi32(j), d8));
      // Dwords 4h..4h+3 of the block in every 128-bit lane, then each one to all lanes in-lane.
      constexpr int q0 = (j & 1) * 2, q1 = q0 + 1;
      const __m512i x4[2] = {_mm512_shuffle_i32x4(xa[j >> 1], xa[j >> 1], q0 * 0x55),
                             _mm512_shuffle_i32x4(xa[j >> 1], xa[j >> 1], q1 * 0x55)};
      const __m512i s4v[2] = {_mm512_shuffle_i32x4(sa[j >> 1], sa[j >> 1], q0 * 0x55),
                              _mm512_shuffle_i32x4(sa[j >> 1], sa[j >> 1], q1 * 0x55)};
      unrolled<8>([&](auto lc) {
        constexpr int l = decltype(lc)::value;
        constexpr auto sel = static_cast<_MM_PERM_ENUM>((l & 3) * 0x55);
        const __m512i p = _mm512_dpbusd_epi32(_mm512_shuffle_epi32(s4v[l >> 2], sel), _mm512_loadu_si512(qs + 64 * l),
                                              _mm512_shuffle_epi32(x4[l >> 2], sel));
        acc[l] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[l]);
      });
    });
  }
  const __m512* a = acc;
  _mm512_storeu_ps(y, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[4], a[0]), _mm512_add_ps(a[6], a[2])),
                                    _mm512_add_ps(_mm512_add_ps(a[5], a[1]), _mm512_add_ps(a[7], a[3]))));
}

template <int C>
void tile_q8panel16(int64_t nb, const uint8_t* panel, const Q8Row* xr, const int32_t* const* s4, float* y, size_t ys) {
  if constexpr (C == 1) {
    if (nb % 8 == 0) return q8panel16_vec(nb, panel, xr[0], s4[0], y);
  }
  __m512 acc[C][8];
  for (int c = 0; c < C; ++c)
    for (int l = 0; l < 8; ++l) acc[c][l] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, Q8Panel::bytes);
    const uint8_t* qs = f.at(Q8Panel::quants);
    if constexpr (C == 1) prefetch_block(panel + b * Q8Panel::bytes, Q8Panel::bytes);
    const __m512 dw = _mm512_cvtph_ps(load256(f.at(Q8Panel::scales)));
    __m512 d[C];
    for (int c = 0; c < C; ++c) d[c] = _mm512_mul_ps(dw, _mm512_set1_ps(xr[c].d[b]));
    for (int l = 0; l < 8; ++l) {
      const __m512i u = _mm512_loadu_si512(qs + 64 * l);
      for (int c = 0; c < C; ++c) {
        const __m512i p = _mm512_dpbusd_epi32(_mm512_set1_epi32(s4[c][8 * b + l]), u,
                                              _mm512_set1_epi32(load_i32(xr[c].qs + 32 * b + 4 * l)));
        acc[c][l] = _mm512_fmadd_ps(d[c], _mm512_cvtepi32_ps(p), acc[c][l]);
      }
    }
  }
  for (int c = 0; c < C; ++c) {
    const __m512* a = acc[c];
    _mm512_storeu_ps(y + c * ys, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a[4], a[0]), _mm512_add_ps(a[6], a[2])),
                                               _mm512_add_ps(_mm512_add_ps(a[5], a[1]), _mm512_add_ps(a[7], a[3]))));
  }
}

inline void gemm_q8_0_panels512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc,
                                float* y, size_t ys) {
  const int64_t nb = k / 32, ng = k / 4;
  thread_local std::vector<int32_t> sums;
  if (sums.size() < static_cast<size_t>(nc * ng)) sums.resize(static_cast<size_t>(nc * ng));
  for (int c = 0; c < nc; ++c) {
    const int8_t* q = reinterpret_cast<const int8_t*>(x + static_cast<size_t>(c) * xs);
    for (int64_t g = 0; g < ng; ++g) sums[c * ng + g] = -128 * (q[4 * g] + q[4 * g + 1] + q[4 * g + 2] + q[4 * g + 3]);
  }
  auto cols = [&](auto cn, int c0) {
    constexpr int N = decltype(cn)::value;
    Q8Row xr[N];
    const int32_t* s4[N];
    for (int i = 0; i < N; ++i) {
      xr[i] = q8_row(x + static_cast<size_t>(c0 + i) * xs, k);
      s4[i] = sums.data() + (c0 + i) * ng;
    }
    for (int p = 0; p < nr / 16; ++p)
      tile_q8panel16<N>(nb, w + static_cast<size_t>(p) * 16 * ws, xr, s4, y + c0 * ys + 16 * p, ys);
  };
  int c = 0;
  for (; c + 2 <= nc; c += 2) cols(std::integral_constant<int, 2>{}, c);
  if (c < nc) cols(std::integral_constant<int, 1>{}, c);
}

#endif  // FRAGUA_VNNI
