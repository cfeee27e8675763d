// SPDX-License-Identifier: Apache-2.0
// The flat parameter store: layout, initialisation (checked draw by draw against the generator
// itself), safetensors round trip and its errors, and train::Model keeping its weights in it
// (tests/materials/element_transformer_test.cpp checks the element transformer).
#include "fragua/train/param_store.h"

#include <cmath>

#include "fragua/format/safetensors.h"
#include "fragua/train/model.h"
#include "test_util.h"

namespace fragua::train {
namespace {

ParamStore small_store() {
  ParamStore s;
  s.add("embd.weight", {4, 3}, true);
  s.add("norm.weight", {4}, false);
  s.add("head.weight", {4, 2}, true);
  s.add("head.bias", {2}, false);
  s.allocate();
  return s;
}

TEST(ParamStore, LaysTensorsOutBackToBack) {
  ParamStore s;
  EXPECT_EQ(s.add("a", {4, 3}, true), 0u);
  EXPECT_EQ(s.add("b", {5}, false), 1u);
  EXPECT_EQ(s.add("c", {2, 3, 2}, true), 2u);
  s.allocate();
  ASSERT_EQ(s.infos().size(), 3u);
  EXPECT_EQ(s.infos()[0].offset, 0u);
  EXPECT_EQ(s.infos()[0].size, 12u);
  EXPECT_EQ(s.infos()[1].offset, 12u);
  EXPECT_EQ(s.infos()[2].offset, 17u);
  EXPECT_EQ(s.infos()[2].size, 12u);
  EXPECT_EQ(s.size(), 29u);
  EXPECT_EQ(s.grads().size(), 29u);
  EXPECT_EQ(s.param(2), s.params().data() + 17);
  EXPECT_EQ(s.grad(1), s.grads().data() + 12);
  ASSERT_NE(s.find("b"), nullptr);
  EXPECT_EQ(s.find("b")->offset, 12u);
  EXPECT_FALSE(s.find("b")->decay);
  EXPECT_EQ(s.find("d"), nullptr);
  EXPECT_EQ(ParamStore::torch_shape(s.infos()[2]), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(ParamStore::torch_shape(s.infos()[0]), (std::vector<int64_t>{3, 4}));
  for (float v : s.params()) EXPECT_EQ(v, 0.0f);
  s.grads()[5] = 3;
  s.zero_grad();
  EXPECT_EQ(s.grads()[5], 0.0f);
}

TEST(ParamStore, InitialisesBiasesGainsAndWeightsFromOneStream) {
  ParamStore s = small_store();
  s.init_random(7, [](const ParamInfo& p) { return p.name.starts_with("head") ? 0.5f : 0.02f; });
  // The same stream drawn here: weights in layout order, gains and biases draw nothing.
  Rng rng(7);
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(s.param(0)[i], 0.02f * rng.normal()) << i;
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(s.param(1)[i], 1.0f);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(s.param(2)[i], 0.5f * rng.normal()) << i;
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(s.param(3)[i], 0.0f);
}

TEST(ParamStore, SafetensorsRoundTripAndErrors) {
  ParamStore s = small_store();
  for (size_t i = 0; i < s.size(); ++i) {
    s.params()[i] = static_cast<float>(i) * 0.25f;
    s.grads()[i] = -static_cast<float>(i);
  }
  format::SafetensorsWriter w;
  ASSERT_TRUE(s.add_safetensors(w, "p/", s.params().data()).ok());
  ASSERT_TRUE(s.add_safetensors(w, "g/", s.grads().data()).ok());
  const std::string bytes = w.to_bytes();  // the parsed file views these bytes
  auto f = format::SafetensorsFile::parse(bytes, "mem.safetensors");
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  const auto* t = f->find("p/embd.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{3, 4}));  // outermost first

  ParamStore back = small_store();
  ASSERT_TRUE(back.read_safetensors(*f, "p/", back.params().data()).ok());
  ASSERT_TRUE(back.read_safetensors(*f, "g/", back.grads().data()).ok());
  for (size_t i = 0; i < s.size(); ++i) {
    EXPECT_EQ(back.params()[i], s.params()[i]);
    EXPECT_EQ(back.grads()[i], s.grads()[i]);
  }

  auto missing = back.read_safetensors(*f, "m/", back.params().data());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("mem.safetensors: missing tensor 'm/embd.weight'"), std::string::npos)
      << missing.error().message();

  ParamStore other;  // same names, the head transposed
  other.add("embd.weight", {4, 3}, true);
  other.add("norm.weight", {4}, false);
  other.add("head.weight", {2, 4}, true);
  other.add("head.bias", {2}, false);
  other.allocate();
  auto shape = other.read_safetensors(*f, "p/", other.params().data());
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.error().message().find("tensor 'p/head.weight' has shape [2, 4], the model needs [4, 2]"),
            std::string::npos)
      << shape.error().message();
}

TEST(ParamStore, HoldsTheLlamaModelsWeights) {
  ModelConfig c;
  c.n_vocab = 32;
  c.n_embd = 16;
  c.n_layer = 2;
  c.n_head = 2;
  c.n_head_kv = 2;
  auto m = Model::create(c);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(&m->param_store().infos(), &m->param_infos());
  EXPECT_EQ(m->param_store().params().data(), m->params().data());
  EXPECT_EQ(m->param_store().size(), static_cast<size_t>(m->config().n_params()));
  m->init_random(3);
  // GPT-2's rule through the store: residual projections 0.02 / sqrt(2 n_layer), gains 1.
  Rng rng(3);
  const ParamInfo* out = m->find_param("blk.0.attn_output.weight");
  ASSERT_NE(out, nullptr);
  size_t drawn_before = 0;
  for (const auto& p : m->param_infos()) {
    if (&p == out) break;
    if (p.decay) drawn_before += p.size;
  }
  for (size_t i = 0; i < drawn_before; ++i) rng.normal();
  EXPECT_EQ(m->params()[out->offset], 0.02f / std::sqrt(4.0f) * rng.normal());
  EXPECT_EQ(m->params()[m->find_param("blk.1.ffn_norm.weight")->offset], 1.0f);
}

}  // namespace
}  // namespace fragua::train
