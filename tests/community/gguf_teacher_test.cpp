// SPDX-License-Identifier: Apache-2.0
// The in-process GGUF teacher on a tiny random model: deterministic in the request seed, and an
// SDG run over it finishes its keys (a random model's replies fail the format filter).
#include <gtest/gtest.h>

#include "fragua/base/json.h"
#include "fragua/community/sdg.h"
#include "fragua/model/random_model.h"
#include "byte_chatml_vocab.h"
#include "test_util.h"

namespace fragua::community {
namespace {

TEST(GgufTeacher, SeededRepliesAndAnSdgRun) {
  test::TempDir dir;
  model::RandomModelSpec spec;
  spec.n_vocab = 261;
  spec.n_embd = 16;
  spec.n_layer = 1;
  spec.n_head = 2;
  spec.n_head_kv = 1;
  spec.n_ff = 32;
  spec.n_ctx = 4096;  // byte tokens: the Spanish prompt is ~1,500 of them
  spec.plain_init = true;
  ASSERT_TRUE(model::write_random_model(spec, dir.file("m.gguf")).ok());
  auto tok = tokenize::Tokenizer::from_spec(fragua::test::byte_chatml_vocab());
  ASSERT_TRUE(tok.ok());
  ASSERT_TRUE(tok->save_gguf(dir.file("tok.gguf")).ok());
  auto teacher = make_gguf_teacher({dir.file("m.gguf"), 4096, 1, dir.file("tok.gguf"), "chatml"});
  ASSERT_TRUE(teacher.ok()) << teacher.error().to_string();
  EXPECT_EQ((*teacher)->name(), "gguf:" + dir.file("m.gguf"));
  EXPECT_EQ((*teacher)->max_concurrency(), 1);
  std::vector<tokenize::ChatMessage> msgs = {{"system", "Eres breve."}, {"user", "Hola"}};
  auto a = (*teacher)->complete(msgs, {1.0, 12, 7});
  auto b = (*teacher)->complete({{"user", "Otra cosa"}}, {1.0, 12, 8});
  auto c = (*teacher)->complete(msgs, {1.0, 12, 7});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << (a.ok() ? "" : a.error().to_string());
  EXPECT_EQ(*a, *c);  // same messages and seed: same reply, whatever came between

  std::string y = "version: 3\ncreated_by: t\nlanguage: gl\ntask_description: Escribir unha carta.\nseed_examples:\n";
  for (int i = 0; i < 5; ++i) y += fmt::format("  - question: Carta {}\n    answer: Texto {}\n", i, i);
  std::vector<Problem> problems;
  Leaf leaf = parse_leaf(y, "s/qna.yaml", "skills/carta/gl", LeafKind::skill, problems);
  ASSERT_TRUE(problems.empty());
  SdgOptions o;
  o.run_dir = dir.file("run");
  o.samples_per_leaf = 2;
  o.generation.max_tokens = 8;
  o.progress = false;
  auto stats = run_sdg({leaf}, **teacher, o);
  ASSERT_TRUE(stats.ok()) << stats.error().to_string();
  EXPECT_EQ(stats->keys_done, 2u);
  EXPECT_EQ(stats->rejected["format"], 2u);
  auto state = parse_json(*read_file(o.run_dir + "/state.json"), "state");
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)["teacher"], "gguf:" + dir.file("m.gguf"));
  EXPECT_EQ((*state)["done"].size(), 2u);
}

}  // namespace
}  // namespace fragua::community
