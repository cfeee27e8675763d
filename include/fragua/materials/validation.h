// SPDX-License-Identifier: Apache-2.0
// The Matbench protocol and its metrics. Matbench v0.1 splits every task with scikit-learn's
// KFold(n_splits=5, shuffle=True, random_state=18012019) (Dunn et al., npj Comput. Mater. 6, 138
// (2020)). KFold shuffles arange(n) with numpy's legacy RandomState(seed).shuffle: MT19937
// seeded by init_genrand(seed), then Fisher-Yates from the end, j drawn by rejection sampling of
// 32-bit outputs masked to the next power of two minus one. Test folds are consecutive slices of
// the shuffled indices, the first n % k folds one longer. We reproduce that bit for bit (checked
// against numpy/sklearn output in tests/reference/materials/).
#pragma once

#include <cstdint>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::materials {

constexpr uint32_t kMatbenchSeed = 18012019;

// The 32-bit Mersenne Twister (Matsumoto & Nishimura 1998), seeded with init_genrand.
class Mt19937 {
 public:
  explicit Mt19937(uint32_t seed);
  uint32_t next_u32();

 private:
  uint32_t mt_[624];
  int idx_;
};

// numpy.random.RandomState(seed).permutation(n) / .shuffle(arange(n)).
std::vector<size_t> numpy_permutation(size_t n, uint32_t seed);

// fold[i] = index of the test fold that holds sample i (sklearn KFold semantics).
Result<std::vector<int>> kfold_assignment(size_t n, int n_splits, bool shuffle, uint32_t seed);

double mean_absolute_error(const std::vector<double>& y, const std::vector<double>& pred);
double root_mean_squared_error(const std::vector<double>& y, const std::vector<double>& pred);
// Area under the ROC curve (labels 0/1; ties in score count one half: the Mann-Whitney U
// statistic with average ranks). NaN when only one class is present.
double roc_auc(const std::vector<double>& labels, const std::vector<double>& score);

}  // namespace fragua::materials
