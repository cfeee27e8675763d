// SPDX-License-Identifier: Apache-2.0
// Perplexity: the window rule on worked examples, and the scoring of a tiny random GGUF model
// against a reference that rebuilds each window from the definition (BOS first, the second half
// or the unscored tail), decodes it token by token through a Context (the KV-cache path, not the
// batched all-logits path of the scorer) and takes the log-softmax in long double.
#include "fragua/eval/perplexity.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(PerplexityWindows, ChunksScoreTheSecondHalf) {
  // 21 tokens, n_ctx 8: two chunks (the 5-token tail is dropped), positions 4..6 predict 5..7.
  auto w = perplexity_windows(21, 8, 0);
  ASSERT_TRUE(w.ok()) << w.error().to_string();
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[0].start, 0);
  EXPECT_EQ((*w)[1].start, 8);
  for (const auto& x : *w) {
    EXPECT_EQ(x.size, 8);
    EXPECT_EQ(x.score_from, 4);
  }
  // n_ctx 7: first = 3, so positions 3..5 are scored: n_ctx - first - 1 = 3 per chunk.
  auto odd = perplexity_windows(14, 7, 0);
  ASSERT_TRUE(odd.ok());
  ASSERT_EQ(odd->size(), 2u);
  EXPECT_EQ((*odd)[1].score_from, 3);
}

TEST(PerplexityWindows, SlidingWindowScoresEachTokenOnce) {
  for (int64_t n : {2, 9, 10, 11, 30}) {
    for (int64_t stride : {1, 3, 7}) {
      auto w = perplexity_windows(n, 8, stride);
      ASSERT_TRUE(w.ok()) << w.error().to_string();
      std::vector<int> times(static_cast<size_t>(n), 0);
      for (const auto& x : *w) {
        EXPECT_LE(x.size, 8);
        EXPECT_LE(x.start + x.size, n);
        for (int64_t p = x.score_from; p < x.size - 1; ++p) ++times[static_cast<size_t>(x.start + p + 1)];
        // A later window keeps at least n_ctx - stride - 1 tokens of context before its first target.
        if (x.start > 0 && x.size == 8) EXPECT_EQ(x.score_from, 8 - stride - 1);
      }
      EXPECT_EQ(times[0], 0);
      for (int64_t t = 1; t < n; ++t) EXPECT_EQ(times[static_cast<size_t>(t)], 1) << n << " " << stride << " " << t;
    }
  }
  // The worked example: 10 tokens, window 8, stride 3: [0,8) scores 1..7, [3,10) scores 8..9.
  auto w = perplexity_windows(10, 8, 3);
  ASSERT_EQ(w->size(), 2u);
  EXPECT_EQ((*w)[1].start, 3);
  EXPECT_EQ((*w)[1].size, 7);
  EXPECT_EQ((*w)[1].score_from, 4);
}

TEST(PerplexityWindows, Refusals) {
  EXPECT_FALSE(perplexity_windows(100, 1, 0).ok());
  EXPECT_FALSE(perplexity_windows(100, 8, 8).ok());
  EXPECT_FALSE(perplexity_windows(100, 8, -1).ok());
  auto short_text = perplexity_windows(7, 8, 0);
  ASSERT_FALSE(short_text.ok());
  EXPECT_NE(short_text.error().message().find("7 tokens"), std::string::npos) << short_text.error().message();
  EXPECT_FALSE(perplexity_windows(1, 8, 2).ok());
}

class PerplexityModel : public ::testing::Test {
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
    ASSERT_TRUE(tok_->spec().add_bos);  // the chunk rule's BOS replacement is exercised
  }

  // Independent of perplexity_windows: the windows rebuilt from the definition, each decoded
  // token by token from an empty cache. Returns the sum of NLL and of its square, and the count.
  void reference(const std::string& text, int64_t n_ctx, int64_t stride, long double* nats, long double* nats2,
                 uint64_t* scored) {
    const auto t = tok_->encode(text, true, false);
    ASSERT_EQ(t[0], tok_->bos_id());
    const auto n = static_cast<int64_t>(t.size());
    auto ctx = model::Context::create(*model_, {.n_ctx = n_ctx, .n_threads = 1});
    ASSERT_TRUE(ctx.ok());
    // target index -> (window start, window size)
    std::vector<std::pair<int64_t, int64_t>> plan;
    if (stride == 0) {
      for (int64_t c = 0; c + n_ctx <= n; c += n_ctx)
        for (int64_t k = n_ctx / 2 + 1; k < n_ctx; ++k) plan.push_back({c, c + k});
    } else {
      // Target j is scored by the first window [s, s + n_ctx) (s a multiple of stride) that holds it
      // and whose previous window did not; for the first window every target from 1.
      for (int64_t j = 1; j < n; ++j) {
        int64_t s = 0;
        while (!(j < s + n_ctx && (s == 0 || j > s - stride + n_ctx - 1))) s += stride;
        plan.push_back({s, j});
      }
    }
    for (const auto& [start, target] : plan) {
      (*ctx)->truncate(0);
      std::span<const float> last;
      for (int64_t k = start; k < target; ++k) {
        const int32_t tok = k == start ? tok_->bos_id() : t[static_cast<size_t>(k)];
        auto r = (*ctx)->decode(std::span<const int32_t>(&tok, 1));
        ASSERT_TRUE(r.ok());
        last = *r;
      }
      long double mx = -INFINITY, sum = 0;
      for (float v : last) mx = std::max<long double>(mx, v);
      for (float v : last) sum += std::exp(static_cast<long double>(v) - mx);
      const long double v = mx + std::log(sum) - last[static_cast<size_t>(t[static_cast<size_t>(target)])];
      *nats += v;
      *nats2 += v * v;
      ++*scored;
    }
  }

  test::TempDir dir_;
  std::unique_ptr<model::Model> model_;
  std::optional<tokenize::Tokenizer> tok_;
};

const std::string kText =
    "La Fragua lee el texto entero, lo corta en trozos y puntúa la segunda mitad de cada uno; "
    "euskaraz ere bai: testua zatitan ebakitzen da eta zati bakoitzaren bigarren erdia neurtzen da.";

TEST_F(PerplexityModel, ChunksMatchTokenByTokenReference) {
  for (int32_t parallel : {1, 3}) {
    auto r = perplexity(*model_, *tok_, kText, {.n_ctx = 16, .n_parallel = parallel, .n_threads = 1});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    long double nats = 0, nats2 = 0;
    uint64_t scored = 0;
    reference(kText, 16, 0, &nats, &nats2, &scored);
    const size_t n_tokens = tok_->encode(kText, true, false).size();
    EXPECT_EQ(r->n_windows, static_cast<int64_t>(n_tokens / 16));
    EXPECT_EQ(r->loss.scored, scored);
    EXPECT_EQ(r->loss.scored, static_cast<uint64_t>(r->n_windows) * (16 - 8 - 1));
    EXPECT_NEAR(r->loss.nats, static_cast<double>(nats), 1e-4 * static_cast<double>(nats)) << parallel;
    EXPECT_NEAR(r->nats2, static_cast<double>(nats2), 1e-4 * static_cast<double>(nats2));
    const double n = static_cast<double>(scored), mean = static_cast<double>(nats) / n;
    const double ppl = std::exp(mean);
    EXPECT_NEAR(r->ppl(), ppl, 1e-4 * ppl);
    const double err = std::sqrt((static_cast<double>(nats2) / n - mean * mean) / (n - 1)) * ppl;
    EXPECT_NEAR(r->ppl_error(), err, 1e-3 * err);
    ASSERT_EQ(r->running_ppl.size(), static_cast<size_t>(r->n_windows));
    EXPECT_DOUBLE_EQ(r->running_ppl.back(), r->ppl());
    // Bits per byte: the scored tokens' mean loss over the whole text's tokens (no BOS) and bytes.
    EXPECT_EQ(r->loss.tokens, n_tokens - 1);
    EXPECT_EQ(r->loss.bytes, kText.size());
    EXPECT_NEAR(r->loss.bits_per_byte(), mean / std::log(2.0) * static_cast<double>(n_tokens - 1) / kText.size(),
                1e-4);
  }
}

TEST_F(PerplexityModel, SlidingWindowMatchesTokenByTokenReference) {
  for (int64_t stride : {5, 15}) {
    auto r = perplexity(*model_, *tok_, kText, {.n_ctx = 16, .stride = stride, .n_parallel = 4, .n_threads = 1});
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    long double nats = 0, nats2 = 0;
    uint64_t scored = 0;
    reference(kText, 16, stride, &nats, &nats2, &scored);
    EXPECT_EQ(r->loss.scored, tok_->encode(kText, true, false).size() - 1);  // every token but BOS
    EXPECT_EQ(r->loss.scored, scored);
    EXPECT_NEAR(r->loss.nats, static_cast<double>(nats), 1e-4 * static_cast<double>(nats)) << stride;
  }
}

TEST_F(PerplexityModel, TooShortTextIsAnError) {
  auto r = perplexity(*model_, *tok_, "corto", {.n_ctx = 16, .n_threads = 1});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::invalid_argument);
}

}  // namespace
}  // namespace fragua::eval
