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
  parallel_for(opts, static_cast<size_t>(B) * T, [&](size_t b, size_t e) {
    std::vector<float> cs(HS / 2), sn(HS / 2);
    for (size_t bt = b; bt < e; ++bt) {
      int t = static_cast<int>(bt % T);
      for (int i = 0; i < HS / 2; ++i) {
        double theta = t * std::pow(static_cast<double>(base), -2.0 * i / HS);
        cs[i] = static_cast<float>(std::cos(theta));
        sn[i] = sign * static_cast<float>(std::sin(theta));
      }
      for (int h = 0; h < NH; ++h) {
        size_t off = (bt * NH + h) * HS;
        for (int i = 0; i < HS / 2; ++i) {
          float x0 = inp[off + 2 * i], x1 = inp[off + 2 * i + 1];
          float y0 = x0 * cs[i] - x1 * sn[i];
          float y1 = x0 * sn[i] + x1 * cs[i];
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
