// SPDX-License-Identifier: Apache-2.0
// The element transformer keeps its weights in the training engine's parameter store
// (train/param_store.h) and initialises them by its own rule through it. Its numerics against
// PyTorch are in attention_model_test.cpp.
#include "fragua/materials/element_transformer.h"

#include <cmath>

#include "fragua/train/model.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

TEST(ElementTransformer, KeepsItsWeightsInAParamStore) {
  ElementTransformerConfig c;
  c.n_input = 3;
  c.d_model = 8;
  c.n_layer = 1;
  c.n_head = 2;
  c.head_hidden = 4;
  auto et = ElementTransformer::create(c);
  ASSERT_TRUE(et.ok()) << et.error().to_string();
  const train::ParamStore& s = et->param_store();
  EXPECT_EQ(s.params().data(), et->params().data());
  EXPECT_EQ(&s.infos(), &et->param_infos());
  EXPECT_EQ(s.size(), static_cast<size_t>(et->config().n_params()));
  ASSERT_NE(s.find("blk.0.attn_q.weight"), nullptr);
  et->init_random(5);
  // Layout order: element_embd (0.02), input_proj (0.02), the block, output_norm, head_1.weight
  // (1/sqrt(fan_in = d_model)), head_1.bias (0), ...
  train::Rng rng(5);
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(et->params()[i], 0.02f * rng.normal()) << i;
  const train::ParamInfo* w1 = s.find("head_1.weight");
  const train::ParamInfo* b1 = s.find("head_1.bias");
  const train::ParamInfo* gain = s.find("output_norm.weight");
  ASSERT_TRUE(w1 && b1 && gain);
  for (size_t i = 0; i < b1->size; ++i) EXPECT_EQ(et->params()[b1->offset + i], 0.0f);
  for (size_t i = 0; i < gain->size; ++i) EXPECT_EQ(et->params()[gain->offset + i], 1.0f);
  size_t drawn_before = 0;  // draws of the tensors with weight decay before head_1.weight
  for (const auto& p : s.infos()) {
    if (&p == w1) break;
    if (p.decay) drawn_before += p.size;
  }
  train::Rng again(5);
  for (size_t i = 0; i < drawn_before; ++i) again.normal();
  EXPECT_EQ(et->params()[w1->offset], 1.0f / std::sqrt(8.0f) * again.normal());
}

}  // namespace
}  // namespace fragua::materials
