// SPDX-License-Identifier: Apache-2.0
// Shared pieces of the SIMD kernels (simd/*.inl): block types, 256-bit reductions and loads,
// the u8 x s8 dot, and the unpacking of 4-bit and 5-bit quants.

using fragua::tensor::BlockQ2_K;
using fragua::tensor::BlockQ3_K;
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

// The sum of the eight i32 lanes (exact, in any order).
inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
  return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 1)));
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

// Calls f(integral_constant<int, J>) for J = 0..N-1 in order.
template <int N, class F>
inline void unrolled(F&& f) {
  [&]<int... J>(std::integer_sequence<int, J...>) { (f(std::integral_constant<int, J>{}), ...); }
  (std::make_integer_sequence<int, N>{});
}

// Bytes ahead of the block being read that the panel kernels request with a software prefetch,
// every line of a block: at decode the panels are one sequential stream per thread, read once
// per token from DRAM, and the hardware prefetchers alone leave bandwidth unused (1 thread,
// 32768 x 8192 Q4_K panels: 14-19 GB/s without, 29-35 GB/s at 8 KiB; 4 KiB and 1.5 KiB between).
constexpr int kPanelPrefetch = 8192;

// Every cache line that starts in [p, p + bytes), in one burst: calls over consecutive ranges
// request each line once.
inline void prefetch_lines(const uint8_t* p, int64_t bytes) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  for (uintptr_t q = (a + 63) & ~uintptr_t{63}; q < a + static_cast<uintptr_t>(bytes); q += 64)
    _mm_prefetch(reinterpret_cast<const char*>(q), _MM_HINT_T0);
}

inline void prefetch_block(const uint8_t* blk, int bytes) {
  for (int o = 0; o < bytes; o += 64)
    _mm_prefetch(reinterpret_cast<const char*>(blk + kPanelPrefetch + o), _MM_HINT_T0);
}
