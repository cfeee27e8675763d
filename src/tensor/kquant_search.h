// SPDX-License-Identifier: Apache-2.0
// Private to tensor/: the scale searches and bit packing shared by the k-quant quantizers with
// and without an importance matrix (quants_k.cpp, quants_k_imatrix.cpp). Each search follows the
// one of the same role in ggml-quants.c, named beside it, so that outputs agree with llama.cpp's.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace fragua::tensor::kq {

// Round to nearest, ties to even: ggml's nearest_int. Adding 1.5 * 2^23 leaves the rounded
// integer in the low mantissa bits, which for |v| <= 4194303 is std::nearbyint's result; beyond,
// it is what ggml's release build computes there too (its range assert is compiled out), and every
// caller clamps the level. The searches call it in their innermost loops: as a libm call
// (nearbyintf without SSE4.1) it spilled the loops' sums, and even a cold branch to nearbyint for
// large values cost Q6_K a third of its speed (ggml's ref quantizers as the peer, same rows).
inline int nearest_int(float v) {
  const float t = v + 12582912.0f;
  int32_t i;
  std::memcpy(&i, &t, sizeof i);
  return (i & 0x007fffff) - 0x00400000;
}

// Below this a group's largest magnitude counts as zero (ggml's GROUP_MAX_EPS).
inline constexpr float kGroupMaxEps = 1e-15f;

// x[i] ~ scale * L[i] - the_min, L in [0, nmax], by weighted least squares over a sweep of inverse
// scales (rmin + k * rdelta + nmax) / (max - min), k = 0..nstep; the error is squared or, with
// `use_mad`, absolute (make_qkx2_quants / make_qkx3_quants; n <= 32). Returns the scale.
float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep, bool use_mad);

// Symmetric: x[i] ~ scale * (L[i] - nmax), L in [0, 2 nmax - 1], weights w (or x^2 when null),
// with the 18-step inverse-scale sweep (make_qx_quants, rmse_type 1; n <= 32). Returns the scale.
float fit_symmetric(int n, int nmax, const float* x, uint8_t* L, const float* w);

// Symmetric with x^2 weights and coordinate-descent refinement of the levels (make_q3_quants with
// do_rmse; n <= 32). L in [0, 2 nmax - 1]. Returns the scale.
float fit_symmetric_refined(int n, int nmax, const float* x, uint8_t* L);

// Non-negative values x ~ scale * L, L in [0, nmax] (scales and mins of a super-block): nine
// candidate scales, then coordinate descent (make_qp_quants). Returns the scale.
float fit_positive(int n, int nmax, const float* x, uint8_t* L, const float* w);

// Packs 256 two-bit levels: qs[32 h + l] holds elements 128 h + l + 32 s at bits 2 s.
void pack_2bit(const uint8_t* L, uint8_t* qs);
// Q3_K: levels in [0, 7]: bit 2 of element e in hmask[e % 32] bit e / 32, the low bits by pack_2bit.
void pack_q3(uint8_t* L, uint8_t* hmask, uint8_t* qs);
// Q3_K's 16 six-bit scales (already offset by 32) into its 12 bytes.
void pack_q3_scales(const int* ls, uint8_t* scales);
int q3_scale(const uint8_t* scales, int j);  // scale j of a Q3_K block, offset removed
// Q4_K/Q5_K's 8 six-bit scales and mins into 12 bytes (the inverse of k4_scale_min).
void pack_k4_scales(const int* ls, const int* lm, uint8_t* scales);
// The end of every Q4_K/Q5_K block quantizer: the 8 scales and mins (ls, lm in [0, 63]) packed,
// the block's d and dmin stored as f16, and the 256 levels of x recomputed from the stored
// (rounded) scales, clamped to [0, nmax].
void finish_k4(const int* ls, const int* lm, float d, float dmin, const float* x, int nmax, uint16_t* d_out,
               uint16_t* dmin_out, uint8_t* scales, uint8_t* L);
// Q4_K nibbles and Q5_K nibbles + fifth bits from 256 levels.
void pack_q4(const uint8_t* L, uint8_t* qs);
void pack_q5(const uint8_t* L, uint8_t* qh, uint8_t* qs);
// Q6_K: 256 levels in [0, 63] into ql (low nibbles) and qh (top two bits).
void pack_q6(const uint8_t* L, uint8_t* ql, uint8_t* qh);

}  // namespace fragua::tensor::kq
