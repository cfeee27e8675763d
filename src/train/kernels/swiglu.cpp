// SPDX-License-Identifier: Apache-2.0
// SwiGLU gate (Shazeer 2020): h = silu(g) * u, silu(g) = g * sigmoid(g).
// d silu / dg = s * (1 + g * (1 - s)) with s = sigmoid(g).
#include "fragua/train/kernels.h"

#include <cmath>

namespace fragua::train::kernels {

// out (N,F), gate (N,F), up (N,F)
void swiglu_forward(float* out, const float* gate, const float* up, int N, int F, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  parallel_for(opts, static_cast<size_t>(N) * F, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      float g = gate[i];
      float s = 1.0f / (1.0f + std::exp(-g));
      out[i] = g * s * up[i];
    }
  });
}

// dgate (N,F), dup (N,F), dout (N,F), gate (N,F), up (N,F)
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int N, int F,
                     const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  parallel_for(opts, static_cast<size_t>(N) * F, [&](size_t b, size_t e) {
    for (size_t i = b; i < e; ++i) {
      float g = gate[i];
      float s = 1.0f / (1.0f + std::exp(-g));
      float silu = g * s;
      dup[i] += dout[i] * silu;
      dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    }
  });
}

}  // namespace fragua::train::kernels
