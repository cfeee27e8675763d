// SPDX-License-Identifier: Apache-2.0
// Measures Fragua the way llama-bench measures llama.cpp, for bench/engine.py:
//   bench_engine_bench MODEL THREADS pp N   -> prompt processing of N tokens from an empty cache
//   bench_engine_bench MODEL THREADS tg N   -> N single-token decodes from an empty cache
//   bench_engine_bench MODEL THREADS greedy N IDS -> greedy continuation ids (agreement check)
// One warm-up run precedes the timed run (as llama-bench does). Prints one JSON line.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "fragua/model/generate.h"
#include "fragua/model/model.h"

using namespace fragua;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODEL THREADS pp|tg|greedy N [IDS]\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[3];
  const int threads = std::atoi(argv[2]);
  const int n = std::atoi(argv[4]);
  auto model = model::Model::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().to_string().c_str());
    return 1;
  }
  const int64_t V = (*model)->config().n_vocab;
  model::ContextParams cp;
  cp.n_threads = threads;
  cp.n_ctx = n + 64;
  cp.n_batch = 512;
  // FRAGUA_TRACE_DIR: the first forward pass's intermediate results, one NAME-LAYER.bin file of
  // f32 each (the names llama.cpp's graph uses), to find where two engines part.
  if (const char* dir = std::getenv("FRAGUA_TRACE_DIR")) {
    auto done = std::make_shared<std::set<std::string>>();
    cp.eval_callback = [dir = std::string(dir), done](const char* name, int layer, const float* data, int64_t t,
                                                      int64_t n) {
      const std::string file = fmt::format("{}/{}-{}.bin", dir, name, layer);
      if (!done->insert(file).second) return;
      if (FILE* f = std::fopen(file.c_str(), "wb")) {
        std::fwrite(data, sizeof(float), static_cast<size_t>(t * n), f);
        std::fclose(f);
      }
    };
  }
  auto ctx = model::Context::create(**model, cp);
  if (!ctx.ok()) return 1;
  auto& c = **ctx;

  if (mode == "greedy") {
    std::vector<int32_t> prompt;
    std::string ids = argc > 5 ? argv[5] : "1";
    for (size_t p = 0; p < ids.size();) {
      size_t e = ids.find(',', p);
      if (e == std::string::npos) e = ids.size();
      prompt.push_back(std::stoi(ids.substr(p, e - p)));
      p = e + 1;
    }
    if (const char* dump = std::getenv("DUMP_LOGITS")) {  // first-step logits, as the peer writes them
      auto logits = c.decode(prompt);
      if (!logits.ok()) return 1;
      FILE* f = std::fopen(dump, "wb");
      std::fwrite(logits->data(), sizeof(float), logits->size(), f);
      std::fclose(f);
      c.truncate(0);
    }
    model::GenerateParams gp;
    gp.max_tokens = n;
    gp.sampler.temperature = 0;
    auto r = model::generate(c, prompt, gp, nullptr);
    if (!r.ok()) return 1;
    std::string out;
    for (size_t i = 0; i < r->tokens.size(); ++i) out += (i ? "," : "") + std::to_string(r->tokens[i]);
    std::printf("%s\n", out.c_str());
    return 0;
  }

  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(V - 1));
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (auto& t : ids) t = tok(rng);
  auto run = [&] {
    c.truncate(0);
    auto t0 = std::chrono::steady_clock::now();
    if (mode == "pp") {
      if (!c.decode(ids).ok()) std::exit(1);
    } else {
      for (int i = 0; i < n; ++i) {
        std::vector<int32_t> one = {ids[static_cast<size_t>(i)]};
        if (!c.decode(one).ok()) std::exit(1);
      }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  run();  // warm-up
  double s = run();
  std::printf(
      "{\"engine\": \"fragua\", \"mode\": \"%s\", \"n\": %d, \"threads\": %d, \"seconds\": %.6f, \"tps\": %.3f}\n",
      mode.c_str(), n, threads, s, n / s);
  return 0;
}
