// SPDX-License-Identifier: Apache-2.0
// Small multilingual corpora built in code for the training tests.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <string>
#include <vector>

#include "fragua/format/safetensors.h"
#include "fragua/train/model.h"
#include "fragua/train/shard.h"
#include "fragua/train/text_encoder.h"
#include "fragua/train/trainer.h"

namespace fragua::train::testing {

// Pseudo-random sentences from a few frequent words of each language (deterministic). Every
// Every parameter of a run's latest checkpoint, in file order (for bitwise comparisons).
inline std::vector<float> latest_params(const std::string& out) {
  auto ck = latest_checkpoint(out);
  EXPECT_TRUE(ck.ok());
  auto f = format::SafetensorsFile::open(*ck + "/model.safetensors");
  EXPECT_TRUE(f.ok());
  std::vector<float> all;
  for (const auto& t : f->tensors()) {
    const float* p = reinterpret_cast<const float*>(t.data);
    all.insert(all.end(), p, p + t.n_elements());
  }
  return all;
}

// A one-layer model of 50 tokens with seeded random weights (checkpoint and export tests).
inline Model small_model(uint64_t seed) {
  ModelConfig c;
  c.n_vocab = 50;
  c.n_embd = 16;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_head_kv = 2;
  auto m = Model::create(c);
  EXPECT_TRUE(m.ok());
  m->init_random(seed);
  return std::move(*m);
}

// A loader position as Dataset::state() writes it.
inline nlohmann::json data_state() {
  return {{"rng", {"1", "2", "3", "4"}}, {"languages", {{"es", {{"cursor", 32}, {"epoch", 0}}}}}, {"batches", 2}};
}

// The names in a directory, sorted.
inline std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Basque word holds a z, k or x and no other language's does, so tests can tell rows apart.
inline std::string make_corpus_jsonl(int docs_per_lang, int words_per_doc) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> langs = {
      {"es", {"el", "la", "de", "que", "y", "en", "una", "por", "con", "para", "como", "pero"}},
      {"ca", {"el", "la", "de", "que", "i", "en", "una", "per", "amb", "com", "però", "molt"}},
      {"eu", {"zen", "izan", "ez", "etxe", "zuen", "beraz", "horiek", "baizik", "kale", "zer", "hitz", "ikasi"}},
      {"gl", {"o", "a", "de", "que", "e", "en", "unha", "por", "con", "para", "como", "máis"}}};
  uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(x >> 33);
  };
  std::string out;
  for (const auto& [lang, words] : langs)
    for (int d = 0; d < docs_per_lang; ++d) {
      std::string text;
      for (int w = 0; w < words_per_doc; ++w) text += (w ? " " : "") + words[next() % words.size()];
      out += "{\"lang\":\"" + lang + "\",\"text\":\"" + text + ".\"}\n";
    }
  return out;
}

inline void make_shards(const std::string& dir, const std::string& work, int docs_per_lang = 40, int words = 30) {
  std::string in = work + "/corpus.jsonl";
  std::ofstream(in) << make_corpus_jsonl(docs_per_lang, words);
  ShardBuildOptions o;
  o.inputs = {in};
  o.out_dir = dir;
  o.shard_tokens = 8000;  // several shards, so streams cross shard boundaries
  auto enc = make_byte_encoder();
  auto st = build_shards(o, *enc);
  if (!st.ok()) ADD_FAILURE() << st.error().to_string();
}

inline TrainConfig tiny_config(const std::string& data, const std::string& out) {
  TrainConfig c;
  c.data.dir = data;
  c.data.seq_len = 16;
  c.data.val_fraction = 0.1;
  c.out_dir = out;
  c.model.n_embd = 32;
  c.model.n_layer = 2;
  c.model.n_head = 4;
  c.model.n_head_kv = 2;
  c.model.n_ctx_train = 16;
  c.batch = 2;
  c.steps = 8;
  c.schedule.lr = 3e-3f;
  c.schedule.warmup = 2;
  c.eval_every = 4;
  c.val_tokens = 64;
  c.threads = 2;
  return c;
}

}  // namespace fragua::train::testing
