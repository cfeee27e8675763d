// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/sampler.h"

#include <algorithm>
#include <cmath>

namespace fragua::model {
namespace {

// The ranking every step uses: higher logit first, ties by lower id (deterministic).
struct SamplerRank {
  template <class C>
  bool operator()(const C& a, const C& b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};

// NaN logits (hostile or overflowing weights, or an infinite penalty times 0) rank last.
inline float sampler_clean_logit(float l) { return std::isnan(l) ? -INFINITY : l; }

}  // namespace

Status SamplerParams::validate() const {
  if (!std::isfinite(temperature)) return invalid_argument_error("temperature must be finite");
  if (top_p <= 0.0f) return invalid_argument_error("top-p must be in (0, 1], got {}", top_p);
  if (min_p < 0.0f || min_p > 1.0f) return invalid_argument_error("min-p must be in [0, 1], got {}", min_p);
  if (repeat_penalty <= 0.0f) return invalid_argument_error("repeat penalty must be positive, got {}", repeat_penalty);
  return {};
}

Sampler::Sampler(SamplerParams params) : params_(params), rng_(params.seed) {}

// visit(id, logit) for every token in id order, with the penalised logits of the window's tokens
// in place of the raw ones and NaN as -inf.
template <class F>
void Sampler::scan_logits(std::span<const float> logits, F&& visit) const {
  const auto n = static_cast<int32_t>(logits.size());
  int32_t i = 0;
  for (const auto& [id, l] : penalized_) {
    for (; i < id; ++i) visit(i, sampler_clean_logit(logits[static_cast<size_t>(i)]));
    visit(id, l);
    i = id + 1;
  }
  for (; i < n; ++i) visit(i, sampler_clean_logit(logits[static_cast<size_t>(i)]));
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto n = static_cast<int32_t>(logits.size());
  const SamplerParams& p = params_;

  // Penalties over the recent window, on the window's distinct tokens only.
  penalized_.clear();
  if (p.repeat_penalty != 1.0f || p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f) {
    const size_t window =
        p.penalty_last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(p.penalty_last_n));
    window_.assign(history.end() - static_cast<ptrdiff_t>(window), history.end());
    std::sort(window_.begin(), window_.end());
    for (size_t i = 0; i < window_.size();) {
      size_t j = i;
      while (j < window_.size() && window_[j] == window_[i]) ++j;
      const int32_t id = window_[i];
      const auto count = static_cast<float>(j - i);
      i = j;
      if (id < 0 || id >= n) continue;
      float l = logits[static_cast<size_t>(id)];
      l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
      l -= count * p.frequency_penalty + p.presence_penalty;
      penalized_.emplace_back(id, sampler_clean_logit(l));
    }
  }

  if (p.temperature <= 0.0f) {  // argmax, ties to the lowest id
    // The largest value first (a branch-free loop the compiler vectorises; NaN never compares
    // greater), then the first token that has it.
    float best_l = -INFINITY;
    size_t from = 0;
    auto raw_max = [&](size_t to) {
      size_t i = from;
      float lane[16];
      std::fill(lane, lane + 16, -INFINITY);
      for (; i + 16 <= to; i += 16)
        for (int j = 0; j < 16; ++j) lane[j] = logits[i + j] > lane[j] ? logits[i + j] : lane[j];
      for (; i < to; ++i) best_l = logits[i] > best_l ? logits[i] : best_l;
      for (float l : lane) best_l = std::max(best_l, l);
    };
    for (const auto& [id, l] : penalized_) {
      raw_max(static_cast<size_t>(id));
      best_l = std::max(best_l, l);
      from = static_cast<size_t>(id) + 1;
    }
    raw_max(logits.size());
    if (best_l == -INFINITY) return 0;
    size_t i = 0;
    for (const auto& [id, l] : penalized_) {
      for (; i < static_cast<size_t>(id); ++i)
        if (logits[i] == best_l) return static_cast<int32_t>(i);
      if (l == best_l) return id;
      i = static_cast<size_t>(id) + 1;
    }
    for (; i < logits.size(); ++i)
      if (logits[i] == best_l) return static_cast<int32_t>(i);
    return 0;  // not reached: best_l is one of the values
  }
  if (p.top_k > 0 && p.top_k < n) return sample_top_k(logits, static_cast<size_t>(p.top_k));
  return sample_all(logits);
}

// Top-k: the k best in one pass through a heap whose root is the worst kept (ids arrive in
// increasing order, so a newcomer that ties the root ranks below it and only a strictly larger
// logit enters), then the k sorted; the rest of the chain on them.
int32_t Sampler::sample_top_k(std::span<const float> logits, size_t k) {
  const SamplerParams& p = params_;
  cand_.clear();
  cand_.reserve(k);
  SamplerRank ranked;
  scan_logits(logits, [&](int32_t id, float l) {
    if (cand_.size() < k) {
      cand_.push_back({id, l, 0.0f});
      std::push_heap(cand_.begin(), cand_.end(), ranked);
    } else if (l > cand_.front().logit) {
      std::pop_heap(cand_.begin(), cand_.end(), ranked);
      cand_.back() = {id, l, 0.0f};
      std::push_heap(cand_.begin(), cand_.end(), ranked);
    }
  });
  std::sort(cand_.begin(), cand_.end(), ranked);

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
    size_t kept = 0;
    while (kept < cand_.size()) {
      cum += cand_[kept].p;
      ++kept;
      if (cum >= p.top_p) break;
    }
    cand_.resize(std::max<size_t>(1, kept));
  }
  if (p.min_p > 0.0f) {
    const float floor = p.min_p * cand_[0].p;
    size_t kept = 1;
    while (kept < cand_.size() && cand_[kept].p >= floor) ++kept;
    cand_.resize(kept);
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

// No top-k: the whole vocabulary is a candidate, so nothing is sorted. e = exp(l - max) for each
// token (the probability times the sum), min-p keeps e >= min_p (the best token has e = 1), and
// the nucleus is the shortest run of best-ranked tokens whose mass reaches top_p of the total,
// found by partitioning around pivots (expected linear; a range that keeps not shrinking is
// sorted instead, so hostile logits cost n log n at worst).
int32_t Sampler::sample_all(std::span<const float> logits) {
  const SamplerParams& p = params_;
  float mx = -INFINITY;
  int32_t best = 0;
  scan_logits(logits, [&](int32_t id, float l) {
    if (l > mx) mx = l, best = id;
  });
  if (mx == -INFINITY) return best;  // every logit -inf or NaN: no distribution to draw from

  cand_.clear();
  double total = 0.0;
  const float floor = p.min_p > 0.0f ? p.min_p : 0.0f;
  scan_logits(logits, [&](int32_t id, float l) {
    const float e = std::exp(l - mx);
    total += e;
    if (e >= floor && e > 0.0f) cand_.push_back({id, l, e});
  });

  size_t kept = cand_.size();
  if (p.top_p < 1.0f) {
    const double target = static_cast<double>(p.top_p) * total;
    SamplerRank ranked;
    size_t lo = 0, hi = cand_.size();
    double before = 0.0;  // mass of cand_[0, lo), every one of which ranks above cand_[lo, hi)
    bool found = false;
    int rounds = 0;
    while (hi - lo > 32 && rounds < 64) {
      ++rounds;
      const size_t mid = lo + (hi - lo) / 2;
      // Median of three as the pivot, moved to hi - 1.
      Candidate* a = &cand_[lo];
      Candidate* b = &cand_[mid];
      Candidate* c = &cand_[hi - 1];
      if (ranked(*b, *a)) std::swap(a, b);
      if (ranked(*c, *b)) std::swap(b, c);
      if (ranked(*b, *a)) std::swap(a, b);
      std::swap(*b, cand_[hi - 1]);
      const Candidate pivot = cand_[hi - 1];
      size_t m = lo;
      double mass = 0.0;
      for (size_t i = lo; i + 1 < hi; ++i)
        if (ranked(cand_[i], pivot)) {
          mass += cand_[i].p;
          std::swap(cand_[i], cand_[m++]);
        }
      std::swap(cand_[m], cand_[hi - 1]);  // pivot at m: [lo, m) above it, (m, hi) below
      if (before + mass >= target) {
        hi = m;
      } else if (before + mass + pivot.p >= target) {
        kept = m + 1;
        found = true;
        break;
      } else {
        before += mass + pivot.p;
        lo = m + 1;
      }
    }
    if (!found) {
      std::sort(cand_.begin() + static_cast<ptrdiff_t>(lo), cand_.begin() + static_cast<ptrdiff_t>(hi), ranked);
      kept = hi;
      for (size_t i = lo; i < hi; ++i) {
        before += cand_[i].p;
        if (before >= target) {
          kept = i + 1;
          break;
        }
      }
    }
    kept = std::max<size_t>(1, kept);
  }

  // Temperature over the kept tokens, then the draw in their order.
  double sum = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    Candidate& c = cand_[i];
    c.p = p.temperature == 1.0f ? c.p : std::exp((c.logit - mx) / p.temperature);
    sum += c.p;
  }
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double r = u(rng_) * sum;
  double cum = 0.0;
  for (size_t i = 0; i < kept; ++i) {
    cum += cand_[i].p;
    if (r < cum) return cand_[i].id;
  }
  return cand_[kept - 1].id;
}

}  // namespace fragua::model
