// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/generate.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "test_util.h"

namespace fragua::model {
namespace {


TEST(Generate, GreedyMatchesStepwiseArgmaxAndStops) {
  auto model = Model::load(test::golden_model("llama_gqa_f32.gguf"));
  ASSERT_TRUE(model.ok());
  const std::vector<int32_t> prompt = {1, 17, 300, 42};
  // Step by step with the Context alone.
  auto ctx = Context::create(**model, {.n_ctx = 64, .n_batch = 8, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  std::vector<int32_t> expect;
  auto logits = (*ctx)->decode(prompt);
  for (int i = 0; i < 12; ++i) {
    int32_t best = 0;
    for (int32_t v = 1; v < static_cast<int32_t>(logits->size()); ++v)
      if ((*logits)[static_cast<size_t>(v)] > (*logits)[static_cast<size_t>(best)]) best = v;
    expect.push_back(best);
    std::vector<int32_t> one = {best};
    logits = (*ctx)->decode(one);
  }
  auto piece = [](int32_t id) { return fmt::format("<{}>", id); };
  GenerateParams gp;
  gp.max_tokens = 12;
  gp.sampler.temperature = 0;
  auto ctx2 = Context::create(**model, {.n_ctx = 64, .n_batch = 8, .n_threads = 2});
  auto r = generate(**ctx2, prompt, gp, piece);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->tokens, expect);
  EXPECT_EQ(r->stop_reason, "length");

  // The third generated token as end-of-generation: stops before it.
  gp.eog_ids = {expect[2]};
  auto ctx3 = Context::create(**model, {.n_ctx = 64, .n_batch = 8, .n_threads = 1});
  r = generate(**ctx3, prompt, gp, piece);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, "eog");
  EXPECT_EQ(r->tokens.size(), expect[0] == expect[2] || expect[1] == expect[2] ? r->tokens.size() : 2u);

  // A stop string made of the second token's text: the text ends before it.
  gp.eog_ids.clear();
  gp.stop = {fmt::format("<{}>", expect[1])};
  auto ctx4 = Context::create(**model, {.n_ctx = 64, .n_batch = 8, .n_threads = 1});
  r = generate(**ctx4, prompt, gp, piece);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop_reason, "stop");
  EXPECT_EQ(r->text, expect[0] == expect[1] ? std::string() : fmt::format("<{}>", expect[0]));
}

}  // namespace
}  // namespace fragua::model
