// SPDX-License-Identifier: Apache-2.0
// Generated tokens/s of N sequences decoded together by one model::BatchContext (each step one
// token of every sequence, after a prompt per sequence), for each N of a list: how much the
// shared reads of the weights buy over N = 1, the single-sequence speed.
//
// Usage: bench_batch_decode MODEL THREADS N1,N2,... [STEPS=64] [PROMPT=32]
// Prints one JSON line per N: {"n_seq", "steps", "tps" (all sequences, wall clock), "step_ms",
// "cpu_tps" (by the process's CPU time: with 1 thread on a shared machine, closer to the
// uncontended speed), "chunk_tps" (one sequence reading N tokens per pass: the prompt-processing
// speed at that width, whose output head runs on one row instead of N)}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <sstream>
#include <string>
#include <vector>

#include "fragua/model/batch.h"
#include "fragua/model/model.h"

int main(int argc, char** argv) {
  using namespace fragua;
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s MODEL THREADS N1,N2,... [STEPS=64] [PROMPT=32]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[2]);
  const int64_t steps = argc > 4 ? std::atoll(argv[4]) : 64, prompt = argc > 5 ? std::atoll(argv[5]) : 32;
  std::vector<int32_t> sizes;
  std::stringstream list(argv[3]);
  for (std::string item; std::getline(list, item, ',');) sizes.push_back(std::atoi(item.c_str()));
  auto model = model::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().message().c_str());
    return 1;
  }
  const auto n_vocab = static_cast<int32_t>((*model)->config().n_vocab);
  for (int32_t n : sizes) {
    auto ctx = model::BatchContext::create(
        **model, {.n_seq = n, .n_ctx_per_seq = prompt + steps + 1, .n_batch = 512, .n_threads = threads});
    if (!ctx.ok()) {
      std::fprintf(stderr, "%s\n", ctx.error().message().c_str());
      return 1;
    }
    // Token ids spread over the vocabulary; the values do not change the work.
    std::vector<model::BatchItem> items;
    for (int32_t s = 0; s < n; ++s)
      for (int64_t i = 0; i < prompt; ++i)
        items.push_back(
            {.token = static_cast<int32_t>((s * 7919 + i * 104729) % n_vocab), .seq = s, .logits = i + 1 == prompt});
    if (!(*ctx)->decode(items).ok()) return 1;
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    for (int64_t k = 0; k < steps; ++k) {
      items.clear();
      for (int32_t s = 0; s < n; ++s)
        items.push_back({.token = static_cast<int32_t>((s * 31 + k * 17 + 5) % n_vocab), .seq = s, .logits = true});
      if (!(*ctx)->decode(items).ok()) return 1;
    }
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    // The same width as one sequence's prompt chunks: slot 0 cleared, passes of n tokens (as many
    // as its positions allow, up to `steps`), logits of the last.
    const int64_t chunk_steps = std::min<int64_t>(steps, (prompt + steps + 1) / n);
    double chunk_sec = 0;
    if (chunk_steps > 0) {
      if (!(*ctx)->truncate(0, 0).ok()) return 1;
      const auto t1 = std::chrono::steady_clock::now();
      for (int64_t k = 0; k < chunk_steps; ++k) {
        items.clear();
        for (int32_t i = 0; i < n; ++i)
          items.push_back(
              {.token = static_cast<int32_t>((k * 31 + i * 17 + 5) % n_vocab), .seq = 0, .logits = i + 1 == n});
        if (!(*ctx)->decode(items).ok()) return 1;
      }
      chunk_sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    }
    std::printf(
        "{\"n_seq\": %d, \"steps\": %lld, \"tps\": %.2f, \"step_ms\": %.3f, \"cpu_tps\": %.2f, \"chunk_tps\": %.2f}\n",
        n, static_cast<long long>(steps), static_cast<double>(n * steps) / sec, 1e3 * sec / static_cast<double>(steps),
        static_cast<double>(n * steps) / cpu, chunk_sec > 0 ? static_cast<double>(n * chunk_steps) / chunk_sec : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
