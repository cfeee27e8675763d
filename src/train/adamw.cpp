// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>

#include "fragua/train/optim.h"
#include "train/adamw_update.h"

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
  AdamWUpdate u{clip, b1, b2, 1.0f - b1, 1.0f - b2,
                1.0f - static_cast<float>(std::pow(static_cast<double>(b1), static_cast<double>(t_))),
                1.0f - static_cast<float>(std::pow(static_cast<double>(b2), static_cast<double>(t_))),
                lr, 0.0f, cfg_.eps};
  // One parallel region over all tensors in pieces of at most kAdamWPiece elements (each element's
  // update is independent, so the split does not change a bit), instead of one per tensor.
  constexpr size_t kAdamWPiece = 1 << 15;
  struct Piece {
    size_t offset, size;
    bool decay;
  };
  std::vector<Piece> pieces;
  for (const auto& info : infos)
    for (size_t at = 0; at < info.size; at += kAdamWPiece)
      pieces.push_back({info.offset + at, std::min(kAdamWPiece, info.size - at), info.decay});
  static const bool has_avx512 = __builtin_cpu_supports("avx512f") != 0;
  auto work = [&](size_t b, size_t e) {
    for (size_t pi = b; pi < e; ++pi) {
      const Piece& piece = pieces[pi];
      AdamWUpdate pu = u;
      pu.decay = piece.decay ? lr * cfg_.weight_decay : 0.0f;
      float* p = params.data() + piece.offset;
      const float* g = grads.data() + piece.offset;
      float* m = m_.data() + piece.offset;
      float* v = v_.data() + piece.offset;
      if (has_avx512) {
        adamw_update_avx512(p, g, m, v, piece.size, pu);
        continue;
      }
      for (size_t i = 0; i < piece.size; ++i) {
        const float gi = g[i] * pu.clip;
        m[i] = pu.b1 * m[i] + pu.one_minus_b1 * gi;
        v[i] = pu.b2 * v[i] + pu.one_minus_b2 * gi * gi;
        const float mhat = m[i] / pu.bc1, vhat = v[i] / pu.bc2;
        p[i] -= pu.decay * p[i];
        p[i] -= pu.lr * mhat / (std::sqrt(vhat) + pu.eps);
      }
    }
  };
  if (pool && pool->size() > 1)
    pool->parallel_for(pieces.size(), work);
  else
    work(0, pieces.size());
  return static_cast<float>(norm);
}

}  // namespace fragua::train
