// SPDX-License-Identifier: Apache-2.0
// Portable scalar kernels: the reference every SIMD path is tested against. Integer block dots
// follow ggml's vec_dot_*_q8_0 / *_q8_K definitions (weights times 8-bit activations, one float
// scale product per block).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"

namespace fragua::cpu {
namespace {

using namespace fragua::tensor;

using DotFn = float (*)(int64_t k, const uint8_t* w, const uint8_t* x);

template <DotFn dot>
void gemm(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y, size_t ys) {
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r) y[c * ys + r] = dot(k, w + r * ws, x + c * xs);
}

// The float dots' one definition on every level (simd/gemm_float.inl says it in words): 16 fma
// lanes, four accumulators of them for a matrix-vector product (matvec), one otherwise.
template <class Load>
float dot_float_lanes(int64_t k, const uint8_t* x, Load load, bool matvec) {
  const auto* xf = reinterpret_cast<const float*>(x);
  float acc[4][16] = {};
  if (matvec) {
    const int64_t k64 = k / 64 * 64;
    int64_t i = 0;
    for (; i < k64; ++i) acc[(i % 64) / 16][i % 16] = std::fma(load(i), xf[i], acc[(i % 64) / 16][i % 16]);
    for (int l = 0; l < 16; ++l) acc[0][l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l]);
    double sum = reduce16_scalar(acc[0]);
    for (; i < k; ++i) sum += static_cast<double>(load(i) * xf[i]);
    return static_cast<float>(sum);
  }
  const int64_t k16 = k / 16 * 16;
  int64_t i = 0;
  for (; i < k16; ++i) acc[0][i % 16] = std::fma(load(i), xf[i], acc[0][i % 16]);
  float sum = reduce16_scalar(acc[0]);
  for (; i < k; ++i) sum = std::fma(load(i), xf[i], sum);
  return sum;
}

template <class Load>
void gemm_float_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                       size_t ys, Load load) {
  for (int c = 0; c < nc; ++c)
    for (int r = 0; r < nr; ++r)
      y[c * ys + r] = dot_float_lanes(
          k, x + c * xs, [&](int64_t i) { return load(w + r * ws, i); }, nc == 1);
}

void gemm_f32_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                     size_t ys) {
  gemm_float_scalar(k, w, ws, nr, x, xs, nc, y, ys,
                    [](const uint8_t* row, int64_t i) { return reinterpret_cast<const float*>(row)[i]; });
}
void gemm_f16_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                     size_t ys) {
  gemm_float_scalar(k, w, ws, nr, x, xs, nc, y, ys, [](const uint8_t* row, int64_t i) {
    return fp16_to_fp32(reinterpret_cast<const uint16_t*>(row)[i]);
  });
}
void gemm_bf16_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                      size_t ys) {
  gemm_float_scalar(k, w, ws, nr, x, xs, nc, y, ys, [](const uint8_t* row, int64_t i) {
    return bf16_to_fp32(reinterpret_cast<const uint16_t*>(row)[i]);
  });
}

// Low nibbles are elements 0..15 of a 32-block, high nibbles 16..31.
int nibble_dot(const uint8_t* qs, const int8_t* x, int offset, const uint32_t* qh) {
  int sum = 0;
  for (int j = 0; j < 16; ++j) {
    int lo = qs[j] & 0xF, hi = qs[j] >> 4;
    if (qh != nullptr) {
      lo |= static_cast<int>((*qh >> j) & 1) << 4;
      hi |= static_cast<int>((*qh >> (j + 16)) & 1) << 4;
    }
    sum += (lo - offset) * x[j] + (hi - offset) * x[j + 16];
  }
  return sum;
}

template <class Block, int offset, bool has_min, bool has_qh>
float dot_q_legacy(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* b = reinterpret_cast<const Block*>(w);
  const Q8Row xr = q8_row(x, k);
  float sum = 0;
  for (int64_t i = 0; i < k / 32; ++i) {
    uint32_t qh = 0;
    if constexpr (has_qh) std::memcpy(&qh, b[i].qh, 4);
    const int isum = nibble_dot(b[i].qs, xr.qs + 32 * i, offset, has_qh ? &qh : nullptr);
    sum += static_cast<float>(isum) * fp16_to_fp32(b[i].d) * xr.d[i];
    if constexpr (has_min) sum += fp16_to_fp32(b[i].m) * (xr.d[i] * static_cast<float>(xr.s[i]));
  }
  return sum;
}

// Q8_0 in llama.cpp's order (its AVX vec_dot and tinyBLAS kernels add alike), which the SIMD
// levels reproduce bit for bit: eight lanes, lane i of block b the exact integer sum of
// elements 4i..4i+3, acc_i = fma(d_w * d_x, float(sum), acc_i) in block order, then the lanes
// added as ((4+0) + (6+2)) + ((5+1) + (7+3)).
float dot_q8_0(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* b = reinterpret_cast<const BlockQ8_0*>(w);
  const Q8Row xr = q8_row(x, k);
  float acc[8] = {};
  for (int64_t i = 0; i < k / 32; ++i) {
    const float d = fp16_to_fp32(b[i].d) * xr.d[i];
    for (int l = 0; l < 8; ++l) {
      int isum = 0;
      for (int j = 4 * l; j < 4 * l + 4; ++j) isum += b[i].qs[j] * xr.qs[32 * i + j];
      acc[l] = std::fma(d, static_cast<float>(isum), acc[l]);
    }
  }
  return ((acc[4] + acc[0]) + (acc[6] + acc[2])) + ((acc[5] + acc[1]) + (acc[7] + acc[3]));
}

// Q4_K / Q5_K: eight 32-element sub-blocks with 6-bit scales and mins;
// value = d * sc * q - dmin * m, so dot = d*dx*sum(sc*q.x) - dmin*dx*sum(m*sum(x)).
template <bool five>
float dot_qk45(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* xb = reinterpret_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < k / qk_k; ++i) {
    const uint8_t *scales, *qs, *qh = nullptr;
    uint16_t d16, dmin16;
    if constexpr (five) {
      const auto& b = reinterpret_cast<const BlockQ5_K*>(w)[i];
      scales = b.scales, qs = b.qs, qh = b.qh, d16 = b.d, dmin16 = b.dmin;
    } else {
      const auto& b = reinterpret_cast<const BlockQ4_K*>(w)[i];
      scales = b.scales, qs = b.qs, d16 = b.d, dmin16 = b.dmin;
    }
    int isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      k4_scale_min(j, scales, sc, m);
      const uint8_t* q = qs + 32 * (j / 2);
      const int shift = 4 * (j % 2);
      int s = 0;
      for (int l = 0; l < 32; ++l) {
        int v = (q[l] >> shift) & 0xF;
        if (qh != nullptr) v |= ((qh[l] >> j) & 1) << 4;
        s += v * xb[i].qs[32 * j + l];
      }
      isum += sc * s;
      msum += m * (xb[i].bsums[2 * j] + xb[i].bsums[2 * j + 1]);
    }
    sum += fp16_to_fp32(d16) * xb[i].d * static_cast<float>(isum) -
           fp16_to_fp32(dmin16) * xb[i].d * static_cast<float>(msum);
  }
  return sum;
}

float dot_q6_k(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* b = reinterpret_cast<const BlockQ6_K*>(w);
  const auto* xb = reinterpret_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < k / qk_k; ++i) {
    int isum = 0;
    for (int e = 0; e < qk_k; e += 16) {
      // Element e: half h, row r (32 elements), lane l within the row (see dequant_q6_k).
      int s = 0;
      for (int t = e; t < e + 16; ++t) {
        const int h = t / 128, r = (t % 128) / 32, l = t % 32;
        const int nib = (b[i].ql[64 * h + 32 * (r % 2) + l] >> (4 * (r / 2))) & 0xF;
        const int hi = (b[i].qh[32 * h + l] >> (2 * r)) & 3;
        s += ((nib | (hi << 4)) - 32) * xb[i].qs[t];
      }
      isum += b[i].scales[e / 16] * s;
    }
    sum += fp16_to_fp32(b[i].d) * xb[i].d * static_cast<float>(isum);
  }
  return sum;
}

// Q2_K: sixteen 16-element sub-blocks, 2-bit quants with a 4-bit scale and a 4-bit min each;
// value = d * sc * q - dmin * m, so dot = d*dx*sum(sc*q.x) - dmin*dx*sum(m*bsum). The definition
// the SIMD levels reproduce bit for bit (as Q3_K below): both integer sums exact per super-block,
// then sum = fma(float(isum), d * dx, sum) and sum = fma(-float(msum), dmin * dx, sum).
float dot_q2_k(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* b = reinterpret_cast<const BlockQ2_K*>(w);
  const auto* xb = reinterpret_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < k / qk_k; ++i) {
    int isum = 0, msum = 0;
    for (int j = 0; j < 16; ++j) {
      // Sub-block j: half h = j / 8, bit pair s = (j % 8) / 2 of bytes 16 (j % 2) .. + 15.
      const uint8_t* q = b[i].qs + 32 * (j / 8) + 16 * (j % 2);
      const int shift = 2 * ((j % 8) / 2);
      int s = 0;
      for (int l = 0; l < 16; ++l) s += ((q[l] >> shift) & 3) * xb[i].qs[16 * j + l];
      isum += (b[i].scales[j] & 0xF) * s;
      msum += (b[i].scales[j] >> 4) * xb[i].bsums[j];
    }
    sum = std::fma(static_cast<float>(isum), fp16_to_fp32(b[i].d) * xb[i].d, sum);
    sum = std::fma(-static_cast<float>(msum), fp16_to_fp32(b[i].dmin) * xb[i].d, sum);
  }
  return sum;
}

// Q3_K: sixteen 16-element sub-blocks, 3-bit quants (2 low bits in qs, the third in hmask,
// value q - 4 where the hmask bit is clear) and signed 6-bit scales; dot = d*dx*sum(sc*q.x).
float dot_q3_k(int64_t k, const uint8_t* w, const uint8_t* x) {
  const auto* b = reinterpret_cast<const BlockQ3_K*>(w);
  const auto* xb = reinterpret_cast<const BlockQ8_K*>(x);
  float sum = 0;
  for (int64_t i = 0; i < k / qk_k; ++i) {
    int8_t sc[16];
    q3_k_scales(b[i].scales, sc);
    int isum = 0;
    for (int j = 0; j < 16; ++j) {
      const int h = j / 8, s2 = (j % 8) / 2, o = 16 * (j % 2);
      int s = 0;
      for (int l = 0; l < 16; ++l) {
        const int v = ((b[i].qs[32 * h + o + l] >> (2 * s2)) & 3) - ((b[i].hmask[o + l] >> (4 * h + s2)) & 1 ? 0 : 4);
        s += v * xb[i].qs[16 * j + l];
      }
      isum += sc[j] * s;
    }
    sum = std::fma(static_cast<float>(isum), fp16_to_fp32(b[i].d) * xb[i].d, sum);
  }
  return sum;
}

}  // namespace

void act_q8_0_scalar(const float* x, uint8_t* out, int64_t k) {
  auto* qs = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + k);
  auto* s = reinterpret_cast<int32_t*>(out + k + 4 * (k / 32));
  for (int64_t b = 0; b < k / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[32 * b + j]));
    // As ggml's quantize_row_q8_0 on x86: scale stored as fp16, quants from 127/amax rounded
    // to nearest even.
    d[b] = fp16_to_fp32(fp32_to_fp16(amax / 127.0f));
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      // A NaN or infinite activation (hostile or overflowing weights) becomes 0 here: converting
      // it to int is undefined behaviour (the SIMD paths' cvtps2dq gives INT_MIN instead).
      const float v = x[32 * b + j] * id;
      const int q = std::isfinite(v) ? static_cast<int>(std::nearbyint(v)) : 0;
      qs[32 * b + j] = static_cast<int8_t>(q);
      sum += q;
    }
    s[b] = sum;
  }
}

void act_q8_k_scalar(const float* x, uint8_t* out, int64_t k) { quant_q8_k_ref(x, out, k); }

void act_f16r_scalar(const float* x, uint8_t* out, int64_t k) {
  auto* o = reinterpret_cast<float*>(out);
  for (int64_t i = 0; i < k; ++i) o[i] = fp16_to_fp32(fp32_to_fp16(x[i]));
}

// The definition the SIMD versions reproduce bit for bit: per row and block, the exact integer
// dot minus offset * sum(x) (8 for Q4_0, 16 for Q5_0), then acc = fma(float(dot), d_w * d_x,
// acc) in block order. Panel geometry: kernels.h's Panel (blocks in pairs, PanelBlock).
template <bool Five>
void gemm_panels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                        size_t ys) {
  const int64_t nb = k / 32;
  using P = Panel<Five>;
  for (int p = 0; p < nr / 16; ++p) {
    const uint8_t* panel = w + static_cast<size_t>(p) * 16 * ws;
    for (int c = 0; c < nc; ++c) {
      const Q8Row xr = q8_row(x + static_cast<size_t>(c) * xs, k);
      float acc[16] = {};
      for (int64_t b = 0; b < nb; ++b) {
        const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, P::bytes);
        const uint8_t *qs = f.at(P::quants), *fifth = f.at(P::fifth_bits), *scales = f.at(P::scales);
        const int8_t* xq = xr.qs + 32 * b;
        for (int r = 0; r < 16; ++r) {
          int32_t dot = -P::offset * xr.s[b];
          for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) {
              const uint8_t byte = qs[64 * i + 4 * r + j];
              int lo = byte & 15, hi = byte >> 4;
              if (Five) {
                const uint8_t h = fifth[4 * r + i];
                lo |= ((h >> j) & 1) << 4;
                hi |= ((h >> (4 + j)) & 1) << 4;
              }
              dot += lo * xq[4 * i + j] + hi * xq[16 + 4 * i + j];
            }
          uint16_t d;
          std::memcpy(&d, scales + 2 * r, 2);
          acc[r] = std::fma(static_cast<float>(dot), fp16_to_fp32(d) * xr.d[b], acc[r]);
        }
      }
      for (int r = 0; r < 16; ++r) y[static_cast<size_t>(c) * ys + static_cast<size_t>(16 * p + r)] = acc[r];
    }
  }
}
template void gemm_panels_scalar<false>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int, float*,
                                        size_t);
template void gemm_panels_scalar<true>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int, float*,
                                       size_t);

// Q8_0 panels (Q8Panel): dot_q8_0's arithmetic, row by row, on the panel's bytes.
void gemm_q8_0_panels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc,
                             float* y, size_t ys) {
  const int64_t nb = k / 32;
  for (int p = 0; p < nr / 16; ++p) {
    const uint8_t* panel = w + static_cast<size_t>(p) * 16 * ws;
    for (int c = 0; c < nc; ++c) {
      const Q8Row xr = q8_row(x + static_cast<size_t>(c) * xs, k);
      for (int r = 0; r < 16; ++r) {
        float acc[8] = {};
        for (int64_t b = 0; b < nb; ++b) {
          const PanelBlock<const uint8_t> f = panel_block(panel, b, nb, Q8Panel::bytes);
          const uint8_t* qs = f.at(Q8Panel::quants);
          uint16_t dh;
          std::memcpy(&dh, f.at(Q8Panel::scales) + 2 * r, 2);
          const float d = fp16_to_fp32(dh) * xr.d[b];
          for (int l = 0; l < 8; ++l) {
            int isum = 0;
            for (int j = 0; j < 4; ++j) isum += (qs[64 * l + 4 * r + j] - 128) * xr.qs[32 * b + 4 * l + j];
            acc[l] = std::fma(d, static_cast<float>(isum), acc[l]);
          }
        }
        y[static_cast<size_t>(c) * ys + static_cast<size_t>(16 * p + r)] =
            ((acc[4] + acc[0]) + (acc[6] + acc[2])) + ((acc[5] + acc[1]) + (acc[7] + acc[3]));
      }
    }
  }
}

// exp for SwiGLU, the approximation llama.cpp's vector code uses (so that both engines round
// alike; maximum error about 2 ulps): n = nearest(x / ln 2) by the 1.5 * 2^23 shift, b = x - n ln 2
// in two parts, e^b by a degree-5 polynomial in Estrin form, times 2^n; |n| > 192 saturates.
float exp_silu_scalar(float x) {
  const float shift = 0x1.8p23f;
  const float n = std::fma(x, 0x1.715476p+0f, shift) - shift;
  const float b = std::fma(-n, 0x1.7f7d1cp-20f, std::fma(-n, 0x1.62e4p-1f, x));
  const float u = b * b;
  const float j =
      std::fma(std::fma(std::fma(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, std::fma(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
               std::fma(0x1.ffffecp-1f, b, 1.0f));
  if (std::isnan(n)) return n;  // NaN in, NaN out: no NaN-to-int conversion (undefined behaviour)
  if (std::fabs(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
  return std::ldexp(j, static_cast<int>(n));
}

void swiglu_scalar(const float* gate, const float* up, int64_t n, float* y) {
  // up == nullptr: silu alone (the Mamba-2 convolution's activation, ssm.cpp).
  for (int64_t i = 0; i < n; ++i) y[i] = gate[i] / (1.0f + exp_silu_scalar(-gate[i])) * (up != nullptr ? up[i] : 1.0f);
}

float exp_poly_scalar(float x) {
  if (std::isnan(x)) return x;               // no NaN-to-int conversion below (undefined behaviour)
  x = std::min(std::max(x, -87.3f), 88.0f);  // softmax inputs are <= 0; +inf must not reach the cast
  const float n = std::nearbyint(x * 1.44269504f);
  float r = std::fma(n, -0.693145752f, x);
  r = std::fma(n, -1.42860677e-6f, r);
  float p = 1.98412698e-4f;
  for (float c : {1.38888889e-3f, 8.33333333e-3f, 4.16666667e-2f, 1.66666667e-1f, 0.5f, 1.0f, 1.0f})
    p = std::fma(p, r, c);
  const uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

void attn_scores_scalar(int64_t hd, const float* q, size_t qs, int nt, const float* kt, size_t kts, int64_t n,
                        float scale, float* s, size_t ss) {
  for (int i = 0; i < nt; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t d = 0; d < hd; ++d)
        acc = std::fma(q[i * qs + static_cast<size_t>(d)], kt[static_cast<size_t>(d) * kts + j], acc);
      s[i * ss + static_cast<size_t>(j)] = acc * scale;
    }
}

void softmax_rows_scalar(float* s, size_t ss, int nt, const int64_t* n_seen, int64_t n) {
  for (int i = 0; i < nt; ++i) {
    float* row = s + i * ss;
    const int64_t m = n_seen[i];
    float mx = -INFINITY, sum = 0.0f;
    for (int64_t j = 0; j < m; ++j) mx = std::max(mx, row[j]);
    for (int64_t j = 0; j < m; ++j) sum += (row[j] = exp_poly_scalar(row[j] - mx));
    const float inv = m > 0 ? 1.0f / sum : 0.0f;
    for (int64_t j = 0; j < m; ++j) row[j] *= inv;
    for (int64_t j = m; j < n; ++j) row[j] = 0.0f;
  }
}

void to_f16_scalar(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
}

void from_f16_scalar(const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
}

// The score of one key: the dot product of two f16 rows (every product exact in f32) added in
// the order of ggml's AVX-512 build, so that both engines round alike: per 64 elements, lane l
// of four 16-lane f32 accumulators j takes element 16j + l by fused multiply-add; the
// accumulators are folded (0+2, 1+3, then 0+1) and the 16 lanes reduced as GCC's
// _mm512_reduce_add_ps does; elements past the last multiple of 64 are added one by one in
// double; the result is rounded to f32.
float score_f16(const uint16_t* k, const uint16_t* q, int64_t hd) {
  const int64_t np = hd - hd % 64;
  double sum = 0.0;
  if (np > 0) {
    float x[4][16] = {};
    for (int64_t i = 0; i < np; i += 64)
      for (int j = 0; j < 4; ++j)
        for (int l = 0; l < 16; ++l)
          x[j][l] = std::fma(fp16_to_fp32(k[i + 16 * j + l]), fp16_to_fp32(q[i + 16 * j + l]), x[j][l]);
    float a[16], t3[8], t6[4];
    for (int l = 0; l < 16; ++l) a[l] = (x[0][l] + x[2][l]) + (x[1][l] + x[3][l]);
    for (int l = 0; l < 8; ++l) t3[l] = a[l + 8] + a[l];
    for (int l = 0; l < 4; ++l) t6[l] = t3[l + 4] + t3[l];
    sum = static_cast<double>((t6[0] + t6[2]) + (t6[1] + t6[3]));
  }
  for (int64_t i = np; i < hd; ++i) sum += static_cast<double>(fp16_to_fp32(k[i]) * fp16_to_fp32(q[i]));
  return static_cast<float>(sum);
}

// The definition that the SIMD versions reproduce bit for bit, which is the arithmetic of
// llama.cpp's CPU flash attention: q rounded to f16; per key the score (score_f16) times scale;
// when it is a new maximum the f16 accumulator is rescaled by exp(old - new) and the new row
// added with weight 1, otherwise the row is added with weight exp(s - max); every accumulator
// update is one fused multiply-add in f32 rounded to f16. out = acc * (1 / sum).
void attend_f16_scalar(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride, int64_t n, int64_t hd,
                       float scale, float* out, uint16_t* work) {
  uint16_t* q16 = work;
  uint16_t* acc = work + hd;
  for (int64_t d = 0; d < hd; ++d) {
    q16[d] = fp32_to_fp16(q[d]);
    acc[d] = 0;
  }
  float sum = 0.0f, mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* kj = k + static_cast<size_t>(j) * kv_stride;
    const uint16_t* vj = v + static_cast<size_t>(j) * kv_stride;
    const float s = score_f16(kj, q16, hd) * scale;
    float ms = 1.0f, vs = 1.0f;
    if (s > mx) {
      ms = std::exp(mx - s);
      mx = s;
      for (int64_t d = 0; d < hd; ++d) acc[d] = fp32_to_fp16(fp16_to_fp32(acc[d]) * ms);
    } else {
      vs = std::exp(s - mx);
    }
    for (int64_t d = 0; d < hd; ++d) acc[d] = fp32_to_fp16(std::fma(fp16_to_fp32(vj[d]), vs, fp16_to_fp32(acc[d])));
    sum = std::fma(sum, ms, vs);
  }
  const float inv = sum == 0.0f ? 0.0f : 1.0f / sum;
  for (int64_t d = 0; d < hd; ++d) out[d] = fp16_to_fp32(acc[d]) * inv;
}

const Kernels& kernels_scalar() {
  static const Kernels t = {
      .name = "scalar",
      .act_q8_0 = act_q8_0_scalar,
      .act_q8_k = act_q8_k_scalar,
      .act_f16r = act_f16r_scalar,
      .f32 = gemm_f32_scalar,
      .f16 = gemm_f16_scalar,
      .bf16 = gemm_bf16_scalar,
      .q4_0 = gemm<dot_q_legacy<BlockQ4_0, 8, false, false>>,
      .q4_1 = gemm<dot_q_legacy<BlockQ4_1, 0, true, false>>,
      .q5_0 = gemm<dot_q_legacy<BlockQ5_0, 16, false, true>>,
      .q5_1 = gemm<dot_q_legacy<BlockQ5_1, 0, true, true>>,
      .q8_0 = gemm<dot_q8_0>,
      .q4_k = gemm<dot_qk45<false>>,
      .q5_k = gemm<dot_qk45<true>>,
      .q6_k = gemm<dot_q6_k>,
      .q2_k = gemm<dot_q2_k>,
      .q3_k = gemm<dot_q3_k>,
      .q4_0_p16 = gemm_panels_scalar<false>,
      .q5_0_p16 = gemm_panels_scalar<true>,
      .q4_k_p16 = gemm_kpanels_scalar<DType::q4_k>,
      .q5_k_p16 = gemm_kpanels_scalar<DType::q5_k>,
      .q6_k_p16 = gemm_kpanels_scalar<DType::q6_k>,
      .q2_k_p16 = gemm_kpanels_scalar<DType::q2_k>,
      .q3_k_p16 = gemm_kpanels_scalar<DType::q3_k>,
      .q8_0_p16 = gemm_q8_0_panels_scalar,
      .to_f16 = to_f16_scalar,
      .from_f16 = from_f16_scalar,
      .attend_f16 = attend_f16_scalar,
      .attn_scores = attn_scores_scalar,
      .softmax_rows = softmax_rows_scalar,
      .swiglu = swiglu_scalar,
      .ssm_scan = ssm_scan_scalar,
      .ssm_conv = ssm_conv_scalar,
      .float_tile_m = 32,
  };
  return t;
}

}  // namespace fragua::cpu
