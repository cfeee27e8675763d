// SPDX-License-Identifier: Apache-2.0
#include <cmath>

#include "fragua/train/optim.h"

namespace fragua::train {

double global_norm(std::span<const float> g, ThreadPool* pool) {
  // Fixed chunks summed in index order: the same result whatever the thread count.
  constexpr size_t kChunk = 1 << 16;
  size_t n_chunks = (g.size() + kChunk - 1) / kChunk;
  std::vector<double> partial(n_chunks, 0.0);
  auto work = [&](size_t b, size_t e) {
    for (size_t c = b; c < e; ++c) {
      double s = 0;
      size_t end = std::min(g.size(), (c + 1) * kChunk);
      for (size_t i = c * kChunk; i < end; ++i) s += static_cast<double>(g[i]) * g[i];
      partial[c] = s;
    }
  };
  if (pool && pool->size() > 1)
    pool->parallel_for(n_chunks, work);
  else
    work(0, n_chunks);
  double total = 0;
  for (double p : partial) total += p;
  return std::sqrt(total);
}

AdamW::AdamW(AdamWConfig config, size_t n_params) : cfg_(config), m_(n_params, 0.0f), v_(n_params, 0.0f) {}

float AdamW::step(std::span<float> params, std::span<float> grads, const std::vector<ParamInfo>& infos, float lr,
                  ThreadPool* pool) {
  double norm = global_norm(grads, pool);
  // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6) when that is < 1.
  float clip = 1.0f;
  if (cfg_.grad_clip > 0) {
    double c = cfg_.grad_clip / (norm + 1e-6);
    if (c < 1.0) clip = static_cast<float>(c);
  }
  ++t_;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2;
  const float bc1 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b1), static_cast<double>(t_)));
  const float bc2 = 1.0f - static_cast<float>(std::pow(static_cast<double>(b2), static_cast<double>(t_)));
  for (const auto& info : infos) {
    const float decay = info.decay ? lr * cfg_.weight_decay : 0.0f;
    float* p = params.data() + info.offset;
    float* g = grads.data() + info.offset;
    float* m = m_.data() + info.offset;
    float* v = v_.data() + info.offset;
    auto work = [&](size_t b, size_t e) {
      for (size_t i = b; i < e; ++i) {
        float gi = g[i] * clip;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float mhat = m[i] / bc1, vhat = v[i] / bc2;
        p[i] -= decay * p[i];
        p[i] -= lr * mhat / (std::sqrt(vhat) + cfg_.eps);
      }
    };
    if (pool && pool->size() > 1 && info.size > 4096)
      pool->parallel_for(info.size, work);
    else
      work(0, info.size);
  }
  return static_cast<float>(norm);
}

}  // namespace fragua::train
