// SPDX-License-Identifier: Apache-2.0
// Softmax + cross-entropy over the vocabulary, fused as in llm.c: the backward of the pair is
// dlogits = probs - onehot(target), scaled by the gradient of the (mean) loss.
#include "fragua/train/kernels.h"

#include <cmath>

namespace fragua::train::kernels {

// losses (N), probs (N,V) (may alias logits), logits (N,V), targets (N)
void crossentropy_forward(float* losses, float* probs, const float* logits, const int32_t* targets, int N, int V,
                          const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::loss);
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n) {
      const float* z = logits + n * V;
      float* p = probs + n * V;
      float zt = losses ? z[targets[n]] : 0.0f;  // read before p overwrites an aliased z
      float mx = z[0];
      for (int v = 1; v < V; ++v) mx = std::max(mx, z[v]);
      double sum = 0;
      for (int v = 0; v < V; ++v) {
        p[v] = std::exp(z[v] - mx);
        sum += p[v];
      }
      float inv = static_cast<float>(1.0 / sum);
      for (int v = 0; v < V; ++v) p[v] *= inv;
      if (losses) {
        // log-sum-exp form: exact even where p[target] underflows to 0.
        losses[n] = static_cast<float>(std::log(sum)) - (zt - mx);
      }
    }
  });
}

// dlogits (N,V), probs (N,V), targets (N)
void crossentropy_backward(float* dlogits, const float* probs, const int32_t* targets, float dloss, int N, int V,
                           const KernelOptions& opts) {
  const ProfileScope profile_scope(opts.profile, ProfilePart::loss);
  parallel_for(opts, static_cast<size_t>(N), [&](size_t b, size_t e) {
    for (size_t n = b; n < e; ++n) {
      const float* p = probs + n * V;
      float* d = dlogits + n * V;
      for (int v = 0; v < V; ++v) d[v] += p[v] * dloss;
      d[targets[n]] -= dloss;
    }
  });
}

}  // namespace fragua::train::kernels
