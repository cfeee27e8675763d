// SPDX-License-Identifier: Apache-2.0
// Scalar reference operations: plain loops that read like the maths. The CPU backend's threaded
// versions call into the same per-row functions, so they agree by construction on one row and
// the harness checks the threading and the SIMD matmul around them.
#include <algorithm>
#include <cmath>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/tensor/half.h"

namespace fragua::backend::ref {

void rmsnorm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps, float* y) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i] * xr[i]);  // f32 squares, double sum (as ggml)
    float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(dim)) + eps);
    for (int64_t i = 0; i < dim; ++i) yr[i] = xr[i] * inv * weight[i];
  }
}

// RoFormer rotary embedding (Su et al. 2021). Pair i of a head rotates by angle
// pos * freq_scale * theta_base^(-2i/n_rot) / freq_factors[i], computed as llama.cpp computes it
// so that both engines round alike: theta_scale = powf(theta_base, -2 / n_rot), the angle of
// pair i the running f32 product pos * theta_scale^i, divided by the pair's factor and times
// freq_scale, cos and sin in f32, and each rotated value one fused multiply-add.
void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos, const RopeParams& p) {
  const int64_t n_rot = p.n_rot > 0 ? p.n_rot : head_dim;
  const int64_t half = n_rot / 2;
  const float theta_scale = std::pow(p.theta_base, -2.0f / static_cast<float>(n_rot));
  std::vector<float> cosv(static_cast<size_t>(half)), sinv(static_cast<size_t>(half));
  for (int64_t t = 0; t < n_tokens; ++t) {
    float theta = static_cast<float>(pos[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
      const float angle = p.freq_scale * (theta / ff);
      cosv[static_cast<size_t>(i)] = std::cos(angle);
      sinv[static_cast<size_t>(i)] = std::sin(angle);
      theta *= theta_scale;
    }
    for (int64_t h = 0; h < n_head; ++h) {
      float* v = x + (t * n_head + h) * head_dim;
      for (int64_t i = 0; i < half; ++i) {
        int64_t a = p.mode == RopeMode::normal ? 2 * i : i;
        int64_t b = p.mode == RopeMode::normal ? 2 * i + 1 : i + half;
        float c = cosv[static_cast<size_t>(i)], s = sinv[static_cast<size_t>(i)];
        float x0 = v[a], x1 = v[b];
        v[a] = std::fma(x0, c, -(x1 * s));
        v[b] = std::fma(x0, s, x1 * c);
      }
    }
  }
}

void swiglu(const float* gate, const float* up, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void softmax(float* x, int64_t n) {
  float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attention(const AttentionArgs& a) {
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t q_stride = a.n_head * a.head_dim, kv_stride = a.n_head_kv * a.head_dim;
  std::vector<float> scores(static_cast<size_t>(a.n_kv));
  for (int64_t t = 0; t < a.n_tokens; ++t) {
    int64_t n_seen = std::min<int64_t>(a.pos[t] + 1, a.n_kv);
    for (int64_t h = 0; h < a.n_head; ++h) {
      const float* q = a.q + t * q_stride + h * a.head_dim;
      int64_t g = h / group;
      for (int64_t j = 0; j < n_seen; ++j) {
        const uint16_t* k = a.k + j * kv_stride + g * a.head_dim;
        float s = 0.f;
        for (int64_t d = 0; d < a.head_dim; ++d) s += q[d] * fp16_to_fp32(k[d]);
        scores[static_cast<size_t>(j)] = s * a.scale;
      }
      softmax(scores.data(), n_seen);
      float* out = a.out + t * q_stride + h * a.head_dim;
      std::fill(out, out + a.head_dim, 0.f);
      for (int64_t j = 0; j < n_seen; ++j) {
        const uint16_t* v = a.v + j * kv_stride + g * a.head_dim;
        float w = scores[static_cast<size_t>(j)];
        for (int64_t d = 0; d < a.head_dim; ++d) out[d] += w * fp16_to_fp32(v[d]);
      }
    }
  }
}

}  // namespace fragua::backend::ref
