// SPDX-License-Identifier: Apache-2.0
// Token embedding lookup: forward gathers rows, backward scatters the gradient back into them.
#include "fragua/train/kernels.h"

#include <cstring>

namespace fragua::train::kernels {

void parallel_for(const KernelOptions& opts, size_t n, const std::function<void(size_t, size_t)>& fn) {
  if (opts.pool && opts.pool->size() > 1 && n > 1)
    opts.pool->parallel_for(n, fn);
  else
    fn(0, n);
}

// out (N,C), tokens (N), wte (V,C)
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int N, int C, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n)
      std::memcpy(out + n * C, wte + static_cast<size_t>(tokens[n]) * C, sizeof(float) * C);
  });
}

// dwte (V,C), dout (N,C), tokens (N). Threads split the channels, not the rows, so two rows
// with the same token never race and the summation order is fixed (deterministic).
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int N, int C, int V,
                        const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  (void)V;
  parallel_for(opts, static_cast<size_t>(C), [&](size_t cb, size_t ce) {
    for (int n = 0; n < N; ++n) {
      float* dst = dwte + static_cast<size_t>(tokens[n]) * C;
      const float* src = dout + static_cast<size_t>(n) * C;
      for (size_t c = cb; c < ce; ++c) dst[c] += src[c];
    }
  });
}

}  // namespace fragua::train::kernels
