// SPDX-License-Identifier: Apache-2.0
// Token sampling. The chain, in order: repetition/frequency/presence penalties over the last
// `penalty_last_n` tokens, top-k, top-p (nucleus, Holtzman et al. 2020), min-p (relative to the
// most likely token), temperature, then a draw from a seeded generator. temperature <= 0 is
// greedy (argmax after penalties).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::model {

struct SamplerParams {
  float temperature = 0.8f;
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off (CTRL, Keskar et al. 2019)
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t penalty_last_n = 64;
  uint64_t seed = 0;

  Status validate() const;
};

class Sampler {
 public:
  explicit Sampler(SamplerParams params);
  // Picks the next token from logits given the tokens so far (for penalties).
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);
  const SamplerParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;
};

}  // namespace fragua::model
