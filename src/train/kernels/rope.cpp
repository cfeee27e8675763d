// SPDX-License-Identifier: Apache-2.0
// Rotary position embedding (Su et al. 2021, RoFormer), GGML's "normal" mode used by llama:
// the pair (x[2i], x[2i+1]) of each head at position t is rotated by the angle
// t * base^(-2i/HS). The rotation is orthogonal, so backward rotates by the opposite angle.
#include "fragua/train/kernels.h"

#include <cmath>
#include <vector>

namespace fragua::train::kernels {

namespace {

void rope_rotate(float* out, const float* inp, int B, int T, int NH, int HS, float base, float sign, bool accumulate,
                 const KernelOptions& opts) {
  // The angles depend on (t, i) only: computed once per call for the T positions (the same
  // double-precision expressions as before, so the same floats), not once per batch row.
  const size_t half = static_cast<size_t>(HS / 2);
  std::vector<float> cs(static_cast<size_t>(T) * half), sn(cs.size());
  parallel_for(opts, static_cast<size_t>(T), [&](size_t b, size_t e) {
    for (size_t t = b; t < e; ++t)
      for (size_t i = 0; i < half; ++i) {
        double theta = static_cast<double>(t) * std::pow(static_cast<double>(base), -2.0 * static_cast<double>(i) / HS);
        cs[t * half + i] = static_cast<float>(std::cos(theta));
        sn[t * half + i] = sign * static_cast<float>(std::sin(theta));
      }
  });
  parallel_for(opts, static_cast<size_t>(B) * T, [&](size_t b, size_t e) {
    for (size_t bt = b; bt < e; ++bt) {
      const float* c = cs.data() + (bt % static_cast<size_t>(T)) * half;
      const float* sv = sn.data() + (bt % static_cast<size_t>(T)) * half;
      for (int h = 0; h < NH; ++h) {
        size_t off = (bt * NH + h) * HS;
        for (size_t i = 0; i < half; ++i) {
          float x0 = inp[off + 2 * i], x1 = inp[off + 2 * i + 1];
          float y0 = x0 * c[i] - x1 * sv[i];
          float y1 = x0 * sv[i] + x1 * c[i];
          if (accumulate) {
            out[off + 2 * i] += y0;
            out[off + 2 * i + 1] += y1;
          } else {
            out[off + 2 * i] = y0;
            out[off + 2 * i + 1] = y1;
          }
        }
      }
    }
  });
}

}  // namespace

// out (B,T,NH,HS), inp (B,T,NH,HS)
void rope_forward(float* out, const float* inp, int B, int T, int NH, int HS, float base, const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  rope_rotate(out, inp, B, T, NH, HS, base, 1.0f, false, opts);
}

// dinp (B,T,NH,HS), dout (B,T,NH,HS)
void rope_backward(float* dinp, const float* dout, int B, int T, int NH, int HS, float base,
                   const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::pointwise);
  rope_rotate(dinp, dout, B, T, NH, HS, base, -1.0f, true, opts);
}

}  // namespace fragua::train::kernels
