// SPDX-License-Identifier: Apache-2.0
// GGML block layouts (ggml-common.h facts): one struct per quantized format, byte-exact.
// Half-precision fields are kept as raw uint16_t bit patterns.
#pragma once

#include <cstdint>

namespace fragua::tensor {

inline constexpr int qk4_0 = 32;
inline constexpr int qk8_0 = 32;
inline constexpr int qk_k = 256;  // super-block size of the k-quants
inline constexpr int k_scale_size = 12;

struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];  // element j in the low nibble of qs[j], element j+16 in the high nibble
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[16];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // fifth bits, little-endian uint32: bit j for element j
  uint8_t qs[16];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[32];
};
struct BlockQ8_1 {
  uint16_t d, s;  // s = d * sum(qs)
  int8_t qs[32];
};
struct BlockQ2_K {
  uint8_t scales[16];  // low nibble scale, high nibble min, per 16 elements
  uint8_t qs[64];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[32];
  uint8_t qs[64];
  uint8_t scales[12];  // 16 six-bit scales, offset by 32
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[k_scale_size];  // 8 six-bit scales and 8 six-bit mins
  uint8_t qs[128];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[k_scale_size];
  uint8_t qh[32];
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
struct BlockQ8_K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // sums of qs over groups of 16
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

// Six-bit scale j and min j of a Q4_K/Q5_K block (get_scale_min_k4 in ggml): the first four
// pairs sit in the low 6 bits of bytes 0..7; the last four are split into nibbles of bytes 8..11
// plus the top two bits of bytes 0..7.
// The 16 signed 6-bit scales of a Q3_K block (value - 32): low nibbles in bytes 0..7 (scales 0..7
// low, 8..15 high), top two bits in bytes 8..11 (scale j's at bits 2 (j / 4) of byte 8 + j % 4).
inline void q3_k_scales(const uint8_t* s, int8_t out[16]) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
    const int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
  }
}

inline void k4_scale_min(int j, const uint8_t* q, uint8_t& sc, uint8_t& m) {
  if (j < 4) {
    sc = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Per-family entry points registered in dtype.cpp.
void dequant_q4_0(const void*, float*, int64_t);
void dequant_q4_1(const void*, float*, int64_t);
void dequant_q5_0(const void*, float*, int64_t);
void dequant_q5_1(const void*, float*, int64_t);
void dequant_q8_0(const void*, float*, int64_t);
void dequant_q8_1(const void*, float*, int64_t);
void quant_q4_0_ref(const float*, void*, int64_t);
void quant_q4_1_ref(const float*, void*, int64_t);
void quant_q5_0_ref(const float*, void*, int64_t);
void quant_q5_1_ref(const float*, void*, int64_t);
void quant_q8_0_ref(const float*, void*, int64_t);
// One row of n elements of the 32-element formats weighted by an importance per element (n values;
// the row's mean square enters the weights, so a call is one row; null: the reference above).
void quant_q4_0_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q4_1_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q5_0_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q5_1_weighted(const float* x, void* dst, int64_t n, const float* importance);
void dequant_q2_k(const void*, float*, int64_t);
void dequant_q3_k(const void*, float*, int64_t);
void dequant_q4_k(const void*, float*, int64_t);
void dequant_q5_k(const void*, float*, int64_t);
void dequant_q6_k(const void*, float*, int64_t);
void dequant_q8_k(const void*, float*, int64_t);
void quant_q2_k_ref(const float*, void*, int64_t);
void quant_q3_k_ref(const float*, void*, int64_t);
void quant_q4_k_ref(const float*, void*, int64_t);
void quant_q5_k_ref(const float*, void*, int64_t);
void quant_q6_k_ref(const float*, void*, int64_t);
// K-quants weighted by an importance per element (n values beside x; null: the reference above).
void quant_q2_k_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q3_k_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q4_k_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q5_k_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q6_k_weighted(const float* x, void* dst, int64_t n, const float* importance);
void quant_q8_k_ref(const float*, void*, int64_t);
void dequant_f32(const void*, float*, int64_t);
void dequant_f16(const void*, float*, int64_t);
void dequant_bf16(const void*, float*, int64_t);
void quant_f32(const float*, void*, int64_t);
void quant_f16(const float*, void*, int64_t);
void quant_bf16(const float*, void*, int64_t);

}  // namespace fragua::tensor
