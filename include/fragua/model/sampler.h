// SPDX-License-Identifier: Apache-2.0
// Token sampling. The chain, in order: repetition/frequency/presence penalties over the last
// `penalty_last_n` tokens, top-k, top-p (nucleus, Holtzman et al. 2020), min-p (relative to the
// most likely token), temperature, then a draw from a seeded generator. temperature <= 0 is
// greedy (argmax after penalties).
// Cost per token, for vocabularies of 256k (issue 13): linear in the vocabulary, nothing sorted
// but the tokens kept. Greedy is one pass over the logits; top-k one pass with a k-entry heap,
// then the k sorted; without top-k, passes for the maximum and the exponentials, then the nucleus
// found by a weighted selection (no sort of the vocabulary), and the draw walks the kept tokens
// in the order that selection leaves them (a fixed function of the logits, so one seed gives one
// stream on every machine and thread count).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <utility>
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
  int32_t sample_top_k(std::span<const float> logits, size_t k);
  int32_t sample_all(std::span<const float> logits);
  template <class F>
  void scan_logits(std::span<const float> logits, F&& visit) const;
  SamplerParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> cand_;
  // Logits of the tokens in the penalty window after penalties, sorted by id (the pass over the
  // logits takes them in place of the raw values).
  std::vector<std::pair<int32_t, float>> penalized_;
  std::vector<int32_t> window_;
};

}  // namespace fragua::model
