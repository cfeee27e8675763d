// SPDX-License-Identifier: Apache-2.0
// Q2_K to Q6_K packed in 16-row panels (KPanel in kernels.h), bit-identical to
// gemm_kpanels_scalar (kpanels.cpp) on every level: each 32-bit lane is one row, so a sub-block's
// products are one chain of u8 x s8 dots per lane (4 elements of each of 16 rows per VPDPBUSD on
// AVX-512, 8 rows per maddubs/madd pair on AVX2), its 6-bit scale one integer multiply per lane,
// the minima one dot of the rows' minima against the activation sums (KSums), and the f16
// super-block scales one conversion and FMA per 256 values for 16 rows; no horizontal sums.
// 256-bit kernels (rows 0..7, then 8..15, of each panel block) first, then with FRAGUA_VNNI the
// 512-bit ones.

// Byte t (0..3) of every 32-bit lane, zero-extended (lane_byte) or sign-extended (lane_sbyte).
template <int t>
inline __m256i lane_byte(__m256i v) {
  if constexpr (t == 3) return _mm256_srli_epi32(v, 24);
  return _mm256_and_si256(_mm256_srli_epi32(v, 8 * t), _mm256_set1_epi32(0xff));
}
template <int t>
inline __m256i lane_sbyte(__m256i v) {
  if constexpr (t == 3) return _mm256_srai_epi32(v, 24);
  return _mm256_srai_epi32(_mm256_slli_epi32(v, 24 - 8 * t), 24);
}

// acc + four u8 x s8 products per i32 lane (exact: |u| <= 63 and the pair sums of maddubs stay
// below 2 * 63 * 128).
inline __m256i dpbusd256(__m256i acc, __m256i u, __m256i s) {
#ifdef FRAGUA_VNNI
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

inline __m256i bcast4(const int8_t* p) { return _mm256_set1_epi32(load_i32(p)); }

// Byte t (0..3) of every 32-bit lane, zero-extended, in both 16-bit halves of the lane: the scale
// operand of a madd that multiplies a lane's two 16-bit pair sums by it and adds them.
template <int t>
inline __m256i lane_byte16(__m256i v) {
  constexpr char z = static_cast<char>(0x80);
  return _mm256_shuffle_epi8(
      v, _mm256_setr_epi8(t, z, t, z, 4 + t, z, 4 + t, z, 8 + t, z, 8 + t, z, 12 + t, z, 12 + t, z, t, z, t, z, 4 + t,
                          z, 4 + t, z, 8 + t, z, 8 + t, z, 12 + t, z, 12 + t, z));
}

// The 6-bit scales (sc) and minima (m) of each row of a Q4_K/Q5_K panel block as bytes of 32-bit
// lanes: sc0..3, sc4..7, m0..3, m4..7 (k4_scale_min on 32-bit lanes). a: the three groups.
template <class V, class Ops>
inline void k4_lanes(const V a[3], V out[4], Ops ops) {
  const V low6 = ops.set1(0x3f3f3f3f), low4 = ops.set1(0x0f0f0f0f), low2 = ops.set1(0x03030303);
  out[0] = ops.and_(a[0], low6);
  out[1] = ops.or_(ops.and_(a[2], low4), ops.shl(ops.and_(ops.shr(a[0], 6), low2), 4));
  out[2] = ops.and_(a[1], low6);
  out[3] = ops.or_(ops.and_(ops.shr(a[2], 4), low4), ops.shl(ops.and_(ops.shr(a[1], 6), low2), 4));
}

struct Ops256 {
  __m256i set1(int v) const { return _mm256_set1_epi32(v); }
  __m256i and_(__m256i a, __m256i b) const { return _mm256_and_si256(a, b); }
  __m256i or_(__m256i a, __m256i b) const { return _mm256_or_si256(a, b); }
  __m256i shl(__m256i a, int n) const { return _mm256_slli_epi32(a, n); }
  __m256i shr(__m256i a, int n) const { return _mm256_srli_epi32(a, n); }
};

// A Q4_K/Q5_K panel x C activation rows, rows 0..7 and 8..15 (h) in turn within each super-block
// so that the panel is read from memory once.
template <bool Five, int C>
void kpanel45_256(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                  size_t ys) {
  static constexpr KPanel P = Five ? kpanel_q5_k : kpanel_q4_k;
  __m256 acc[2][C];
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nsb; ++b) {
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
    const uint8_t* blk = f.at(P.qs_field());  // the quants
    prefetch_block(panel + b * P.bytes, P.bytes);
    for (int h = 0; h < 2; ++h) {
      const __m256i a[3] = {load256(f.at(P.scales_field()) + 32 * h), load256(f.at(P.scales_field()) + 64 + 32 * h),
                            load256(f.at(P.scales_field()) + 128 + 32 * h)};
      __m256i sm[4];
      k4_lanes(a, sm, Ops256{});
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      auto group = [&](auto gc) {
        constexpr int g = decltype(gc)::value;
        const __m256i sv = sm[g / 2];
#ifdef FRAGUA_VNNI
        const __m256i sc_lo = lane_byte<(2 * g) % 4>(sv), sc_hi = lane_byte<(2 * g + 1) % 4>(sv);
        __m256i slo[C], shi[C];
        for (int c = 0; c < C; ++c) slo[c] = shi[c] = _mm256_setzero_si256();
#else
        const __m256i sc_lo = lane_byte16<(2 * g) % 4>(sv), sc_hi = lane_byte16<(2 * g + 1) % 4>(sv);
        __m256i tlo[C], thi[C];
#endif
        for (int i = 0; i < 8; ++i) {
          const __m256i z = load256(blk + 64 * (8 * g + i) + 32 * h);
          __m256i lo = _mm256_and_si256(z, m4), hi = _mm256_and_si256(_mm256_srli_epi16(z, 4), m4);
          if constexpr (Five) {
            const __m256i qh = load256(f.at(P.qh_field()) + 64 * i + 32 * h), sixteen = _mm256_set1_epi8(0x10);
            const __m256i bl = _mm256_set1_epi8(static_cast<char>(1 << (2 * g))),
                          bh = _mm256_set1_epi8(static_cast<char>(1 << (2 * g + 1)));
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bl), bl), sixteen));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, bh), bh), sixteen));
          }
#ifdef FRAGUA_VNNI
          for (int c = 0; c < C; ++c) {
            slo[c] = dpbusd256(slo[c], lo, bcast4(xb[c][b].qs + 64 * g + 4 * i));
            shi[c] = dpbusd256(shi[c], hi, bcast4(xb[c][b].qs + 64 * g + 32 + 4 * i));
          }
#else
          // maddubs pair sums added in 16 bits and widened once per run of i by a madd against
          // the sub-block's scale (exact: a pair is at most 2 * 15 * 128, eight of them 30720;
          // with the fifth bit 2 * 31 * 128, four; times a 6-bit scale, twice, within 32 bits):
          // the integer that the scale's multiply of the widened sum gives.
          constexpr int run = Five ? 4 : 8;
          for (int c = 0; c < C; ++c) {
            const __m256i plo = _mm256_maddubs_epi16(lo, bcast4(xb[c][b].qs + 64 * g + 4 * i));
            const __m256i phi = _mm256_maddubs_epi16(hi, bcast4(xb[c][b].qs + 64 * g + 32 + 4 * i));
            tlo[c] = i % run == 0 ? plo : _mm256_add_epi16(tlo[c], plo);
            thi[c] = i % run == 0 ? phi : _mm256_add_epi16(thi[c], phi);
            if (i % run == run - 1)
              isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(_mm256_madd_epi16(tlo[c], sc_lo),
                                                                   _mm256_madd_epi16(thi[c], sc_hi)));
          }
#endif
        }
#ifdef FRAGUA_VNNI
        for (int c = 0; c < C; ++c)
          isum[c] = _mm256_add_epi32(
              isum[c], _mm256_add_epi32(_mm256_mullo_epi32(slo[c], sc_lo), _mm256_mullo_epi32(shi[c], sc_hi)));
#endif
      };
      group(std::integral_constant<int, 0>{});
      group(std::integral_constant<int, 1>{});
      group(std::integral_constant<int, 2>{});
      group(std::integral_constant<int, 3>{});
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P.d_field()) + 16 * h)));
      const __m256 dm =
          _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P.dmin_field()) + 16 * h)));
      for (int c = 0; c < C; ++c) {
        const int8_t* mb = ks[c][b].m;
        const __m256i hi = dpbusd256(dpbusd256(_mm256_setzero_si256(), sm[2], bcast4(mb)), sm[3], bcast4(mb + 4));
        const __m256i lo = dpbusd256(dpbusd256(_mm256_setzero_si256(), sm[2], bcast4(mb + 8)), sm[3], bcast4(mb + 12));
        const __m256i msum = _mm256_add_epi32(_mm256_slli_epi32(hi, 6), lo);
        const __m256 dx = _mm256_set1_ps(xb[c][b].d);
        acc[h][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(dw, dx), acc[h][c]);
        acc[h][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dm, dx), acc[h][c]);
      }
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + c * ys + 8 * h, acc[h][c]);
}

// A Q6_K panel x C activation rows, rows 0..7 and 8..15 (h8) in turn within each super-block.
template <int C>
void kpanel6_256(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                 size_t ys) {
  static constexpr KPanel P = kpanel_q6_k;
  __m256 acc[2][C];
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  for (int64_t b = 0; b < nsb; ++b) {
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
    const uint8_t* blk = f.at(P.qs_field());  // the quants
    prefetch_block(panel + b * P.bytes, P.bytes);
    for (int h8 = 0; h8 < 2; ++h8) {
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      // (h, q2, ii): elements 128h + 32q2 + 16ii.. (sub-block j = 8h + 2q2 + ii, low nibbles) and
      // 128h + 64 + 32q2 + 16ii.. (sub-block j + 4, high nibbles).
      auto part = [&](auto hc, auto qc, auto ic) {
        constexpr int h = decltype(hc)::value, q2 = decltype(qc)::value, ii = decltype(ic)::value;
        constexpr int j = 8 * h + 2 * q2 + ii;
        const __m256i sc_lo = lane_sbyte<j % 4>(load256(f.at(P.scales_field()) + 64 * (j / 4) + 32 * h8));
        const __m256i sc_hi = lane_sbyte<(j + 4) % 4>(load256(f.at(P.scales_field()) + 64 * ((j + 4) / 4) + 32 * h8));
        __m256i slo[C], shi[C];
        for (int c = 0; c < C; ++c) {
          slo[c] = _mm256_set1_epi32(ks[c][b].off6[j]);
          shi[c] = _mm256_set1_epi32(ks[c][b].off6[j + 4]);
        }
#ifndef FRAGUA_VNNI
        __m256i tlo[C], thi[C];
#endif
        for (int i = 4 * ii; i < 4 * ii + 4; ++i) {
          const __m256i l = load256(blk + 64 * (16 * h + 8 * q2 + i) + 32 * h8);
          const __m256i qh = load256(f.at(P.qh_field()) + 64 * (8 * h + i) + 32 * h8);
          const __m256i lo =
              _mm256_or_si256(_mm256_and_si256(l, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4 - 2 * q2), m30));
          const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l, 4), m4),
                                             _mm256_and_si256(_mm256_srli_epi16(qh, 2 * q2), m30));
#ifdef FRAGUA_VNNI
          for (int c = 0; c < C; ++c) {
            slo[c] = dpbusd256(slo[c], lo, bcast4(xb[c][b].qs + 128 * h + 32 * q2 + 4 * i));
            shi[c] = dpbusd256(shi[c], hi, bcast4(xb[c][b].qs + 128 * h + 64 + 32 * q2 + 4 * i));
          }
#else
          // Two maddubs pair sums added in 16 bits before widening (exact: 2 * 2 * 63 * 128).
          for (int c = 0; c < C; ++c) {
            const __m256i plo = _mm256_maddubs_epi16(lo, bcast4(xb[c][b].qs + 128 * h + 32 * q2 + 4 * i));
            const __m256i phi = _mm256_maddubs_epi16(hi, bcast4(xb[c][b].qs + 128 * h + 64 + 32 * q2 + 4 * i));
            tlo[c] = i % 2 == 0 ? plo : _mm256_add_epi16(tlo[c], plo);
            thi[c] = i % 2 == 0 ? phi : _mm256_add_epi16(thi[c], phi);
            if (i % 2 == 1) {
              slo[c] = _mm256_add_epi32(slo[c], _mm256_madd_epi16(tlo[c], _mm256_set1_epi16(1)));
              shi[c] = _mm256_add_epi32(shi[c], _mm256_madd_epi16(thi[c], _mm256_set1_epi16(1)));
            }
          }
#endif
        }
        for (int c = 0; c < C; ++c)
          isum[c] = _mm256_add_epi32(
              isum[c], _mm256_add_epi32(_mm256_mullo_epi32(slo[c], sc_lo), _mm256_mullo_epi32(shi[c], sc_hi)));
      };
      using std::integral_constant;
      using Z = integral_constant<int, 0>;
      using O = integral_constant<int, 1>;
      part(Z{}, Z{}, Z{}), part(Z{}, Z{}, O{}), part(Z{}, O{}, Z{}), part(Z{}, O{}, O{});
      part(O{}, Z{}, Z{}), part(O{}, Z{}, O{}), part(O{}, O{}, Z{}), part(O{}, O{}, O{});
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P.d_field()) + 16 * h8)));
      for (int c = 0; c < C; ++c)
        acc[h8][c] =
            _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(dw, _mm256_set1_ps(xb[c][b].d)), acc[h8][c]);
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + c * ys + 8 * h, acc[h][c]);
}

// The 6-bit scales of each row of a Q3_K panel block (q3_k_scales on 32-bit lanes), offset by
// +32: out[g] holds sub-blocks 4g..4g+3 as the bytes of each lane. a: the three groups.
template <class V, class Ops>
inline void k3_lanes(const V a[3], V out[4], Ops ops) {
  const V low4 = ops.set1(0x0f0f0f0f), hi2 = ops.set1(0x30303030);
  out[0] = ops.or_(ops.and_(a[0], low4), ops.and_(ops.shl(a[2], 4), hi2));
  out[1] = ops.or_(ops.and_(a[1], low4), ops.and_(ops.shl(a[2], 2), hi2));
  out[2] = ops.or_(ops.and_(ops.shr(a[0], 4), low4), ops.and_(a[2], hi2));
  out[3] = ops.or_(ops.and_(ops.shr(a[1], 4), low4), ops.and_(ops.shr(a[2], 2), hi2));
}

// A Q2_K or Q3_K panel x C activation rows, rows 0..7 and 8..15 (h8) in turn within each
// super-block. Sub-block j = 8h + 2s + ii (elements 128h + 32s + 16ii..+15) is bit pair s of the
// quant groups 8h + 4ii..+3, four u8 x s8 dots per lane, then one multiply by its scale.
template <bool Three, int C>
void kpanel23_256(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                  size_t ys) {
  static constexpr KPanel P = Three ? kpanel_q3_k : kpanel_q2_k;
  __m256 acc[2][C];
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) acc[h][c] = _mm256_setzero_ps();
  const __m256i m2 = _mm256_set1_epi8(3), m4 = _mm256_set1_epi8(4), low4 = _mm256_set1_epi8(0x0F);
  for (int64_t b = 0; b < nsb; ++b) {
    const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
    const uint8_t* qs = f.at(P.qs_field());
    const uint8_t* sc = f.at(P.scales_field());
    prefetch_block(panel + b * P.bytes, P.bytes);
    for (int h8 = 0; h8 < 2; ++h8) {
      __m256i sv[4], mn[4];
      if constexpr (Three) {
        const __m256i a[3] = {load256(sc + 32 * h8), load256(sc + 64 + 32 * h8), load256(sc + 128 + 32 * h8)};
        k3_lanes(a, sv, Ops256{});
      } else {
        for (int g = 0; g < 4; ++g) {
          const __m256i a = load256(sc + 64 * g + 32 * h8);
          sv[g] = _mm256_and_si256(a, low4);
          mn[g] = _mm256_and_si256(_mm256_srli_epi16(a, 4), low4);
        }
      }
      __m256i isum[C];
      for (int c = 0; c < C; ++c) isum[c] = _mm256_setzero_si256();
      unrolled<16>([&](auto jc) {
        constexpr int j = decltype(jc)::value, h = j / 8, s = (j % 8) / 2, ii = j % 2;
        __m256i sj[C];
        for (int c = 0; c < C; ++c) sj[c] = Three ? _mm256_set1_epi32(ks[c][b].off6[j] >> 3) : _mm256_setzero_si256();
#ifndef FRAGUA_VNNI
        __m256i t[C];
#endif
        for (int i = 4 * ii; i < 4 * ii + 4; ++i) {
          __m256i q = _mm256_and_si256(_mm256_srli_epi16(load256(qs + 64 * (8 * h + i) + 32 * h8), 2 * s), m2);
          if constexpr (Three) {
            constexpr int bit = 4 * h + s;  // of the hmask byte, moved to bit 2
            const __m256i hm = load256(f.at(P.qh_field()) + 64 * i + 32 * h8);
            const __m256i at2 = bit >= 2 ? _mm256_srli_epi16(hm, bit - 2) : _mm256_slli_epi16(hm, 2 - bit);
            q = _mm256_or_si256(q, _mm256_and_si256(at2, m4));
          }
#ifdef FRAGUA_VNNI
          for (int c = 0; c < C; ++c) sj[c] = dpbusd256(sj[c], q, bcast4(xb[c][b].qs + 128 * h + 32 * s + 4 * i));
#else
          // The four maddubs pair sums added in 16 bits (exact: 4 * 2 * 7 * 128), widened once.
          for (int c = 0; c < C; ++c) {
            const __m256i p = _mm256_maddubs_epi16(q, bcast4(xb[c][b].qs + 128 * h + 32 * s + 4 * i));
            t[c] = i == 4 * ii ? p : _mm256_add_epi16(t[c], p);
          }
#endif
        }
        __m256i scale = lane_byte<j % 4>(sv[j / 4]);
        if constexpr (Three) scale = _mm256_sub_epi32(scale, _mm256_set1_epi32(32));
        for (int c = 0; c < C; ++c) {
#ifndef FRAGUA_VNNI
          sj[c] = _mm256_add_epi32(sj[c], _mm256_madd_epi16(t[c], _mm256_set1_epi16(1)));
#endif
          isum[c] = _mm256_add_epi32(isum[c], _mm256_mullo_epi32(sj[c], scale));
        }
      });
      const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P.d_field()) + 16 * h8)));
      for (int c = 0; c < C; ++c) {
        const __m256 dx = _mm256_set1_ps(xb[c][b].d);
        acc[h8][c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[c]), _mm256_mul_ps(dw, dx), acc[h8][c]);
        if constexpr (!Three) {
          const int8_t* mb = ks[c][b].m16;
          __m256i hi = _mm256_setzero_si256(), lo = _mm256_setzero_si256();
          for (int g = 0; g < 4; ++g) {
            hi = dpbusd256(hi, mn[g], bcast4(mb + 4 * g));
            lo = dpbusd256(lo, mn[g], bcast4(mb + 16 + 4 * g));
          }
          const __m256i msum = _mm256_add_epi32(_mm256_slli_epi32(hi, 6), lo);
          const __m256 dm =
              _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f.at(P.dmin_field()) + 16 * h8)));
          acc[h8][c] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dm, dx), acc[h8][c]);
        }
      }
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int c = 0; c < C; ++c) _mm256_storeu_ps(y + c * ys + 8 * h, acc[h][c]);
}

template <DType T>
struct KHalves {
  template <int C>
  struct T2 {
    static void run(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                    size_t ys) {
      if constexpr (T == DType::q6_k)
        kpanel6_256<C>(nsb, panel, xb, ks, y, ys);
      else if constexpr (T == DType::q2_k || T == DType::q3_k)
        kpanel23_256<T == DType::q3_k, C>(nsb, panel, xb, ks, y, ys);
      else
        kpanel45_256<T == DType::q5_k, C>(nsb, panel, xb, ks, y, ys);
    }
  };
};

// Panels of 16 rows, C activation rows at a time (columns outer, as drive_panels). The KSums of
// the activation rows are computed once per call.
template <int C, template <int> class Tile>
void drive_kpanels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                   size_t ys) {
  const int64_t nsb = k / 256;
  thread_local std::vector<KSums> sums;
  if (sums.size() < static_cast<size_t>(nc * nsb)) sums.resize(static_cast<size_t>(nc * nsb));
  for (int c = 0; c < nc; ++c) k_act_sums(x + static_cast<size_t>(c) * xs, nsb, sums.data() + c * nsb);
  auto cols = [&](auto cn, int c0) {
    constexpr int N = decltype(cn)::value;
    const BlockQ8_K* xb[N];
    const KSums* ks[N];
    for (int i = 0; i < N; ++i) {
      xb[i] = reinterpret_cast<const BlockQ8_K*>(x + static_cast<size_t>(c0 + i) * xs);
      ks[i] = sums.data() + (c0 + i) * nsb;
    }
    for (int p = 0; p < nr / 16; ++p)
      Tile<N>::run(nsb, w + static_cast<size_t>(p) * 16 * ws, xb, ks, y + c0 * ys + 16 * p, ys);
  };
  using std::integral_constant;
  int c = 0;
  for (; c + C <= nc; c += C) cols(integral_constant<int, C>{}, c);
  for (; c + 2 <= nc; c += 2) cols(integral_constant<int, 2>{}, c);
  if (c < nc) cols(integral_constant<int, 1>{}, c);
}

template <DType T>
void gemm_kpanels(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                  size_t ys) {
  drive_kpanels<2, KHalves<T>::template T2>(k, w, ws, nr, x, xs, nc, y, ys);
}

// ---- 512-bit (AVX-512 table) ----
#ifdef FRAGUA_VNNI

template <int t>
inline __m512i lane_byte(__m512i v) {
  if constexpr (t == 3) return _mm512_srli_epi32(v, 24);
  return _mm512_and_si512(_mm512_srli_epi32(v, 8 * t), _mm512_set1_epi32(0xff));
}
template <int t>
inline __m512i lane_sbyte(__m512i v) {
  if constexpr (t == 3) return _mm512_srai_epi32(v, 24);
  return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * t), 24);
}

inline __m512i bcast4_512(const int8_t* p) { return _mm512_set1_epi32(load_i32(p)); }

struct Ops512 {
  __m512i set1(int v) const { return _mm512_set1_epi32(v); }
  __m512i and_(__m512i a, __m512i b) const { return _mm512_and_si512(a, b); }
  __m512i or_(__m512i a, __m512i b) const { return _mm512_or_si512(a, b); }
  __m512i shl(__m512i a, int n) const { return _mm512_slli_epi32(a, n); }
  __m512i shr(__m512i a, int n) const { return _mm512_srli_epi32(a, n); }
};

template <DType T>
struct KPanel16 {
  template <int C>
  struct T2 {
    static void run(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                    size_t ys) {
      if constexpr (T == DType::q6_k)
        run6(nsb, panel, xb, ks, y, ys);
      else if constexpr (T == DType::q2_k || T == DType::q3_k)
        run23(nsb, panel, xb, ks, y, ys);
      else
        run45(nsb, panel, xb, ks, y, ys);
    }

    static void run45(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                      size_t ys) {
      constexpr bool Five = T == DType::q5_k;
      static constexpr KPanel P = Five ? kpanel_q5_k : kpanel_q4_k;
      __m512 acc[C];
      for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
      const __m512i m4 = _mm512_set1_epi8(0x0F);
      for (int64_t b = 0; b < nsb; ++b) {
        const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
        const uint8_t* blk = f.at(P.qs_field());  // the quants
        prefetch_block(panel + b * P.bytes, P.bytes);
        const __m512i a[3] = {_mm512_loadu_si512(f.at(P.scales_field())),
                              _mm512_loadu_si512(f.at(P.scales_field()) + 64),
                              _mm512_loadu_si512(f.at(P.scales_field()) + 128)};
        __m512i sm[4];
        k4_lanes(a, sm, Ops512{});
        __m512i isum[C];
        for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
        auto group = [&](auto gc) {
          constexpr int g = decltype(gc)::value;
          const __m512i sv = sm[g / 2];
          const __m512i sc_lo = lane_byte<(2 * g) % 4>(sv), sc_hi = lane_byte<(2 * g + 1) % 4>(sv);
          __m512i slo[C], shi[C];
          for (int c = 0; c < C; ++c) slo[c] = shi[c] = _mm512_setzero_si512();
          for (int i = 0; i < 8; ++i) {
            const __m512i z = _mm512_loadu_si512(blk + 64 * (8 * g + i));
            __m512i lo = _mm512_and_si512(z, m4), hi = _mm512_and_si512(_mm512_srli_epi16(z, 4), m4);
            if constexpr (Five) {
              const __m512i qh = _mm512_loadu_si512(f.at(P.qh_field()) + 64 * i), sixteen = _mm512_set1_epi8(0x10);
              lo = _mm512_mask_add_epi8(
                  lo, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (2 * g)))), lo, sixteen);
              hi = _mm512_mask_add_epi8(
                  hi, _mm512_test_epi8_mask(qh, _mm512_set1_epi8(static_cast<char>(1 << (2 * g + 1)))), hi, sixteen);
            }
            for (int c = 0; c < C; ++c) {
              slo[c] = _mm512_dpbusd_epi32(slo[c], lo, bcast4_512(xb[c][b].qs + 64 * g + 4 * i));
              shi[c] = _mm512_dpbusd_epi32(shi[c], hi, bcast4_512(xb[c][b].qs + 64 * g + 32 + 4 * i));
            }
          }
          for (int c = 0; c < C; ++c)
            isum[c] = _mm512_add_epi32(
                isum[c], _mm512_add_epi32(_mm512_mullo_epi32(slo[c], sc_lo), _mm512_mullo_epi32(shi[c], sc_hi)));
        };
        group(std::integral_constant<int, 0>{});
        group(std::integral_constant<int, 1>{});
        group(std::integral_constant<int, 2>{});
        group(std::integral_constant<int, 3>{});
        const __m512 dw = _mm512_cvtph_ps(load256(f.at(P.d_field()))),
                     dm = _mm512_cvtph_ps(load256(f.at(P.dmin_field())));
        for (int c = 0; c < C; ++c) {
          const int8_t* mb = ks[c][b].m;
          const __m512i z = _mm512_setzero_si512();
          const __m512i hi =
              _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, sm[2], bcast4_512(mb)), sm[3], bcast4_512(mb + 4));
          const __m512i lo =
              _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(z, sm[2], bcast4_512(mb + 8)), sm[3], bcast4_512(mb + 12));
          const __m512i msum = _mm512_add_epi32(_mm512_slli_epi32(hi, 6), lo);
          const __m512 dx = _mm512_set1_ps(xb[c][b].d);
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(dw, dx), acc[c]);
          acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dm, dx), acc[c]);
        }
      }
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(y + c * ys, acc[c]);
    }

    // Q2_K and Q3_K: as kpanel23_256, all 16 rows per register.
    static void run23(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                      size_t ys) {
      constexpr bool Three = T == DType::q3_k;
      static constexpr KPanel P = Three ? kpanel_q3_k : kpanel_q2_k;
      __m512 acc[C];
      for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
      const __m512i m2 = _mm512_set1_epi8(3), m4 = _mm512_set1_epi8(4), low4 = _mm512_set1_epi8(0x0F);
      for (int64_t b = 0; b < nsb; ++b) {
        const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
        const uint8_t* qs = f.at(P.qs_field());
        const uint8_t* sc = f.at(P.scales_field());
        prefetch_block(panel + b * P.bytes, P.bytes);
        __m512i sv[4], mn[4];
        if constexpr (Three) {
          const __m512i a[3] = {_mm512_loadu_si512(sc), _mm512_loadu_si512(sc + 64), _mm512_loadu_si512(sc + 128)};
          k3_lanes(a, sv, Ops512{});
        } else {
          for (int g = 0; g < 4; ++g) {
            const __m512i a = _mm512_loadu_si512(sc + 64 * g);
            sv[g] = _mm512_and_si512(a, low4);
            mn[g] = _mm512_and_si512(_mm512_srli_epi16(a, 4), low4);
          }
        }
        __m512i isum[C];
        for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
        unrolled<16>([&](auto jc) {
          constexpr int j = decltype(jc)::value, h = j / 8, s = (j % 8) / 2, ii = j % 2;
          __m512i sj[C];
          for (int c = 0; c < C; ++c) sj[c] = Three ? _mm512_set1_epi32(ks[c][b].off6[j] >> 3) : _mm512_setzero_si512();
          for (int i = 4 * ii; i < 4 * ii + 4; ++i) {
            __m512i q = _mm512_and_si512(_mm512_srli_epi16(_mm512_loadu_si512(qs + 64 * (8 * h + i)), 2 * s), m2);
            if constexpr (Three) {
              constexpr int bit = 4 * h + s;
              const __m512i hm = _mm512_loadu_si512(f.at(P.qh_field()) + 64 * i);
              const __m512i at2 = bit >= 2 ? _mm512_srli_epi16(hm, bit - 2) : _mm512_slli_epi16(hm, 2 - bit);
              q = _mm512_or_si512(q, _mm512_and_si512(at2, m4));
            }
            for (int c = 0; c < C; ++c)
              sj[c] = _mm512_dpbusd_epi32(sj[c], q, bcast4_512(xb[c][b].qs + 128 * h + 32 * s + 4 * i));
          }
          __m512i scale = lane_byte<j % 4>(sv[j / 4]);
          if constexpr (Three) scale = _mm512_sub_epi32(scale, _mm512_set1_epi32(32));
          for (int c = 0; c < C; ++c) isum[c] = _mm512_add_epi32(isum[c], _mm512_mullo_epi32(sj[c], scale));
        });
        const __m512 dw = _mm512_cvtph_ps(load256(f.at(P.d_field())));
        for (int c = 0; c < C; ++c) {
          const __m512 dx = _mm512_set1_ps(xb[c][b].d);
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(dw, dx), acc[c]);
          if constexpr (!Three) {
            const int8_t* mb = ks[c][b].m16;
            __m512i hi = _mm512_setzero_si512(), lo = _mm512_setzero_si512();
            for (int g = 0; g < 4; ++g) {
              hi = _mm512_dpbusd_epi32(hi, mn[g], bcast4_512(mb + 4 * g));
              lo = _mm512_dpbusd_epi32(lo, mn[g], bcast4_512(mb + 16 + 4 * g));
            }
            const __m512i msum = _mm512_add_epi32(_mm512_slli_epi32(hi, 6), lo);
            const __m512 dm = _mm512_cvtph_ps(load256(f.at(P.dmin_field())));
            acc[c] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(msum), _mm512_mul_ps(dm, dx), acc[c]);
          }
        }
      }
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(y + c * ys, acc[c]);
    }

    static void run6(int64_t nsb, const uint8_t* panel, const BlockQ8_K* const* xb, const KSums* const* ks, float* y,
                     size_t ys) {
      static constexpr KPanel P = kpanel_q6_k;
      __m512 acc[C];
      for (int c = 0; c < C; ++c) acc[c] = _mm512_setzero_ps();
      const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
      for (int64_t b = 0; b < nsb; ++b) {
        const PanelBlock<const uint8_t> f = panel_block(panel, b, nsb, P.bytes, P.paired());
        const uint8_t* blk = f.at(P.qs_field());  // the quants
        prefetch_block(panel + b * P.bytes, P.bytes);
        __m512i isum[C];
        for (int c = 0; c < C; ++c) isum[c] = _mm512_setzero_si512();
        auto part = [&](auto hc, auto qc, auto ic) {
          constexpr int h = decltype(hc)::value, q2 = decltype(qc)::value, ii = decltype(ic)::value;
          constexpr int j = 8 * h + 2 * q2 + ii;
          const __m512i sc_lo = lane_sbyte<j % 4>(_mm512_loadu_si512(f.at(P.scales_field()) + 64 * (j / 4)));
          const __m512i sc_hi =
              lane_sbyte<(j + 4) % 4>(_mm512_loadu_si512(f.at(P.scales_field()) + 64 * ((j + 4) / 4)));
          __m512i slo[C], shi[C];
          for (int c = 0; c < C; ++c) {
            slo[c] = _mm512_set1_epi32(ks[c][b].off6[j]);
            shi[c] = _mm512_set1_epi32(ks[c][b].off6[j + 4]);
          }
          for (int i = 4 * ii; i < 4 * ii + 4; ++i) {
            const __m512i l = _mm512_loadu_si512(blk + 64 * (16 * h + 8 * q2 + i));
            const __m512i qh = _mm512_loadu_si512(f.at(P.qh_field()) + 64 * (8 * h + i));
            const __m512i lo =
                _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_and_si512(_mm512_slli_epi16(qh, 4 - 2 * q2), m30));
            const __m512i hi = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                               _mm512_and_si512(_mm512_srli_epi16(qh, 2 * q2), m30));
            for (int c = 0; c < C; ++c) {
              slo[c] = _mm512_dpbusd_epi32(slo[c], lo, bcast4_512(xb[c][b].qs + 128 * h + 32 * q2 + 4 * i));
              shi[c] = _mm512_dpbusd_epi32(shi[c], hi, bcast4_512(xb[c][b].qs + 128 * h + 64 + 32 * q2 + 4 * i));
            }
          }
          for (int c = 0; c < C; ++c)
            isum[c] = _mm512_add_epi32(
                isum[c], _mm512_add_epi32(_mm512_mullo_epi32(slo[c], sc_lo), _mm512_mullo_epi32(shi[c], sc_hi)));
        };
        using std::integral_constant;
        using Z = integral_constant<int, 0>;
        using O = integral_constant<int, 1>;
        part(Z{}, Z{}, Z{}), part(Z{}, Z{}, O{}), part(Z{}, O{}, Z{}), part(Z{}, O{}, O{});
        part(O{}, Z{}, Z{}), part(O{}, Z{}, O{}), part(O{}, O{}, Z{}), part(O{}, O{}, O{});
        const __m512 dw = _mm512_cvtph_ps(load256(f.at(P.d_field())));
        for (int c = 0; c < C; ++c)
          acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[c]), _mm512_mul_ps(dw, _mm512_set1_ps(xb[c][b].d)), acc[c]);
      }
      for (int c = 0; c < C; ++c) _mm512_storeu_ps(y + c * ys, acc[c]);
    }
  };
};

template <DType T>
void gemm_kpanels512(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                     size_t ys) {
  drive_kpanels<4, KPanel16<T>::template T2>(k, w, ws, nr, x, xs, nc, y, ys);
}

#endif  // FRAGUA_VNNI
