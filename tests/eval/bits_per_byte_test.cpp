// SPDX-License-Identifier: Apache-2.0
// Bits per byte: the accounting on a worked example, and the scoring of a tiny random GGUF model
// against a reference that decodes every prefix token by token (the KV-cache path, not the
// batched all-logits path the scorer uses) and takes the log-softmax in long double.
#include "fragua/eval/bits_per_byte.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(LanguageLoss, WorkedExample) {
  // 100 scored tokens at ln 2 nats each = 1 bit per token; 100 tokens over 400 bytes: 0.25 bpb.
  LanguageLoss l;
  l.add(std::log(2.0) * 60, 60);
  l.add(std::log(2.0) * 40, 40);
  l.tokens = 100;
  l.bytes = 400;
  EXPECT_EQ(l.scored, 100u);
  EXPECT_NEAR(l.mean_loss(), std::log(2.0), 1e-15);
  EXPECT_NEAR(l.bits_per_byte(), 0.25, 1e-15);
  LanguageLosses all{{"es", l}, {"xx", LanguageLoss{}}};
  const auto j = to_json(all);
  EXPECT_NEAR(j["val_bpb"]["es"].get<double>(), 0.25, 1e-15);
  EXPECT_NEAR(j["val_loss"]["es"].get<double>(), std::log(2.0), 1e-15);
  EXPECT_FALSE(j["val_bpb"].contains("xx"));  // nothing scored: no number to report
  EXPECT_FALSE(j["val_loss"].contains("xx"));
}

class BitsPerByteModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string path = dir_.file("tiny.gguf");
    ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), path).ok());
    auto m = model::Model::load(path);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = std::move(*m);
    auto t = tokenize::Tokenizer::from_gguf(model_->gguf());
    ASSERT_TRUE(t.ok()) << t.error().to_string();
    tok_.emplace(std::move(*t));
  }

  std::unique_ptr<model::Context> context(int64_t n_ctx) {
    auto c = model::Context::create(*model_, {.n_ctx = n_ctx, .n_threads = 1});
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // Sum over the tokens of `doc` but the first of -log p(token | up to `window` tokens of the
  // same document before it, back to the start of its window).
  double reference_nats(const std::string& doc, int64_t window, uint64_t* scored) {
    const auto t = tok_->encode(doc, false, false);
    auto ctx = context(window);
    double total = 0;
    for (size_t j = 1; j < t.size(); ++j) {
      const size_t start = (j - 1) / static_cast<size_t>(window) * static_cast<size_t>(window);
      ctx->truncate(0);
      std::span<const float> last;
      for (size_t k = start; k < j; ++k) {
        auto r = ctx->decode(std::span<const int32_t>(&t[k], 1));
        EXPECT_TRUE(r.ok());
        last = *r;
      }
      long double mx = -INFINITY, sum = 0;
      for (float v : last) mx = std::max<long double>(mx, v);
      for (float v : last) sum += std::exp(static_cast<long double>(v) - mx);
      total += static_cast<double>(mx + std::log(sum) - last[static_cast<size_t>(t[j])]);
      ++*scored;
    }
    return total;
  }

  test::TempDir dir_;
  std::unique_ptr<model::Model> model_;
  std::optional<tokenize::Tokenizer> tok_;
};

TEST_F(BitsPerByteModel, MatchesTokenByTokenReferenceAcrossWindows) {
  // Documents longer than the 8-token context (several windows), one of exactly one token
  // (counted in tokens and bytes, nothing scored), and multi-byte UTF-8.
  const Documents docs = {
      {"en", {"The quick brown fox jumps over the lazy dog, twice over.", "a"}},
      {"es", {"El pingüino comió ñoquis: ¿qué más?"}},
  };
  constexpr int64_t kWindow = 8;
  auto ctx = context(kWindow);
  auto got = bits_per_byte(*ctx, *tok_, docs);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), 2u);
  for (const auto& [lang, texts] : docs) {
    uint64_t tokens = 0, bytes = 0, scored = 0;
    double nats = 0;
    for (const auto& d : texts) {
      tokens += tok_->encode(d, false, false).size();  // no BOS
      bytes += d.size();
      nats += reference_nats(d, kWindow, &scored);
    }
    const LanguageLoss& l = got->at(lang);
    EXPECT_EQ(l.tokens, tokens) << lang;
    EXPECT_EQ(l.bytes, bytes) << lang;
    EXPECT_EQ(l.scored, scored) << lang;
    EXPECT_GT(scored, static_cast<uint64_t>(kWindow)) << lang;  // more than one window
    EXPECT_NEAR(l.nats, nats, 1e-4 * nats) << lang;
    const double bpb =
        nats / static_cast<double>(scored) / std::log(2.0) * static_cast<double>(tokens) / static_cast<double>(bytes);
    EXPECT_NEAR(l.bits_per_byte(), bpb, 1e-4 * bpb) << lang;
  }
  EXPECT_EQ(ctx->n_past(), 0);  // left cleared
}

TEST_F(BitsPerByteModel, WindowSizeChangesOnlyTheContextSeen) {
  // One window holding the whole document scores the same tokens as many small windows.
  const Documents docs = {{"en", {"Some held-out text for the tiny model to score."}}};
  auto small = context(4), large = context(64);
  auto a = bits_per_byte(*small, *tok_, docs), b = bits_per_byte(*large, *tok_, docs);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->at("en").scored, b->at("en").scored);
  EXPECT_EQ(a->at("en").tokens, b->at("en").tokens);
  EXPECT_NE(a->at("en").nats, b->at("en").nats);
}

TEST_F(BitsPerByteModel, LanguageWithoutTextIsAnError) {
  auto ctx = context(8);
  auto r = bits_per_byte(*ctx, *tok_, {{"en", {"text"}}, {"fr", {"", ""}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument);
  EXPECT_NE(r.error().message().find("'fr'"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::eval
