// SPDX-License-Identifier: Apache-2.0
// The 32-element block formats weighted by an importance per column (llama.cpp's imatrix), after
// ggml-quants.c's quantize_row_q{4_0,4_1,5_0,5_1}_impl: each element's error weighs
// qw * sqrt(sigma2 + x^2), sigma2 the mean square of the whole row, and the block's scale comes
// from the weighted searches of the k-quants (make_qx_quants for the symmetric Q4_0/Q5_0,
// make_qkx3_quants for the scale-and-min Q4_1/Q5_1). Unlike the reference quantizers the levels
// are those of the search, not recomputed from the f16-rounded scale. Each function quantizes one
// row of n elements (sigma2 is a row statistic); without weights it is the reference quantizer, as
// ggml's quantize_q4_0 etc. are. Q8_0 takes no importance in ggml either.
#include <cmath>
#include <cstring>

#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"
#include "tensor/kquant_search.h"

namespace fragua::tensor {
namespace {

constexpr int kBlock = 32;

float row_mean_square(const float* x, int64_t n) {
  float s = 0;
  for (int64_t j = 0; j < n; ++j) s += x[j] * x[j];
  return s / static_cast<float>(n);
}

void element_weights(const float* x, const float* qw, float sigma2, float* w) {
  for (int j = 0; j < kBlock; ++j) w[j] = qw[j] * std::sqrt(sigma2 + x[j] * x[j]);
}

// Nibbles of levels L[0..31]: element j in the low half of byte j, element j + 16 in the high.
void pack_nibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 16; ++j) qs[j] = static_cast<uint8_t>((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
}

// Bit 4 of each level: element j at bit j, element j + 16 at bit j + 16.
void pack_fifth_bits(const uint8_t* L, uint8_t* qh_out) {
  uint32_t qh = 0;
  for (int j = 0; j < 16; ++j) {
    qh |= static_cast<uint32_t>((L[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((L[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(qh_out, &qh, 4);
}

}  // namespace

void quant_q4_0_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q4_0_ref(x, dst, n);
  auto* b = static_cast<BlockQ4_0*>(dst);
  const float sigma2 = row_mean_square(x, n);
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock, qw += kBlock) {
    float w[kBlock];
    uint8_t L[kBlock];
    element_weights(x, qw, sigma2, w);
    b[i].d = fp32_to_fp16(kq::fit_symmetric(kBlock, 8, x, L, w));
    pack_nibbles(L, b[i].qs);
  }
}

void quant_q4_1_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q4_1_ref(x, dst, n);
  auto* b = static_cast<BlockQ4_1*>(dst);
  const float sigma2 = row_mean_square(x, n);
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock, qw += kBlock) {
    float w[kBlock], min;
    uint8_t L[kBlock];
    element_weights(x, qw, sigma2, w);
    b[i].d = fp32_to_fp16(kq::fit_scale_min(kBlock, 15, x, w, L, &min, -0.9f, 0.05f, 36, false));
    b[i].m = fp32_to_fp16(-min);
    pack_nibbles(L, b[i].qs);
  }
}

void quant_q5_0_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q5_0_ref(x, dst, n);
  auto* b = static_cast<BlockQ5_0*>(dst);
  const float sigma2 = row_mean_square(x, n);
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock, qw += kBlock) {
    float w[kBlock];
    uint8_t L[kBlock];
    element_weights(x, qw, sigma2, w);
    b[i].d = fp32_to_fp16(kq::fit_symmetric(kBlock, 16, x, L, w));
    pack_nibbles(L, b[i].qs);
    pack_fifth_bits(L, b[i].qh);
  }
}

void quant_q5_1_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q5_1_ref(x, dst, n);
  auto* b = static_cast<BlockQ5_1*>(dst);
  const float sigma2 = row_mean_square(x, n);
  for (int64_t i = 0; i < n / kBlock; ++i, x += kBlock, qw += kBlock) {
    float w[kBlock], min;
    uint8_t L[kBlock];
    element_weights(x, qw, sigma2, w);
    b[i].d = fp32_to_fp16(kq::fit_scale_min(kBlock, 31, x, w, L, &min, -0.9f, 0.05f, 36, false));
    b[i].m = fp32_to_fp16(-min);
    pack_nibbles(L, b[i].qs);
    pack_fifth_bits(L, b[i].qh);
  }
}

}  // namespace fragua::tensor
