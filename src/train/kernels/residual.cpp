// SPDX-License-Identifier: Apache-2.0
#include "fragua/train/kernels.h"

namespace fragua::train::kernels {

// out (n) = a + b
void residual_forward(float* out, const float* a, const float* b, size_t n, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  parallel_for(opts, n, [&](size_t s, size_t e) {
    for (size_t i = s; i < e; ++i) out[i] = a[i] + b[i];
  });
}

// da (n) += dout, db (n) += dout
void residual_backward(float* da, float* db, const float* dout, size_t n, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  parallel_for(opts, n, [&](size_t s, size_t e) {
    for (size_t i = s; i < e; ++i) {
      da[i] += dout[i];
      db[i] += dout[i];
    }
  });
}

}  // namespace fragua::train::kernels
