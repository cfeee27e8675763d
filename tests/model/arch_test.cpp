// SPDX-License-Identifier: Apache-2.0
// The architecture registry (src/model/arch_registry.cpp, src/model/arch/*.cpp): every
// registered architecture's random model, written from its tensor table and keys, binds in the
// loader with the hyper-parameters it was written with.
#include <algorithm>

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/format/llama_tensors.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "model/arch.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

struct ArchCase {
  const char* arch;
  bool tied;
  bool llama3_rope;
};

class RandomModelBinds : public ::testing::TestWithParam<ArchCase> {};

TEST_P(RandomModelBinds, WithTheHyperParametersItWasWrittenWith) {
  const ArchCase p = GetParam();
  test::TempDir dir;
  RandomModelSpec s = tiny_model_spec();
  s.arch = p.arch;
  s.tied_output = p.tied;
  s.llama3_rope = p.llama3_rope;
  s.rope_theta = 50000.0f;
  if (std::string(p.arch) == "granitehybrid") s.n_layer = 2;  // a Mamba-2 layer, then attention
  ASSERT_TRUE(write_random_model(s, dir.file("m.gguf")).ok());
  auto m = Model::load(dir.file("m.gguf"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const ModelConfig& c = (*m)->config();
  EXPECT_EQ(c.arch, p.arch);
  EXPECT_EQ(c.n_vocab, s.n_vocab);
  EXPECT_EQ(c.n_ctx_train, s.n_ctx);
  EXPECT_EQ(c.n_embd, s.n_embd);
  EXPECT_EQ(c.n_layer, s.n_layer);
  EXPECT_EQ(c.n_head, s.n_head);
  EXPECT_EQ(c.n_head_kv, s.n_head_kv);
  EXPECT_EQ(c.n_ff, s.n_ff);
  EXPECT_EQ(c.head_dim, s.n_embd / s.n_head);
  EXPECT_EQ(c.rope_theta, 50000.0f);
  EXPECT_EQ(c.tied_output, p.tied);
  EXPECT_EQ((*m)->weights().rope_freqs.empty(), !p.llama3_rope);
  const bool granite = std::string(p.arch).rfind("granite", 0) == 0;
  EXPECT_EQ(c.embedding_scale, granite ? s.embedding_scale : 1.0f);
  EXPECT_EQ(c.attention_scale, granite ? s.attention_scale : 0.0f);
  EXPECT_EQ(c.residual_scale, granite ? s.residual_scale : 1.0f);
  EXPECT_EQ(c.logit_scale, granite ? s.logit_scale : 1.0f);
  // The file holds exactly the architecture's table (rope_freqs only when asked for).
  const Architecture* a = find_architecture(p.arch);
  ASSERT_NE(a, nullptr);
  const auto slots = format::tensor_slots(a->tensors, c);
  const auto n_rope = static_cast<size_t>(std::count_if(
      slots.begin(), slots.end(), [](const auto& t) { return t.spec->role == format::TensorRole::rope_freqs; }));
  EXPECT_EQ((*m)->gguf().tensors().size(), slots.size() - (p.llama3_rope ? 0 : n_rope));
  for (const auto& t : slots) {
    const auto* info = (*m)->gguf().find_tensor(t.name);
    if (t.spec->role == format::TensorRole::rope_freqs && !p.llama3_rope) {
      EXPECT_EQ(info, nullptr);
      continue;
    }
    ASSERT_NE(info, nullptr) << t.name;
    EXPECT_EQ(info->ne, t.ne) << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, RandomModelBinds,
                         ::testing::Values(ArchCase{"llama", false, false}, ArchCase{"llama", true, true},
                                           ArchCase{"granite", true, false}, ArchCase{"granite", false, true},
                                           ArchCase{"granitemoe", true, false}, ArchCase{"granitemoe", false, true},
                                           ArchCase{"granitehybrid", false, false}, ArchCase{"qwen2", true, false},
                                           ArchCase{"qwen2", false, false}),
                         [](const auto& info) {
                           return std::string(info.param.arch) + (info.param.tied ? "_tied" : "_untied") +
                                  (info.param.llama3_rope ? "_llama3rope" : "");
                         });

TEST(RandomModel, UnknownArchitectureIsAnError) {
  test::TempDir dir;
  RandomModelSpec s = tiny_model_spec();
  s.arch = "mamba";
  auto st = write_random_model(s, dir.file("m.gguf"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("unknown architecture 'mamba'"), std::string::npos);
}

}  // namespace
}  // namespace fragua::model
