// SPDX-License-Identifier: Apache-2.0
// AdamW with decoupled weight decay (Loshchilov & Hutter 2019), global-norm gradient clipping,
// and the learning-rate schedules: warmup then cosine, and warmup-stable-decay (WSD, Hu et al.
// 2024 "MiniCPM"; Hägele et al. 2024).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/thread_pool.h"
#include "fragua/train/model.h"

namespace fragua::train {

struct AdamWConfig {
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.1f;  // applied to tensors with ParamInfo::decay only
  float grad_clip = 1.0f;     // max global L2 norm; <= 0 disables clipping
};

class AdamW {
 public:
  AdamW(AdamWConfig config, size_t n_params);
  // Clips grads to the global norm, then updates params in place:
  //   p <- p - lr * wd * p;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
  //   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
  // Returns the gradient norm before clipping.
  float step(std::span<float> params, std::span<float> grads, const std::vector<ParamInfo>& infos, float lr,
             ThreadPool* pool);
  std::span<float> m() { return m_; }
  std::span<float> v() { return v_; }
  int64_t t() const { return t_; }
  void set_t(int64_t t) { t_ = t; }
  const AdamWConfig& config() const { return cfg_; }

 private:
  AdamWConfig cfg_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
};

// sqrt(sum g^2), summed in double in a fixed order (deterministic for any thread count).
double global_norm(std::span<const float> g, ThreadPool* pool);

enum class ScheduleKind { cosine, wsd, constant };

struct Schedule {
  ScheduleKind kind = ScheduleKind::cosine;
  float lr = 3e-4f;             // peak learning rate
  float min_lr_ratio = 0.1f;    // final lr = lr * min_lr_ratio
  int64_t warmup = 0;           // steps of linear warmup: lr * (step + 1) / warmup
  int64_t total = 1;            // total optimizer steps
  float decay_fraction = 0.2f;  // WSD: the last fraction of steps decays linearly to the minimum

  // step counts from 0.
  float lr_at(int64_t step) const;
  nlohmann::json to_json() const;
};

Result<ScheduleKind> parse_schedule_kind(const std::string& s);

// The running mean of parameter snapshots, for stochastic weight averaging (Izmailov, Podoprikhin,
// Garipov, Vetrov & Wilson, UAI 2018): add() the weights at chosen points of training (e.g. the end
// of each of the last epochs), then write_mean() puts their mean in place of the weights. Sums are
// kept in double, so the mean of n snapshots is exact up to one final rounding to float.
class WeightAverage {
 public:
  explicit WeightAverage(size_t n_params) : sum_(n_params, 0.0) {}
  void add(std::span<const float> params);
  size_t count() const { return count_; }
  // Writes the mean of the snapshots added so far; leaves params as they are when there are none.
  void write_mean(std::span<float> params) const;

 private:
  std::vector<double> sum_;
  size_t count_ = 0;
};

}  // namespace fragua::train
