// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/loaded_model.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

// A byte-fallback vocabulary of `n_extra` + 259 tokens whose last token is <|im_end|>.
tokenize::VocabSpec vocab(int n_extra) {
  tokenize::VocabSpec s;
  s.tokens = {"<unk>", "<s>", "</s>"};
  s.types = {tokenize::TokenType::unknown, tokenize::TokenType::control, tokenize::TokenType::control};
  for (int b = 0; b < 256; ++b) {
    s.tokens.push_back(fmt::format("<0x{:02X}>", b));
    s.types.push_back(tokenize::TokenType::byte);
  }
  for (int i = 0; i + 1 < n_extra; ++i) {
    s.tokens.push_back(fmt::format("\xE2\x96\x81p{}", i));
    s.types.push_back(tokenize::TokenType::normal);
  }
  s.tokens.push_back("<|im_end|>");
  s.types.push_back(tokenize::TokenType::control);
  s.scores.assign(s.tokens.size(), 0.0f);
  s.unk_id = 0;
  s.bos_id = 1;
  s.eos_id = 2;
  return s;
}

class OpenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    RandomModelSpec spec = tiny_model_spec();  // 300 tokens: <unk>, <s>, </s>, bytes, 41 pieces
    ASSERT_TRUE(write_random_model(spec, model_).ok());
  }
  std::string save(int n_extra) {
    auto tok = tokenize::Tokenizer::from_spec(vocab(n_extra));
    EXPECT_TRUE(tok.ok()) << tok.error().to_string();
    const std::string path = dir_.file(fmt::format("tok{}.gguf", n_extra));
    EXPECT_TRUE(tok->save_gguf(path).ok());
    return path;
  }
  test::TempDir dir_;
  std::string model_ = dir_.file("model.gguf");
};

TEST_F(OpenModel, UsesTheModelsOwnTokenizer) {
  auto m = open_model(model_, {.context = {.n_ctx = 32, .n_threads = 1}});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->path, model_);
  ASSERT_TRUE(m->tokenizer);
  EXPECT_EQ(m->tokenizer->n_vocab(), 300);
  EXPECT_EQ(m->context->n_ctx(), 32);
  EXPECT_EQ(m->eog_ids, std::vector<int32_t>({2}));  // </s>
}

TEST_F(OpenModel, UsesAGivenTokenizerAndItsEndOfGenerationIds) {
  auto m = open_model(model_, {.tokenizer_path = save(3), .context = {.n_ctx = 32, .n_threads = 1}});
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  ASSERT_TRUE(m->tokenizer);
  EXPECT_EQ(m->tokenizer->n_vocab(), 262);                // smaller than the model's vocabulary: accepted
  EXPECT_EQ(m->eog_ids, std::vector<int32_t>({2, 261}));  // </s>, <|im_end|>
  EXPECT_EQ(end_of_generation_ids(*m->tokenizer), m->eog_ids);
}

TEST_F(OpenModel, RefusesATokenizerLargerThanTheModel) {
  auto m = open_model(model_, {.tokenizer_path = save(42)});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(m.error().message().find("the tokenizer has 301 tokens but the model only 300"), std::string::npos)
      << m.error().to_string();
  EXPECT_FALSE(open_model(dir_.file("missing.gguf")).ok());
}

}  // namespace
}  // namespace fragua::model
