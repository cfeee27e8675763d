// SPDX-License-Identifier: Apache-2.0
// The per-step cost of constrained decoding's token mask (serve/json_constraint.h) on a real
// vocabulary: builds the token trie once, then walks generations under a few schemas, picking a
// random allowed token at each step (so strings, numbers and structure all occur), and prints the
// mask's time per step (mean, p50, p99, max) per schema, and the trie's build time.
// Usage: bench_json_mask TOKENIZER.gguf [STEPS]
//   e.g. bench_json_mask ../shared/data/tokenizer-vectors/ggml-vocab-llama-spm.gguf   (32000 tokens)
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <nlohmann/json.hpp>

#include "fragua/serve/json_constraint.h"
#include "fragua/tokenize/tokenizer.h"

using namespace fragua;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s TOKENIZER.gguf [STEPS]\n", argv[0]);
    return 2;
  }
  const int steps = argc > 2 ? std::atoi(argv[2]) : 2000;
  auto tok = tokenize::Tokenizer::load(argv[1]);
  if (!tok.ok()) {
    std::fprintf(stderr, "%s\n", tok.error().to_string().c_str());
    return 1;
  }
  std::vector<int32_t> eog;
  for (int32_t id = 0; id < tok->n_vocab(); ++id)
    if (tok->is_eog(id)) eog.push_back(id);
  if (eog.empty() && tok->eos_id() >= 0) eog.push_back(tok->eos_id());
  const auto t0 = Clock::now();
  auto trie = serve::TokenTrie::build(*tok, eog);
  const double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  std::printf("vocabulary %d tokens, trie %zu nodes, built in %.1f ms\n", tok->n_vocab(), trie->n_nodes(), build_ms);

  const std::vector<std::pair<const char*, std::shared_ptr<const serve::CompiledSchema>>> schemas = {
      {"json_object", serve::any_json_object_schema()},
      {"closed object",
       *serve::compile_json_schema(nlohmann::json::parse(
           R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 40}, "age": {"type": "integer"},
               "tags": {"type": "array", "items": {"enum": ["a", "bb", "ccc"]}, "maxItems": 5},
               "score": {"type": "number"}}, "required": ["name", "age", "tags", "score"], "additionalProperties": false})"))},
  };
  std::mt19937 rng(1);
  serve::TokenMasker masker(trie);
  std::vector<float> logits(static_cast<size_t>(tok->n_vocab()));
  for (const auto& [label, schema] : schemas) {
    std::vector<double> us;
    size_t allowed_sum = 0;
    while (static_cast<int>(us.size()) < steps) {
      serve::JsonRecognizer rec(schema);
      for (int step = 0; step < 400 && static_cast<int>(us.size()) < steps; ++step) {
        std::fill(logits.begin(), logits.end(), 0.0f);
        const auto a = Clock::now();
        const size_t n = masker.apply(rec, logits);
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
        allowed_sum += n;
        std::vector<int32_t> ok;
        for (int32_t id = 0; id < tok->n_vocab(); ++id)
          if (masker.allowed()[static_cast<size_t>(id)]) ok.push_back(id);
        if (ok.empty()) {
          std::fprintf(stderr, "%s: no token allowed (dead end)\n", label);
          return 1;
        }
        const int32_t pick = ok[rng() % ok.size()];
        if (std::find(eog.begin(), eog.end(), pick) != eog.end()) break;
        rec.feed(tok->token_piece(pick));
        if (rec.is_complete() && !rec.can_continue()) break;
      }
    }
    std::vector<double> sorted = us;
    std::sort(sorted.begin(), sorted.end());
    double mean = 0;
    for (double x : us) mean += x;
    mean /= static_cast<double>(us.size());
    std::printf("%-14s %d steps: mask %.0f us mean, p50 %.0f, p99 %.0f, max %.0f; %.0f tokens allowed per step\n",
                label, steps, mean, sorted[sorted.size() / 2], sorted[sorted.size() * 99 / 100], sorted.back(),
                static_cast<double>(allowed_sum) / static_cast<double>(us.size()));
  }
  return 0;
}
