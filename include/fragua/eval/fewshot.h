// SPDX-License-Identifier: Apache-2.0
// Few-shot sampling as lm-evaluation-harness does it, reproduced draw for draw: the harness's
// ContextSampler keeps one random.Random(seed) per task (seed 1234 by default) and, for each
// evaluated document in order, takes rnd.sample(fewshot_docs, k) (k + 1 when the few-shot split is
// the evaluated split, then drops the document itself and keeps k). PyRandom is CPython's
// Mersenne Twister (_randommodule.c: init_by_array seeding from the seed's 32-bit words,
// getrandbits) and its Random.sample / _randbelow (Lib/random.py, 3.11), so that the same seed
// picks the same examples in the same order as the harness.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace fragua::eval {

class PyRandom {
 public:
  explicit PyRandom(uint64_t seed);  // random.Random(seed) for a non-negative int seed
  uint32_t next_u32();               // genrand_uint32
  uint64_t getrandbits(int k);       // 0 < k <= 64
  uint64_t randbelow(uint64_t n);    // Random._randbelow_with_getrandbits; 0 when n == 0
  // Random.sample(range(n), k): k distinct indices in [0, n), in the order drawn (k <= n).
  std::vector<size_t> sample(size_t n, size_t k);
  // Random.random(): 53 random bits from two draws (random_random in _randommodule.c).
  double random();
  // Random.choices(range(n), k=k): k indices drawn with replacement, floor(random() * n) each.
  std::vector<size_t> choices(size_t n, size_t k);

 private:
  std::array<uint32_t, 624> mt_{};
  size_t index_ = 625;
};

// The few-shot examples of evaluated document `doc` (its index in the evaluated split): indices
// into the few-shot split. `same_split`: the few-shot split is the evaluated split, so the
// document itself is never its own example.
std::vector<size_t> sample_fewshot(PyRandom& rnd, size_t n_fewshot_docs, size_t k, bool same_split, size_t doc);

}  // namespace fragua::eval
