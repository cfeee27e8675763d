// SPDX-License-Identifier: Apache-2.0
// Sampling and stopping flags shared by `generate`, `chat` and `serve`.
#pragma once

#include <random>

#include <CLI/CLI.hpp>

#include "fragua/model/generate.h"

namespace fragua::cli {

inline void add_sampling_flags(CLI::App& app, model::GenerateParams& g) {
  auto& s = g.sampler;
  // -n/--n-predict as llama.cpp spells it; the default shown is the command's (chat sets its own first).
  app.add_option("-n,--n-predict,--max-tokens", g.max_tokens, "Tokens to generate at most")->capture_default_str();
  app.add_option("--temp", s.temperature, "Temperature (0: greedy)")->capture_default_str();
  app.add_option("--top-k", s.top_k, "Top-k (0: off)")->capture_default_str();
  app.add_option("--top-p", s.top_p, "Top-p / nucleus (1: off)")->capture_default_str();
  app.add_option("--min-p", s.min_p, "Min-p relative to the best token (0: off)")->capture_default_str();
  app.add_option("--repeat-penalty", s.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
  app.add_option("--frequency-penalty", s.frequency_penalty, "Frequency penalty")->capture_default_str();
  app.add_option("--presence-penalty", s.presence_penalty, "Presence penalty")->capture_default_str();
  app.add_option("--penalty-last-n", s.penalty_last_n, "Tokens the penalties look back over (-1: all)")
      ->capture_default_str();
  // As llama.cpp and the OpenAI API: a fresh seed per run unless --seed makes it repeatable; the
  // command prints the one drawn with -v or --stats, so that a run worth keeping can be replayed.
  // 32 bits, so that it is short to type back.
  auto* seed = app.add_option("--seed", s.seed, "Sampling seed for a repeatable run (default: random, shown by -v)");
  seed->default_str("random");
  app.parse_complete_callback([&s, seed] {
    if (seed->count() == 0) s.seed = std::random_device{}();
  });
  app.add_option("--stop", g.stop, "Stop string (repeatable)");
}

}  // namespace fragua::cli
