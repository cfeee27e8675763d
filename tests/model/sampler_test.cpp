// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/sampler.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "fragua/model/generate.h"

namespace fragua::model {
namespace {

std::vector<float> logits_from_probs(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

std::map<int32_t, int> histogram(Sampler& s, const std::vector<float>& logits, int n) {
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) h[s.sample(logits, {})]++;
  return h;
}

TEST(Sampler, GreedyIsArgmax) {
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p);
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 3.0f, -1.0f, 2.9f}, {}), 1);
}

TEST(Sampler, FrequenciesFollowSoftmaxAtTemperatureOne) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  p.seed = 42;
  Sampler s(p);
  const std::vector<double> probs = {0.5, 0.25, 0.15, 0.1};
  const int n = 40000;
  auto h = histogram(s, logits_from_probs(probs), n);
  for (size_t i = 0; i < probs.size(); ++i) {
    double expected = probs[i] * n, sd = std::sqrt(n * probs[i] * (1 - probs[i]));
    EXPECT_NEAR(h[static_cast<int32_t>(i)], expected, 5 * sd) << "token " << i;
  }
}

TEST(Sampler, TemperatureSharpens) {
  SamplerParams p;
  p.temperature = 0.5f;  // p_i^2 renormalised: 0.25/0.3125 = 0.8 for the best of {0.5, 0.25}
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Sampler s(p);
  auto h = histogram(s, logits_from_probs({2.0 / 3, 1.0 / 3}), 20000);
  EXPECT_NEAR(h[0] / 20000.0, 0.8, 0.02);
}

TEST(Sampler, TopKTopPMinPTruncate) {
  const auto logits = logits_from_probs({0.5, 0.3, 0.15, 0.05});
  {
    SamplerParams p;
    p.top_k = 2;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.temperature = 1.0f;
    Sampler s(p);
    auto h = histogram(s, logits, 5000);
    EXPECT_EQ(h.count(2) + h.count(3), 0u);
    EXPECT_GT(h[1], 1000);
  }
  {
    SamplerParams p;  // nucleus 0.7: {0.5, 0.3} is the smallest set reaching it
    p.top_k = 0;
    p.top_p = 0.7f;
    p.min_p = 0.0f;
    p.temperature = 1.0f;
    Sampler s(p);
    auto h = histogram(s, logits, 5000);
    EXPECT_EQ(h.count(2) + h.count(3), 0u);
  }
  {
    SamplerParams p;  // min-p 0.35: keeps p >= 0.175, i.e. tokens 0 and 1
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.35f;
    p.temperature = 1.0f;
    Sampler s(p);
    auto h = histogram(s, logits, 5000);
    EXPECT_EQ(h.count(2) + h.count(3), 0u);
    EXPECT_GT(h[1], 1000);
  }
}

TEST(Sampler, PenaltiesChangeTheChoice) {
  std::vector<float> logits = {2.0f, 1.8f, 0.5f};
  std::vector<int32_t> history = {0, 0, 5};
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 1.2f;  // 2.0 / 1.2 = 1.67 < 1.8
  EXPECT_EQ(Sampler(p).sample(logits, history), 1);
  p.repeat_penalty = 1.0f;
  p.frequency_penalty = 0.15f;  // 2.0 - 2 * 0.15 = 1.7 < 1.8
  EXPECT_EQ(Sampler(p).sample(logits, history), 1);
  p.frequency_penalty = 0.0f;
  p.presence_penalty = 0.1f;  // 1.9 > 1.8
  EXPECT_EQ(Sampler(p).sample(logits, history), 0);
  p.penalty_last_n = 1;  // only token 5 in the window
  p.presence_penalty = 5.0f;
  EXPECT_EQ(Sampler(p).sample(logits, history), 0);
}

TEST(Sampler, SameSeedSameStream) {
  SamplerParams p;
  p.seed = 7;
  p.top_k = 0;
  Sampler a(p), b(p);
  const auto logits = logits_from_probs({0.3, 0.3, 0.2, 0.2});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.sample(logits, {}), b.sample(logits, {}));
  SamplerParams bad;
  bad.top_p = 0;
  EXPECT_FALSE(bad.validate().ok());
}

// Issue 13: the sampler's per-token work is linear in the vocabulary (no sort of 256k logits).
// These check that the selection-based paths keep the same tokens as the sorted definition.

// The nucleus by its definition: sort by (logit desc, id asc), keep the shortest prefix whose
// softmax mass reaches top_p, then those with p >= min_p * p_max.
std::vector<int32_t> reference_kept(const std::vector<float>& logits, float top_p, float min_p) {
  std::vector<int32_t> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) {
    const float la = logits[static_cast<size_t>(a)], lb = logits[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  });
  const double mx = logits[static_cast<size_t>(ids[0])];
  double total = 0.0;
  for (float l : logits) total += std::exp(l - mx);
  std::vector<int32_t> kept;
  double cum = 0.0;
  for (int32_t id : ids) {
    const double p = std::exp(logits[static_cast<size_t>(id)] - mx) / total;
    if (p < min_p * (1.0 / total)) break;
    kept.push_back(id);
    cum += p;
    if (cum >= top_p) break;
  }
  return kept;
}

TEST(Sampler, GreedyOverALargeVocabularyWithPenaltiesAndTies) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::vector<float> logits(256000);
  for (auto& l : logits) l = nd(rng);
  logits[70000] = 20.0f;
  logits[200001] = 20.0f;  // a tie: the lower id wins
  logits[9] = std::nanf("");
  SamplerParams p;
  p.temperature = 0;
  EXPECT_EQ(Sampler(p).sample(logits, {}), 70000);
  // Penalised, 70000 drops to 20 / 1.5 and 200001 wins; a penalised token that comes down to a
  // tie wins it when its id is the lower one.
  p.repeat_penalty = 1.5f;
  EXPECT_EQ(Sampler(p).sample(logits, std::vector<int32_t>{70000, 5}), 200001);
  logits[100] = 30.0f;
  EXPECT_EQ(Sampler(p).sample(logits, std::vector<int32_t>{100, 70000}), 100);
  EXPECT_EQ(Sampler(p).sample(logits, std::vector<int32_t>{70000}), 100);
  std::vector<float> none(1000, -INFINITY);
  none[500] = std::nanf("");
  EXPECT_EQ(Sampler(p).sample(none, {}), 0);
  p.temperature = 0.8f;
  p.top_k = 0;
  EXPECT_EQ(Sampler(p).sample(none, {}), 0);
}

TEST(Sampler, NucleusWithoutTopKKeepsTheSortedPrefix) {
  // 4,000 tokens whose nucleus at 0.6 is a few dozen: every draw inside it, each of its tokens
  // drawn in proportion to its renormalised probability.
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> logits(4000);
  for (auto& l : logits) l = nd(rng);
  for (size_t i = 0; i < 50; ++i) logits[1000 + 7 * i] = 10.0f + 0.02f * static_cast<float>(i % 5);  // ties
  for (float min_p : {0.0f, 0.3f}) {
    SamplerParams p;
    p.top_k = 0;
    p.top_p = 0.6f;
    p.min_p = min_p;
    p.temperature = 1.0f;
    p.seed = 9;
    const std::vector<int32_t> kept = reference_kept(logits, p.top_p, p.min_p);
    ASSERT_GT(kept.size(), 5u);
    ASSERT_LT(kept.size(), 200u);
    double mass = 0.0;
    for (int32_t id : kept) mass += std::exp(static_cast<double>(logits[static_cast<size_t>(id)]));
    Sampler s(p);
    const int n = 4000;
    auto h = histogram(s, logits, n);
    for (const auto& [id, count] : h)
      EXPECT_NE(std::find(kept.begin(), kept.end(), id), kept.end()) << "token " << id << " outside the nucleus";
    for (int32_t id : kept) {
      const double q = std::exp(static_cast<double>(logits[static_cast<size_t>(id)])) / mass;
      EXPECT_NEAR(h[id], q * n, 5 * std::sqrt(n * q * (1 - q)) + 1) << "token " << id;
    }
  }
}

TEST(StopStrings, HoldBackPrefixesAndCutAtMatch) {
  size_t safe = 0, len = 0;
  std::vector<std::string> stop = {"</s>", "\nUser:"};
  EXPECT_EQ(find_stop("hola </", stop, &safe, &len), std::string_view::npos);
  EXPECT_EQ(safe, 5u);  // "</" may start "</s>"
  EXPECT_EQ(find_stop("hola\nUs", stop, &safe, &len), std::string_view::npos);
  EXPECT_EQ(safe, 4u);
  EXPECT_EQ(find_stop("hola</s> resto", stop, &safe, &len), 4u);
  EXPECT_EQ(safe, 4u);
  EXPECT_EQ(len, 4u);
  EXPECT_EQ(find_stop("sin parar", stop, &safe, &len), std::string_view::npos);
  EXPECT_EQ(safe, 9u);
}

// Issue 12 (found by model_loader_fuzz): NaN logits from hostile or overflowing weights made
// std::sort's comparator inconsistent (undefined behaviour); they now rank last.
TEST(Sampler, NanLogitsRankLast) {
  std::vector<float> logits(200, 0.0f);
  for (size_t i = 0; i < logits.size(); i += 3) logits[i] = std::nanf("");
  logits[100] = 5.0f;  // i % 3 == 1: not NaN
  for (float temp : {0.0f, 0.8f}) {
    SamplerParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = 3;
    Sampler s(p);
    for (int i = 0; i < 50; ++i) {
      const int32_t id = s.sample(logits, {});
      EXPECT_FALSE(std::isnan(logits[static_cast<size_t>(id)])) << id;
    }
  }
}

}  // namespace
}  // namespace fragua::model
