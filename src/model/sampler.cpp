// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace fragua::model {

Status SamplerParams::validate() const {
  if (!std::isfinite(temperature)) return invalid_argument_error("temperature must be finite");
  if (top_p <= 0.0f) return invalid_argument_error("top-p must be in (0, 1], got {}", top_p);
  if (min_p < 0.0f || min_p > 1.0f) return invalid_argument_error("min-p must be in [0, 1], got {}", min_p);
  if (repeat_penalty <= 0.0f) return invalid_argument_error("repeat penalty must be positive, got {}", repeat_penalty);
  return {};
}

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) {}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto n = static_cast<int32_t>(logits.size());
  cand_.resize(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) cand_[static_cast<size_t>(i)] = {i, logits[static_cast<size_t>(i)], 0.0f};

  // Penalties over the recent window.
  const SamplerParams& p = params_;
  if (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    size_t window =
        p.penalty_last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(p.penalty_last_n));
    std::unordered_map<int32_t, int> counts;
    for (size_t i = history.size() - window; i < history.size(); ++i) counts[history[i]]++;
    for (auto [id, count] : counts) {
      if (id < 0 || id >= n) continue;
      float& l = cand_[static_cast<size_t>(id)].logit;
      l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
      l -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
    }
  }

  // NaN logits (hostile or overflowing weights, or an infinite penalty times 0) would break the
  // strict weak ordering std::sort needs (undefined behaviour, out-of-bounds reads in practice):
  // they rank last.
  for (auto& c : cand_)
    if (std::isnan(c.logit)) c.logit = -INFINITY;

  if (p.temperature <= 0.0f) {
    auto best = std::max_element(cand_.begin(), cand_.end(), [](const Candidate& a, const Candidate& b) {
      return a.logit < b.logit || (a.logit == b.logit && a.id > b.id);
    });
    return best->id;
  }

  // Sort by logit (ties by id, for determinism); top-k keeps a prefix.
  size_t keep = cand_.size();
  auto by_logit = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (p.top_k > 0 && static_cast<size_t>(p.top_k) < keep) {
    keep = static_cast<size_t>(p.top_k);
    std::partial_sort(cand_.begin(), cand_.begin() + static_cast<ptrdiff_t>(keep), cand_.end(), by_logit);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  cand_.resize(keep);

  auto softmax = [&](float temp) {
    const float mx = cand_[0].logit;
    double sum = 0.0;
    for (auto& c : cand_) {
      c.p = std::exp((c.logit - mx) / temp);
      sum += c.p;
    }
    for (auto& c : cand_) c.p = static_cast<float>(c.p / sum);
  };
  softmax(1.0f);
  if (p.top_p < 1.0f) {
    double cum = 0.0;
    size_t k = 0;
    while (k < cand_.size()) {
      cum += cand_[k].p;
      ++k;
      if (cum >= p.top_p) break;
    }
    cand_.resize(std::max<size_t>(1, k));
  }
  if (p.min_p > 0.0f) {
    const float floor = p.min_p * cand_[0].p;
    size_t k = 1;
    while (k < cand_.size() && cand_[k].p >= floor) ++k;
    cand_.resize(k);
  }
  softmax(p.temperature);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  double r = u(rng_), cum = 0.0;
  for (const auto& c : cand_) {
    cum += c.p;
    if (r < cum) return c.id;
  }
  return cand_.back().id;
}

}  // namespace fragua::model
