// SPDX-License-Identifier: Apache-2.0
// RMSNorm (Zhang & Sennrich 2019): y = x * r * w with r = 1 / sqrt(mean(x^2) + eps).
// Backward, with g = dy * w:  dx = r * g - x * r^3 * mean(g * x),  dw += dy * x * r.
#include "fragua/train/kernels.h"

#include <cmath>

namespace fragua::train::kernels {

// out (N,C), rstd (N), inp (N,C), weight (C)
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps,
                     const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::norms);
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n) {
      const float* x = inp + n * C;
      float* y = out + n * C;
      double ss = 0;  // double: the mean of squares over C up to thousands of channels
      for (int c = 0; c < C; ++c) ss += static_cast<double>(x[c]) * x[c];
      float r = static_cast<float>(1.0 / std::sqrt(ss / C + eps));
      for (int c = 0; c < C; ++c) y[c] = x[c] * r * weight[c];
      rstd[n] = r;
    }
  });
}

// dinp (N,C), dweight (C), dout (N,C), inp (N,C), weight (C), rstd (N)
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::norms);
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n) {
      const float* x = inp + n * C;
      const float* dy = dout + n * C;
      float r = rstd[n];
      double dot = 0;  // sum(g * x)
      for (int c = 0; c < C; ++c) dot += static_cast<double>(dy[c]) * weight[c] * x[c];
      float k = static_cast<float>(dot / C) * r * r * r;
      float* dx = dinp + n * C;
      for (int c = 0; c < C; ++c) dx[c] += r * dy[c] * weight[c] - k * x[c];
    }
  });
  // The weight gradient sums over rows: threads split the channels so the order is fixed.
  parallel_for(opts, static_cast<size_t>(C), [&](size_t cb, size_t ce) {
    for (int n = 0; n < N; ++n) {
      const float* x = inp + static_cast<size_t>(n) * C;
      const float* dy = dout + static_cast<size_t>(n) * C;
      float r = rstd[n];
      for (size_t c = cb; c < ce; ++c) dweight[c] += dy[c] * x[c] * r;
    }
  });
}

}  // namespace fragua::train::kernels
