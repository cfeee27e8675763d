// SPDX-License-Identifier: Apache-2.0
// The one GGUF mapping of the Llama-family hyper-parameters (src/format/llama_hparams.cpp) and
// the tensor table (src/format/llama_tensors.cpp): what the writer writes, the reader reads back
// equal; names and shapes are llama.cpp's (llama-arch.cpp LLM_ARCH_LLAMA, GGML order).
#include "fragua/format/llama_hparams.h"

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/format/llama_tensors.h"

namespace fragua::format {
namespace {

// A local architecture's float keys, as an architecture file declares them.
constexpr FloatKey kTestKeys[] = {
    {"embedding_scale", &LlamaHParams::embedding_scale, 1.0, 0.0, 1e6, false},
    {"attention.scale", &LlamaHParams::attention_scale, 0.0, 0.0, 1e6, true},
    {"residual_scale", &LlamaHParams::residual_scale, 1.0, 0.0, 1e6, false},
    {"logit_scale", &LlamaHParams::logit_scale, 1.0, 0.0, 1e6, false},
};

Result<GgufFile> write_and_parse(const GgufWriter& w, std::string& bytes) {
  bytes = w.to_bytes();
  return GgufFile::parse(bytes, "hp.gguf");
}

void expect_same(const LlamaHParams& a, const LlamaHParams& b) {
  EXPECT_EQ(a.n_ctx_train, b.n_ctx_train);
  EXPECT_EQ(a.n_embd, b.n_embd);
  EXPECT_EQ(a.n_layer, b.n_layer);
  EXPECT_EQ(a.n_head, b.n_head);
  EXPECT_EQ(a.n_head_kv, b.n_head_kv);
  EXPECT_EQ(a.n_ff, b.n_ff);
  EXPECT_EQ(a.head_dim, b.head_dim);
  EXPECT_EQ(a.n_rot, b.n_rot);
  EXPECT_EQ(a.rms_eps, b.rms_eps);
  EXPECT_EQ(a.rope_theta, b.rope_theta);
  EXPECT_EQ(a.rope_scaling, b.rope_scaling);
  EXPECT_EQ(a.rope_scale_factor, b.rope_scale_factor);
  EXPECT_EQ(a.embedding_scale, b.embedding_scale);
  EXPECT_EQ(a.attention_scale, b.attention_scale);
  EXPECT_EQ(a.residual_scale, b.residual_scale);
  EXPECT_EQ(a.logit_scale, b.logit_scale);
}

TEST(LlamaHParams, WrittenThenReadBackEqual) {
  LlamaHParams hp;
  hp.n_vocab = 300;
  hp.n_ctx_train = 4096;
  hp.n_embd = 96;
  hp.n_layer = 3;
  hp.n_head = 6;
  hp.n_head_kv = 2;
  hp.n_ff = 320;
  hp.head_dim = 32;  // not n_embd / n_head: key_length must be written
  hp.n_rot = 16;
  hp.rms_eps = 1e-6f;
  hp.rope_theta = 500000.0f;
  hp.rope_scaling = RopeScaling::linear;
  hp.rope_scale_factor = 4.0f;
  hp.embedding_scale = 12.0f;
  hp.attention_scale = 0.0078125f;
  hp.residual_scale = 0.22f;
  hp.logit_scale = 8.0f;
  GgufWriter w;
  write_llama_hparams(w, "granite", hp);
  write_float_keys(w, "granite", kTestKeys, hp);
  std::string bytes;
  auto f = write_and_parse(w, bytes);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  EXPECT_EQ(*f->get_uint("granite.vocab_size"), 300u);
  EXPECT_EQ(*f->get_uint("granite.attention.key_length"), 32u);
  EXPECT_EQ(*f->get_string("granite.rope.scaling.type"), "linear");
  LlamaHParams back;
  ASSERT_TRUE(read_llama_hparams(*f, "granite", back).ok());
  ASSERT_TRUE(read_float_keys(*f, "granite", kTestKeys, back).ok());
  expect_same(hp, back);
}

TEST(LlamaHParams, DefaultsAreNotWrittenAndReadBackEqual) {
  LlamaHParams hp;
  hp.n_vocab = 258;
  hp.n_ctx_train = 256;
  hp.n_embd = 64;
  hp.n_layer = 2;
  hp.n_head = 4;
  hp.n_head_kv = 4;
  hp.n_ff = 192;
  hp.head_dim = hp.n_rot = 16;
  GgufWriter w;
  write_llama_hparams(w, "llama", hp);
  std::string bytes;
  auto f = write_and_parse(w, bytes);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  // llama.cpp's files carry neither key for such a model; the reader's defaults give them.
  EXPECT_EQ(f->find("llama.attention.key_length"), nullptr);
  EXPECT_EQ(f->find("llama.rope.scaling.type"), nullptr);
  EXPECT_EQ(f->metadata().size(), 10u);  // nine shared keys and vocab_size
  LlamaHParams back;
  ASSERT_TRUE(read_llama_hparams(*f, "llama", back).ok());
  expect_same(hp, back);
  // Absent float keys read as their defaults.
  back.logit_scale = 3.0f;
  ASSERT_TRUE(read_float_keys(*f, "llama", kTestKeys, back).ok());
  EXPECT_EQ(back.logit_scale, 1.0f);
  EXPECT_EQ(back.attention_scale, 0.0f);
}

TEST(LlamaHParams, ReadErrorsNameTheKey) {
  GgufWriter w;
  w.set("llama.block_count", GgufValue::of_u32(2));
  std::string bytes;
  auto f = write_and_parse(w, bytes);
  ASSERT_TRUE(f.ok());
  LlamaHParams hp;
  auto st = read_llama_hparams(*f, "llama", hp);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), ErrorCode::not_found);
  EXPECT_NE(st.error().message().find("metadata key 'llama.embedding_length' is missing"), std::string::npos)
      << st.error().message();

  GgufWriter w2;
  w2.set("x.logit_scale", GgufValue::of_f32(-1.0f));
  auto f2 = write_and_parse(w2, bytes);
  ASSERT_TRUE(f2.ok());
  auto st2 = read_float_keys(*f2, "x", kTestKeys, hp);
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.error().message().find("x.logit_scale = -1 must be a finite number in (0, "), std::string::npos)
      << st2.error().message();
}

TEST(LlamaTensors, NamesAndShapesInFileOrder) {
  LlamaHParams hp;
  hp.n_vocab = 100;
  hp.n_embd = 8;
  hp.n_layer = 2;
  hp.n_head = 4;
  hp.n_head_kv = 2;
  hp.n_ff = 24;
  hp.head_dim = 4;
  hp.n_rot = 4;
  const auto slots = tensor_slots(llama_tensors(), hp);
  // token_embd, 2 x 9 per-layer tensors, output_norm, output, rope_freqs.
  ASSERT_EQ(slots.size(), 22u);
  const std::vector<std::pair<std::string, std::vector<int64_t>>> want_head = {
      {"token_embd.weight", {8, 100}},    {"blk.0.attn_norm.weight", {8}},    {"blk.0.attn_q.weight", {8, 16}},
      {"blk.0.attn_k.weight", {8, 8}},    {"blk.0.attn_v.weight", {8, 8}},    {"blk.0.attn_output.weight", {16, 8}},
      {"blk.0.ffn_norm.weight", {8}},     {"blk.0.ffn_gate.weight", {8, 24}}, {"blk.0.ffn_up.weight", {8, 24}},
      {"blk.0.ffn_down.weight", {24, 8}}, {"blk.1.attn_norm.weight", {8}},
  };
  for (size_t i = 0; i < want_head.size(); ++i) {
    EXPECT_EQ(slots[i].name, want_head[i].first);
    EXPECT_EQ(slots[i].ne, want_head[i].second) << slots[i].name;
  }
  EXPECT_EQ(slots[10].layer, 1);
  EXPECT_EQ(slots[19].name, "output_norm.weight");
  EXPECT_EQ(slots[20].name, "output.weight");
  EXPECT_EQ(slots[20].ne, (std::vector<int64_t>{8, 100}));
  EXPECT_EQ(slots[21].name, "rope_freqs.weight");
  EXPECT_EQ(slots[21].ne, (std::vector<int64_t>{2}));
  EXPECT_EQ(slots[21].spec->presence, Presence::optional);
  EXPECT_TRUE(slots[19].spec->f32_only);
  EXPECT_FALSE(slots[0].spec->f32_only);

  hp.tied_output = true;
  const auto tied = tensor_slots(llama_tensors(), hp);
  ASSERT_EQ(tied.size(), 21u);
  for (const auto& s : tied) EXPECT_NE(s.name, "output.weight");
  // The parameter count is the sum of the shapes (rope_freqs aside).
  int64_t sum = 0;
  for (const auto& s : tied)
    if (s.spec->role != TensorRole::rope_freqs) sum += s.ne.size() == 1 ? s.ne[0] : s.ne[0] * s.ne[1];
  EXPECT_EQ(hp.n_params(), sum);
}

}  // namespace
}  // namespace fragua::format
