// SPDX-License-Identifier: Apache-2.0
#include <cassert>

#include "fragua/train/optim.h"

namespace fragua::train {

void WeightAverage::add(std::span<const float> params) {
  assert(params.size() == sum_.size());
  for (size_t i = 0; i < sum_.size(); ++i) sum_[i] += params[i];
  ++count_;
}

void WeightAverage::write_mean(std::span<float> params) const {
  assert(params.size() == sum_.size());
  if (count_ == 0) return;
  const double n = static_cast<double>(count_);
  for (size_t i = 0; i < sum_.size(); ++i) params[i] = static_cast<float>(sum_[i] / n);
}

}  // namespace fragua::train
