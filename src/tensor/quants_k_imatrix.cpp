// SPDX-License-Identifier: Apache-2.0
// K-quant quantizers that weigh each element's error by an importance (llama.cpp's imatrix: the
// mean squared activation its column meets), after ggml-quants.c's quantize_row_q*_K_impl: the
// element weight is qw * sqrt(sigma2 + x^2) (sigma2 from the super-block's mean square), the
// per-group scale search uses it, and the super-block's scales and mins are themselves fitted
// with the groups' total weights (make_qp_quants / make_qx_quants on the scales). Without
// weights each falls back to the reference quantizer, as ggml's quantize_q*_K do.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"
#include "tensor/kquant_search.h"

namespace fragua::tensor {
namespace {

using kq::nearest_int;

float mean_square(const float* x, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += x[i] * x[i];
  return s / static_cast<float>(n);
}

// Q4_K/Q5_K with importance: levels into L, scales packed, d/dmin set.
void quant_k4_weighted(const float* x, const float* qw, int nmax, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales,
                       uint8_t* L) {
  const float sigma2 = 2 * mean_square(x, qk_k);
  float weights[32], sw[8], sc[8], mins[8];
  for (int j = 0; j < 8; ++j) {
    float sumw = 0;
    for (int l = 0; l < 32; ++l) {
      weights[l] = qw[32 * j + l] * std::sqrt(sigma2 + x[32 * j + l] * x[32 * j + l]);
      sumw += weights[l];
    }
    sw[j] = sumw;
    sc[j] = kq::fit_scale_min(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], -0.9f, 0.05f, 36, false);
  }
  uint8_t lsq[8], lmq[8];
  const float d_block = kq::fit_positive(8, 63, sc, lsq, sw);
  const float m_block = kq::fit_positive(8, 63, mins, lmq, sw);
  int ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = std::min<int>(63, lsq[j]);
    lm[j] = std::min<int>(63, lmq[j]);
  }
  kq::finish_k4(ls, lm, d_block, m_block, x, nmax, d_out, dmin_out, scales, L);
}

}  // namespace

void quant_q2_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q2_k_ref(x, dst, n);
  auto* b = static_cast<BlockQ2_K*>(dst);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k, qw += qk_k) {
    uint8_t L[qk_k];
    const float sigma2 = mean_square(x, qk_k);
    float weights[16], sw[16], scales[16], mins[16];
    for (int j = 0; j < 16; ++j) {
      float sumw = 0;
      for (int l = 0; l < 16; ++l) {
        weights[l] = qw[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        sumw += weights[l];
      }
      sw[j] = sumw;
      scales[j] = kq::fit_scale_min(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.9f, 0.05f, 36, false);
    }
    uint8_t ls[16], lm[16];
    b[i].d = fp32_to_fp16(kq::fit_positive(16, 15, scales, ls, sw));
    b[i].dmin = fp32_to_fp16(kq::fit_positive(16, 15, mins, lm, sw));
    const float dm = fp16_to_fp32(b[i].d), mm = fp16_to_fp32(b[i].dmin);
    for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
    for (int j = 0; j < 16; ++j) {
      const float d = dm * static_cast<float>(b[i].scales[j] & 0xF);
      if (d == 0.0f) continue;
      const float m = mm * static_cast<float>(b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * j + l] + m) / d), 0, 3));
    }
    kq::pack_2bit(L, b[i].qs);
  }
}

void quant_q3_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q3_k_ref(x, dst, n);
  auto* b = static_cast<BlockQ3_K*>(dst);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k, qw += qk_k) {
    uint8_t L[qk_k];
    const float sigma2 = 2 * mean_square(x, qk_k);
    float weights[16], sw[16], scales[16];
    for (int j = 0; j < 16; ++j) {
      float sumw = 0;
      for (int l = 0; l < 16; ++l) {
        weights[l] = qw[16 * j + l] * std::sqrt(sigma2 + x[16 * j + l] * x[16 * j + l]);
        sumw += weights[l];
      }
      sw[j] = sumw;
      scales[j] = kq::fit_symmetric(16, 4, x + 16 * j, L + 16 * j, weights);
    }
    uint8_t lsq[16];
    const float d_block = kq::fit_symmetric(16, 32, scales, lsq, sw);
    int ls[16];
    for (int j = 0; j < 16; ++j) ls[j] = lsq[j];
    kq::pack_q3_scales(ls, b[i].scales);
    b[i].d = fp32_to_fp16(d_block);
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(b[i].d) * static_cast<float>(kq::q3_scale(b[i].scales, j));
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int(x[16 * j + l] / d), -4, 3) + 4);
    }
    kq::pack_q3(L, b[i].hmask, b[i].qs);
  }
}

void quant_q4_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q4_k_ref(x, dst, n);
  auto* b = static_cast<BlockQ4_K*>(dst);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k, qw += qk_k) {
    uint8_t L[qk_k];
    quant_k4_weighted(x, qw, 15, &b[i].d, &b[i].dmin, b[i].scales, L);
    kq::pack_q4(L, b[i].qs);
  }
}

void quant_q5_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  if (qw == nullptr) return quant_q5_k_ref(x, dst, n);
  auto* b = static_cast<BlockQ5_K*>(dst);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k, qw += qk_k) {
    uint8_t L[qk_k];
    quant_k4_weighted(x, qw, 31, &b[i].d, &b[i].dmin, b[i].scales, L);
    kq::pack_q5(L, b[i].qh, b[i].qs);
  }
}

// Q6_K's group search takes the importance as is (ggml-quants.c keeps the sigma2 form commented
// out for this type); without it the weights are x^2, which is the reference quantizer.
void quant_q6_k_weighted(const float* x, void* dst, int64_t n, const float* qw) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  for (int64_t i = 0; i < n / qk_k; ++i, x += qk_k) {
    uint8_t L[qk_k];
    float scales[16];
    float max_scale = 0, max_abs = 0;
    for (int j = 0; j < 16; ++j) {
      scales[j] = kq::fit_symmetric(16, 32, x + 16 * j, L + 16 * j, qw != nullptr ? qw + qk_k * i + 16 * j : nullptr);
      if (std::fabs(scales[j]) > max_abs) {
        max_abs = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs < kq::kGroupMaxEps) {
      std::memset(&b[i], 0, sizeof(b[i]));
      continue;
    }
    const float iscale = -128.0f / max_scale;
    b[i].d = fp32_to_fp16(1 / iscale);
    for (int j = 0; j < 16; ++j) b[i].scales[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[j])));
    for (int j = 0; j < 16; ++j) {
      const float d = fp16_to_fp32(b[i].d) * static_cast<float>(b[i].scales[j]);
      if (d == 0.0f) continue;
      for (int l = 0; l < 16; ++l)
        L[16 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int(x[16 * j + l] / d), -32, 31) + 32);
    }
    kq::pack_q6(L, b[i].ql, b[i].qh);
  }
}

}  // namespace fragua::tensor
