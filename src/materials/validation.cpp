// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/validation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace fragua::materials {

Mt19937::Mt19937(uint32_t seed) {
  mt_[0] = seed;
  for (int i = 1; i < 624; ++i) mt_[i] = 1812433253u * (mt_[i - 1] ^ (mt_[i - 1] >> 30)) + static_cast<uint32_t>(i);
  idx_ = 624;
}

uint32_t Mt19937::next_u32() {
  if (idx_ >= 624) {
    for (int i = 0; i < 624; ++i) {
      uint32_t y = (mt_[i] & 0x80000000u) | (mt_[(i + 1) % 624] & 0x7fffffffu);
      mt_[i] = mt_[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
    }
    idx_ = 0;
  }
  uint32_t y = mt_[idx_++];
  y ^= y >> 11;
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= y >> 18;
  return y;
}

std::vector<size_t> numpy_permutation(size_t n, uint32_t seed) {
  std::vector<size_t> idx(n);
  std::iota(idx.begin(), idx.end(), size_t{0});
  Mt19937 rng(seed);
  for (size_t i = n; i-- > 1;) {
    // numpy's random_interval(max = i): mask to the smallest 2^k - 1 >= i, reject above i.
    uint64_t mask = i;
    for (int s = 1; s <= 32; s <<= 1) mask |= mask >> s;
    uint64_t j;
    do {
      j = rng.next_u32() & mask;
    } while (j > i);
    std::swap(idx[i], idx[j]);
  }
  return idx;
}

Result<std::vector<int>> kfold_assignment(size_t n, int n_splits, bool shuffle, uint32_t seed) {
  if (n_splits < 2) return invalid_argument_error("k-fold needs at least 2 folds, got {}", n_splits);
  if (n < static_cast<size_t>(n_splits))
    return invalid_argument_error("{} samples cannot be split into {} folds", n, n_splits);
  if (n > 0xffffffffu) return invalid_argument_error("too many samples for k-fold ({})", n);
  std::vector<size_t> order(n);
  if (shuffle)
    order = numpy_permutation(n, seed);
  else
    std::iota(order.begin(), order.end(), size_t{0});
  std::vector<int> fold(n);
  size_t k = static_cast<size_t>(n_splits), pos = 0;
  for (size_t f = 0; f < k; ++f) {
    size_t len = n / k + (f < n % k ? 1 : 0);
    for (size_t i = 0; i < len; ++i) fold[order[pos++]] = static_cast<int>(f);
  }
  return fold;
}

double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& pred) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += std::fabs(y[i] - pred[i]);
  return y.empty() ? std::numeric_limits<double>::quiet_NaN() : s / static_cast<double>(y.size());
}

double root_mean_squared_error(const std::vector<double>& y, const std::vector<double>& pred) {
  double s = 0;
  for (size_t i = 0; i < y.size(); ++i) s += (y[i] - pred[i]) * (y[i] - pred[i]);
  return y.empty() ? std::numeric_limits<double>::quiet_NaN() : std::sqrt(s / static_cast<double>(y.size()));
}

double roc_auc(const std::vector<double>& labels, const std::vector<double>& score) {
  size_t n = labels.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return score[a] < score[b]; });
  // Average ranks over ties, then U = sum of positive ranks - n_pos (n_pos + 1) / 2.
  double rank_sum_pos = 0, n_pos = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && score[order[j]] == score[order[i]]) ++j;
    double avg_rank = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2.0 + 1.0;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]] > 0.5) {
        rank_sum_pos += avg_rank;
        n_pos += 1;
      }
    i = j;
  }
  double n_neg = static_cast<double>(n) - n_pos;
  if (n_pos == 0 || n_neg == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum_pos - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg);
}

}  // namespace fragua::materials
