// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>

#include "fragua/train/optim.h"

namespace fragua::train {

float Schedule::lr_at(int64_t step) const {
  if (step < warmup) return lr * static_cast<float>(step + 1) / static_cast<float>(warmup);
  const double lo = static_cast<double>(lr) * min_lr_ratio;
  switch (kind) {
    case ScheduleKind::constant:
      return lr;
    case ScheduleKind::cosine: {
      double p = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
      p = std::min(1.0, p);
      return static_cast<float>(lo + 0.5 * (lr - lo) * (1.0 + std::cos(M_PI * p)));
    }
    case ScheduleKind::wsd: {
      // Stable at the peak, then a linear decay over the last decay_fraction of the steps.
      int64_t n_decay = std::max<int64_t>(1, static_cast<int64_t>(std::llround(decay_fraction * total)));
      int64_t decay_start = std::max(warmup, total - n_decay);
      if (step < decay_start) return lr;
      double p =
          static_cast<double>(step - decay_start + 1) / static_cast<double>(std::max<int64_t>(1, total - decay_start));
      p = std::min(1.0, p);
      return static_cast<float>(lr + (lo - lr) * p);
    }
  }
  return lr;
}

nlohmann::json Schedule::to_json() const {
  const char* k = kind == ScheduleKind::cosine ? "cosine" : kind == ScheduleKind::wsd ? "wsd" : "constant";
  return {{"kind", k},        {"lr", lr},       {"min_lr_ratio", min_lr_ratio},
          {"warmup", warmup}, {"total", total}, {"decay_fraction", decay_fraction}};
}

Result<ScheduleKind> parse_schedule_kind(const std::string& s) {
  if (s == "cosine") return ScheduleKind::cosine;
  if (s == "wsd") return ScheduleKind::wsd;
  if (s == "constant") return ScheduleKind::constant;
  return invalid_argument_error("unknown learning-rate schedule '{}' (expected cosine, wsd or constant)", s);
}

}  // namespace fragua::train
