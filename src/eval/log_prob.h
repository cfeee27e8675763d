// SPDX-License-Identifier: Apache-2.0
// The log-softmax that every measure in eval/ scores with.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>

namespace fragua::eval {

// log sum exp(logits), in double, shifted by the maximum (exact for any finite logits, where a
// float sum of exp() would overflow past 88).
inline double log_sum_exp(std::span<const float> logits) {
  double mx = -INFINITY;
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return mx + std::log(sum);
}

// -log softmax(logits)[target].
inline double token_nats(std::span<const float> logits, int32_t target) {
  return log_sum_exp(logits) - static_cast<double>(logits[static_cast<size_t>(target)]);
}

}  // namespace fragua::eval
