// SPDX-License-Identifier: Apache-2.0
// train::ModelConfig (src/train/model_config.cpp): the Llama vocabulary shared with inference
// (format::LlamaHParams) and its config.json form, including the field names that runs written
// before the shared vocabulary used.
#include <type_traits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/format/llama_hparams.h"
#include "fragua/train/model.h"
#include "fragua/train/trainer.h"

namespace fragua::train {
namespace {

TEST(TrainModelConfig, OldFieldNamesStillLoad) {
  // The "model" object of a config.json written before the rename (fuzz seed
  // fuzz/corpus/train_state_fuzz/config.json has the same fields).
  auto j = nlohmann::json::parse(R"({"n_ctx": 128, "n_embd": 16, "n_ff": 64, "n_head": 2, "n_head_kv": 1,
      "n_layer": 1, "n_vocab": 258, "norm_eps": 1e-6, "rope_base": 500000.0, "tied_embeddings": true})");
  auto c = ModelConfig::from_json(j);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->n_ctx_train, 128);
  EXPECT_EQ(c->rms_eps, 1e-6f);
  EXPECT_EQ(c->rope_theta, 500000.0f);
  EXPECT_TRUE(c->tied_output);
  EXPECT_EQ(c->head_dim, 8);
  EXPECT_EQ(c->n_rot, 8);
}

TEST(TrainModelConfig, WritesTheSharedNamesAndReadsThemBack) {
  ModelConfig c;
  c.n_vocab = 300;
  c.n_ctx_train = 64;
  c.rope_theta = 1234.5f;
  c.rms_eps = 2e-5f;
  c.tied_output = true;
  ASSERT_TRUE(c.finalize().ok());
  const nlohmann::json j = c.to_json();
  for (const char* key : {"n_ctx_train", "rope_theta", "rms_eps", "tied_output"}) EXPECT_TRUE(j.contains(key)) << key;
  for (const char* key : {"n_ctx", "rope_base", "norm_eps", "tied_embeddings"}) EXPECT_FALSE(j.contains(key)) << key;
  auto back = ModelConfig::from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->to_json(), j);
  EXPECT_EQ(back->n_ff, c.n_ff);
  EXPECT_EQ(back->n_params(), c.n_params());
}

TEST(TrainModelConfig, OldNameInAUserConfigOverridesTheDefault) {
  // merge_json lays the user's object over to_json()'s: "rope_base" sits beside "rope_theta".
  TrainConfig t;
  ASSERT_TRUE(t.merge_json(nlohmann::json::parse(R"({"model": {"rope_base": 50000.0, "n_ctx": 99}})")).ok());
  EXPECT_EQ(t.model.rope_theta, 50000.0f);
  EXPECT_EQ(t.model.n_ctx_train, 99);
  ASSERT_TRUE(t.merge_json(nlohmann::json::parse(R"({"model": {"rope_theta": 70000.0}})")).ok());
  EXPECT_EQ(t.model.rope_theta, 70000.0f);
}

TEST(TrainModelConfig, FieldsHaveTheInferenceWidths) {
  // One vocabulary: the same fields, the same types, reachable as format::LlamaHParams.
  static_assert(std::is_base_of_v<format::LlamaHParams, ModelConfig>);
  static_assert(std::is_same_v<decltype(ModelConfig::n_embd), int64_t>);
  ModelConfig c;
  const format::LlamaHParams& hp = c;
  EXPECT_EQ(hp.n_embd, 256);
  EXPECT_EQ(hp.n_ctx_train, 256);
}

}  // namespace
}  // namespace fragua::train
