// SPDX-License-Identifier: Apache-2.0
// The k-quant scale searches and bit packing (see kquant_search.h). Accumulation order and float
// types follow ggml-quants.c so that the chosen levels, and thus the bytes, are the same.
#include "tensor/kquant_search.h"

#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"

#include <algorithm>
#include <cstring>

namespace fragua::tensor::kq {

namespace {
// w * l * l as ggml-quants.c writes it: (w * l) * l, two float roundings. w * (l * l) rounds once
// and chose other levels in about one Q6_K block in 400 (on llama-110M; among them the 262 blocks
// of output.weight that differed from llama-quantize), fewer for Q3_K..Q5_K.
inline float w_l2(float w, int l) { return w * static_cast<float>(l) * static_cast<float>(l); }
}  // namespace

float fit_scale_min(int n, int nmax, const float* x, const float* w, uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    min = std::min(min, x[i]);
    max = std::max(max, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max <= min) {
    std::fill(L, L + n, 0);
    *the_min = -min;
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
  }
  uint8_t laux[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      laux[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * static_cast<float>(l);
      sum_l2 += w_l2(w[i], l);
      sum_xl += w[i] * static_cast<float>(l) * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0) {
      this_min = 0;
      this_scale = sum_xl / sum_l2;
    }
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float diff = this_scale * laux[i] + this_min - x[i];
      err += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
    }
    if (err < best_error) {
      std::copy(laux, laux + n, L);
      best_error = err;
      scale = this_scale;
      min = this_min;
    }
  }
  *the_min = -min;
  return scale;
}

namespace {

// The value of largest magnitude (its sign kept: the scale is chosen so that it maps to -nmax,
// which uses the extra negative level of the asymmetric range [-nmax, nmax - 1]).
float signed_absmax(int n, const float* x, float* amax) {
  float max = 0;
  *amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > *amax) {
      *amax = ax;
      max = x[i];
    }
  }
  return max;
}

int level(float iscale, float x, int nmax) { return std::clamp(nearest_int(iscale * x), -nmax, nmax - 1); }

}  // namespace

float fit_symmetric(int n, int nmax, const float* x, uint8_t* L, const float* w) {
  float amax;
  const float max = signed_absmax(n, x, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale, x[i], nmax);
    L[i] = static_cast<uint8_t>(l + nmax);
    const float wi = w != nullptr ? w[i] : x[i] * x[i];
    sumlx += wi * x[i] * static_cast<float>(l);
    suml2 += w_l2(wi, l);
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale, x[i], nmax);
      const float wi = w != nullptr ? w[i] : x[i] * x[i];
      sumlx += wi * x[i] * static_cast<float>(l);
      suml2 += w_l2(wi, l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(nmax + level(iscale, x[i], nmax));
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float fit_symmetric_refined(int n, int nmax, const float* x, uint8_t* L) {
  float amax;
  const float max = signed_absmax(n, x, &amax);
  if (amax < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  const float iscale = -static_cast<float>(nmax) / max;
  int lv[32];
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    lv[i] = level(iscale, x[i], nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * static_cast<float>(lv[i]);
    suml2 += w_l2(w, lv[i]);
  }
  // Move one level at a time to the value that is optimal given the others, keeping the move
  // when it raises sumlx^2 / suml2 (i.e. lowers the weighted error at the optimal scale).
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * static_cast<float>(lv[i]);
      if (slx > 0) {
        float sl2 = suml2 - w_l2(w, lv[i]);
        const int new_l = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != lv[i]) {
          slx += w * x[i] * static_cast<float>(new_l);
          sl2 += w_l2(w, new_l);
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            lv[i] = new_l;
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(lv[i] + nmax);
  return sumlx / suml2;
}

float fit_positive(int n, int nmax, const float* x, uint8_t* L, const float* w) {
  float max = 0;
  for (int i = 0; i < n; ++i) max = std::max(max, x[i]);
  if (max < kGroupMaxEps) {
    std::fill(L, L + n, 0);
    return 0.0f;
  }
  float iscale = static_cast<float>(nmax) / max;
  float best_mse = 0;
  {
    const float scale = 1 / iscale;
    for (int i = 0; i < n; ++i) {
      const float diff = x[i] - scale * static_cast<float>(nearest_int(iscale * x[i]));
      best_mse += w[i] * diff * diff;
    }
  }
  for (int is = -4; is <= 4; ++is) {
    if (is == 0) continue;
    const float iscale_is = (0.1f * static_cast<float>(is) + static_cast<float>(nmax)) / max;
    const float scale_is = 1 / iscale_is;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::min(nmax, nearest_int(iscale_is * x[i]));
      const float diff = x[i] - scale_is * static_cast<float>(l);
      mse += w[i] * diff * diff;
    }
    if (mse < best_mse) {
      best_mse = mse;
      iscale = iscale_is;
    }
  }
  int lv[32];
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    lv[i] = std::min(nmax, nearest_int(iscale * x[i]));
    sumlx += w[i] * x[i] * static_cast<float>(lv[i]);
    suml2 += w_l2(w[i], lv[i]);
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      float slx = sumlx - w[i] * x[i] * static_cast<float>(lv[i]);
      float sl2 = suml2 - w_l2(w[i], lv[i]);
      if (slx > 0 && sl2 > 0) {
        const int new_l = std::min(nmax, nearest_int(x[i] * sl2 / slx));
        if (new_l != lv[i]) {
          slx += w[i] * x[i] * static_cast<float>(new_l);
          sl2 += w_l2(w[i], new_l);
          if (slx * slx * suml2 > sumlx * sumlx * sl2) {
            lv[i] = new_l;
            sumlx = slx;
            suml2 = sl2;
            ++n_changed;
          }
        }
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(std::max(0, lv[i]));
  return suml2 > 0 ? sumlx / suml2 : 0.0f;
}

void pack_2bit(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 256; j += 128)
    for (int l = 0; l < 32; ++l)
      qs[j / 4 + l] =
          static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) | (L[j + l + 96] << 6));
}

void pack_q3(uint8_t* L, uint8_t* hmask, uint8_t* qs) {
  std::memset(hmask, 0, 32);
  for (int e = 0; e < 256; ++e) {
    if (L[e] > 3) {
      hmask[e % 32] = static_cast<uint8_t>(hmask[e % 32] | (1 << (e / 32)));
      L[e] = static_cast<uint8_t>(L[e] - 4);
    }
  }
  pack_2bit(L, qs);
}

void pack_q3_scales(const int* ls, uint8_t* scales) {
  std::memset(scales, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const int l = ls[j];
    if (j < 8)
      scales[j] = static_cast<uint8_t>(l & 0xF);
    else
      scales[j - 8] = static_cast<uint8_t>(scales[j - 8] | ((l & 0xF) << 4));
    scales[8 + j % 4] = static_cast<uint8_t>(scales[8 + j % 4] | ((l >> 4) << (2 * (j / 4))));
  }
}

int q3_scale(const uint8_t* scales, int j) {
  const int lo = j < 8 ? (scales[j] & 0xF) : (scales[j - 8] >> 4);
  const int hi = (scales[8 + j % 4] >> (2 * (j / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

void pack_k4_scales(const int* ls, const int* lm, uint8_t* scales) {
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = static_cast<uint8_t>(ls[j]);
      scales[j + 4] = static_cast<uint8_t>(lm[j]);
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] = static_cast<uint8_t>(scales[j - 4] | ((ls[j] >> 4) << 6));
      scales[j] = static_cast<uint8_t>(scales[j] | ((lm[j] >> 4) << 6));
    }
  }
}

void pack_q4(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < 256; j += 64, qs += 32)
    for (int l = 0; l < 32; ++l) qs[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
}

void pack_q5(const uint8_t* L, uint8_t* qh, uint8_t* qs) {
  std::memset(qh, 0, 32);
  uint8_t m1 = 1, m2 = 2;
  for (int j = 0; j < 256; j += 64, qs += 32) {
    for (int l = 0; l < 32; ++l) {
      int l1 = L[j + l], l2 = L[j + l + 32];
      if (l1 > 15) {
        l1 -= 16;
        qh[l] |= m1;
      }
      if (l2 > 15) {
        l2 -= 16;
        qh[l] |= m2;
      }
      qs[l] = static_cast<uint8_t>(l1 | (l2 << 4));
    }
    m1 = static_cast<uint8_t>(m1 << 2);
    m2 = static_cast<uint8_t>(m2 << 2);
  }
}

void pack_q6(const uint8_t* L, uint8_t* ql, uint8_t* qh) {
  for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
    for (int l = 0; l < 32; ++l) {
      const int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
      ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
  }
}

void finish_k4(const int* ls, const int* lm, float d, float dmin, const float* x, int nmax, uint16_t* d_out,
               uint16_t* dmin_out, uint8_t* scales, uint8_t* L) {
  pack_k4_scales(ls, lm, scales);
  *d_out = fp32_to_fp16(d);
  *dmin_out = fp32_to_fp16(dmin);
  for (int j = 0; j < 8; ++j) {
    uint8_t s, m;
    k4_scale_min(j, scales, s, m);
    const float dj = fp16_to_fp32(*d_out) * s;
    if (dj == 0.0f) continue;
    const float dm = fp16_to_fp32(*dmin_out) * m;
    for (int l = 0; l < 32; ++l)
      L[32 * j + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + l] + dm) / dj), 0, nmax));
  }
}

}  // namespace fragua::tensor::kq
