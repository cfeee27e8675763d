// SPDX-License-Identifier: Apache-2.0
// Causal scaled dot-product attention (Vaswani et al. 2017) with grouped-query attention
// (Ainslie et al. 2023): query head h uses key/value head h / (NH / NKV).
//   forward:  att[t, t2] = softmax_{t2 <= t}(q_t . k_t2 / sqrt(HS)),  out_t = sum att[t, t2] v_t2
//   backward: datt = dout_t . v_t2;  dv_t2 += att dout_t;
//             dpre = att * (datt - sum(att * datt))   (softmax Jacobian)
//             dq_t += dpre k_t2 / sqrt(HS);  dk_t2 += dpre q_t / sqrt(HS)
#include "fragua/train/kernels.h"

#include <cmath>
#include <vector>

namespace fragua::train::kernels {

namespace {

inline float attn_dot(const float* a, const float* b, int n) {
  float acc[4] = {0, 0, 0, 0};
  int i = 0;
  for (; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) acc[j] += a[i + j] * b[i + j];
  float s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

// out (B,T,NH,HS), att (B,NH,T,T), q (B,T,NH,HS), k v (B,T,NKV,HS)
void attention_forward(float* out, float* att, const float* q, const float* k, const float* v, int B, int T, int NH,
                       int NKV, int HS, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const int group = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(opts, static_cast<size_t>(B) * NH * T, [&](size_t s, size_t e) {
    for (size_t idx = s; idx < e; ++idx) {
      int t = static_cast<int>(idx % T);
      int h = static_cast<int>((idx / T) % NH);
      int b = static_cast<int>(idx / (static_cast<size_t>(T) * NH));
      int g = h / group;
      const float* qt = q + ((static_cast<size_t>(b) * T + t) * NH + h) * HS;
      float* a = att + ((static_cast<size_t>(b) * NH + h) * T + t) * T;
      float mx = -INFINITY;
      for (int t2 = 0; t2 <= t; ++t2) {
        const float* kt = k + ((static_cast<size_t>(b) * T + t2) * NKV + g) * HS;
        a[t2] = attn_dot(qt, kt, HS) * scale;
        mx = std::max(mx, a[t2]);
      }
      float sum = 0;
      for (int t2 = 0; t2 <= t; ++t2) {
        a[t2] = std::exp(a[t2] - mx);
        sum += a[t2];
      }
      float inv = 1.0f / sum;
      for (int t2 = 0; t2 <= t; ++t2) a[t2] *= inv;
      for (int t2 = t + 1; t2 < T; ++t2) a[t2] = 0;
      float* o = out + ((static_cast<size_t>(b) * T + t) * NH + h) * HS;
      for (int i = 0; i < HS; ++i) o[i] = 0;
      for (int t2 = 0; t2 <= t; ++t2) {
        const float* vt = v + ((static_cast<size_t>(b) * T + t2) * NKV + g) * HS;
        float w = a[t2];
        for (int i = 0; i < HS; ++i) o[i] += w * vt[i];
      }
    }
  });
}

// dq (B,T,NH,HS), dk dv (B,T,NKV,HS), dout (B,T,NH,HS), att (B,NH,T,T), q k v as in forward.
// Work is split by (batch, key/value head): each unit owns its dk/dv rows and the dq rows of
// the query heads in its group, so no two threads write the same element.
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                        const float* k, const float* v, int B, int T, int NH, int NKV, int HS,
                        const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::attention);
  const int group = NH / NKV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(HS));
  parallel_for(opts, static_cast<size_t>(B) * NKV, [&](size_t s, size_t e) {
    std::vector<float> datt(T);
    for (size_t unit = s; unit < e; ++unit) {
      int b = static_cast<int>(unit / NKV), g = static_cast<int>(unit % NKV);
      for (int h = g * group; h < (g + 1) * group; ++h) {
        for (int t = 0; t < T; ++t) {
          size_t qoff = ((static_cast<size_t>(b) * T + t) * NH + h) * HS;
          const float* a = att + ((static_cast<size_t>(b) * NH + h) * T + t) * T;
          const float* go = dout + qoff;
          float sum = 0;
          for (int t2 = 0; t2 <= t; ++t2) {
            size_t kv = ((static_cast<size_t>(b) * T + t2) * NKV + g) * HS;
            datt[t2] = attn_dot(go, v + kv, HS);
            sum += a[t2] * datt[t2];
            float w = a[t2];
            for (int i = 0; i < HS; ++i) dv[kv + i] += w * go[i];
          }
          for (int t2 = 0; t2 <= t; ++t2) {
            size_t kv = ((static_cast<size_t>(b) * T + t2) * NKV + g) * HS;
            float dpre = a[t2] * (datt[t2] - sum) * scale;
            for (int i = 0; i < HS; ++i) {
              dq[qoff + i] += dpre * k[kv + i];
              dk[kv + i] += dpre * q[qoff + i];
            }
          }
        }
      }
    }
  });
}

}  // namespace fragua::train::kernels
