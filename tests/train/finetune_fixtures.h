// SPDX-License-Identifier: Apache-2.0
// Small GGUF models for the import, LoRA, fine-tuning and DPO tests.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "fragua/train/export.h"
#include "fragua/train/model.h"
#include "test_util.h"
#include "train/checkpoint.h"

namespace fragua::train::testing {

// A random llama model written as GGUF by export_gguf: with the byte tokenizer (258 tokens) when
// `byte_tokenizer`, else with no tokenizer and n_vocab 61. Untied, GQA (4 heads, 2 KV heads).
inline std::string tiny_gguf(const test::TempDir& dir, const std::string& name, uint64_t seed,
                             bool byte_tokenizer = true, int n_ctx = 256, int n_embd = 32) {
  ModelConfig c;
  c.n_vocab = byte_tokenizer ? 258 : 61;
  c.n_ctx_train = n_ctx;
  c.n_embd = n_embd;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_head_kv = 2;
  auto m = Model::create(c);
  EXPECT_TRUE(m.ok());
  m->init_random(seed);
  // Norm gains away from 1, so a mix-up of gains and weights shows.
  Rng rng(seed + 1);
  for (const auto& p : m->param_infos())
    if (!p.decay)
      for (size_t i = 0; i < p.size; ++i) m->params()[p.offset + i] = 1.0f + 0.1f * rng.normal();
  const std::string st = dir.file(name + ".safetensors");
  EXPECT_TRUE(save_model_safetensors(*m, st, {}).ok());
  ExportOptions o;
  o.checkpoint = st;
  o.out = dir.file(name + ".gguf");
  o.tokenizer = byte_tokenizer ? "byte" : "";
  auto s = export_gguf(o);
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  return o.out;
}

}  // namespace fragua::train::testing
