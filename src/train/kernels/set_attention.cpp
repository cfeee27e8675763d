// SPDX-License-Identifier: Apache-2.0
// Bidirectional scaled dot-product attention over padded sets (the encoder of Vaswani et al.
// 2017 with a key padding mask): batch row b holds len[b] valid items at t < len[b]; the rest
// is padding. Every valid query attends to every valid key; padded keys get probability 0 and
// padded queries output 0 (and pass no gradient). Used by models whose inputs are unordered
// sets, such as the element tokens of a chemical composition (materials/element_transformer).
//   forward:  att[i, j] = softmax_{j < len}(q_i . k_j / sqrt(HS)),  out_i = sum_j att[i, j] v_j
//   backward: datt = dout_i . v_j;  dv_j += att dout_i;  dpre = att * (datt - sum(att * datt));
//             dq_i += dpre k_j / sqrt(HS);  dk_j += dpre q_i / sqrt(HS)
#include <cmath>
#include <cstring>
#include <vector>

#include "fragua/train/kernels.h"

namespace fragua::train::kernels {

namespace {

inline float set_attn_dot(const float* a, const float* b, int n) {
  float s = 0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

// out (B,T,NH,HS), att (B,NH,T,T), q k v (B,T,NH,HS), len (B)
void set_attention_forward(float* out, float* att, const float* q, const float* k, const float* v, const int32_t* len,
                           int B, int T, int NH, int HS, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const size_t row = static_cast<size_t>(NH) * HS;
  parallel_for(opts, static_cast<size_t>(B) * NH, [&](size_t s, size_t e) {
    for (size_t bh = s; bh < e; ++bh) {
      const int b = static_cast<int>(bh / NH), h = static_cast<int>(bh % NH), n = len[b];
      const size_t base = static_cast<size_t>(b) * T * row + static_cast<size_t>(h) * HS;
      for (int i = 0; i < T; ++i) {
        float* a = att + (bh * T + i) * T;
        float* o = out + base + i * row;
        std::memset(a, 0, sizeof(float) * T);
        std::memset(o, 0, sizeof(float) * HS);
        if (i >= n) continue;
        const float* qi = q + base + i * row;
        float mx = -INFINITY;
        for (int j = 0; j < n; ++j) {
          a[j] = set_attn_dot(qi, k + base + j * row, HS) * scale;
          mx = std::max(mx, a[j]);
        }
        float sum = 0;
        for (int j = 0; j < n; ++j) sum += (a[j] = std::exp(a[j] - mx));
        const float inv = 1.0f / sum;
        for (int j = 0; j < n; ++j) {
          a[j] *= inv;
          const float* vj = v + base + j * row;
          for (int d = 0; d < HS; ++d) o[d] += a[j] * vj[d];
        }
      }
    }
  });
}

void set_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                            const float* k, const float* v, const int32_t* len, int B, int T, int NH, int HS,
                            const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  const size_t row = static_cast<size_t>(NH) * HS;
  // Each (b, h) owns its slices of dq, dk and dv: no two tasks write the same element.
  parallel_for(opts, static_cast<size_t>(B) * NH, [&](size_t s, size_t e) {
    std::vector<float> datt(T);
    for (size_t bh = s; bh < e; ++bh) {
      const int b = static_cast<int>(bh / NH), h = static_cast<int>(bh % NH), n = len[b];
      const size_t base = static_cast<size_t>(b) * T * row + static_cast<size_t>(h) * HS;
      for (int i = 0; i < n; ++i) {
        const float* a = att + (bh * T + i) * T;
        const float* doi = dout + base + i * row;
        float acc = 0;
        for (int j = 0; j < n; ++j) {
          datt[j] = set_attn_dot(doi, v + base + j * row, HS);
          acc += a[j] * datt[j];
          float* dvj = dv + base + j * row;
          for (int d = 0; d < HS; ++d) dvj[d] += a[j] * doi[d];
        }
        const float* qi = q + base + i * row;
        float* dqi = dq + base + i * row;
        for (int j = 0; j < n; ++j) {
          const float g = a[j] * (datt[j] - acc) * scale;
          const float* kj = k + base + j * row;
          float* dkj = dk + base + j * row;
          for (int d = 0; d < HS; ++d) {
            dqi[d] += g * kj[d];
            dkj[d] += g * qi[d];
          }
        }
      }
    }
  });
}

}  // namespace fragua::train::kernels
