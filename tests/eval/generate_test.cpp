// SPDX-License-Identifier: Apache-2.0
// generate_until and loglikelihood_rolling on a tiny random model, against references written
// here from the harness's definitions: greedy decoding one token at a time from an empty cache,
// and get_rolling_token_windows / make_disjoint_window transcribed from lm_eval/utils.py, each
// window decoded token by token in long double.
#include "fragua/eval/generate.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/eval/harness.h"
#include "fragua/eval/text_metrics.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

class GenModel : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.file("tiny.gguf");
    ASSERT_TRUE(model::write_random_model(model::tiny_model_spec(), path_).ok());
    auto m = model::Model::load(path_);
    ASSERT_TRUE(m.ok()) << m.error().to_string();
    model_ = std::move(*m);
    auto t = tokenize::Tokenizer::from_gguf(model_->gguf());
    ASSERT_TRUE(t.ok()) << t.error().to_string();
    tok_.emplace(std::move(*t));
    ctx_ = make_context(64);
  }

  std::unique_ptr<model::Context> make_context(int64_t n_ctx) {
    auto c = model::Context::create(*model_, {.n_ctx = n_ctx, .n_threads = 1});
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  }

  // Greedy tokens after `prompt`, one decode call per token from an empty cache each time.
  std::vector<int32_t> reference_greedy(std::vector<int32_t> prompt, int n) {
    std::vector<int32_t> out;
    for (int i = 0; i < n; ++i) {
      ctx_->truncate(0);
      auto r = ctx_->decode(prompt);
      EXPECT_TRUE(r.ok());
      const auto best = static_cast<int32_t>(std::max_element(r->begin(), r->end()) - r->begin());
      if (tok_->is_eog(best)) break;
      out.push_back(best);
      prompt.push_back(best);
    }
    ctx_->truncate(0);
    return out;
  }

  test::TempDir dir_;
  std::string path_;
  std::unique_ptr<model::Model> model_;
  std::optional<tokenize::Tokenizer> tok_;
  std::unique_ptr<model::Context> ctx_;
};

TEST_F(GenModel, GreedyUntilMaxTokensAndStopStrings) {
  const std::string context = "Zenbat dira bi eta hiru?";
  const auto prompt = tok_->encode(context, false, false);
  const auto want = reference_greedy(prompt, 6);
  ASSERT_FALSE(want.empty());
  auto got = generate_until(*ctx_, *tok_, context, {.until = {}, .max_gen_toks = static_cast<int>(want.size())});
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  const std::string text = tok_->decode(want);
  EXPECT_EQ(*got, text);
  EXPECT_EQ(ctx_->n_past(), 0);
  // A stop string inside the text: the continuation is cut before it (s.split(term)[0]).
  if (text.size() >= 3) {
    const std::string stop = text.substr(text.size() / 2, 2);
    auto cut = generate_until(*ctx_, *tok_, context, {.until = {"\x01never", stop}, .max_gen_toks = 6});
    ASSERT_TRUE(cut.ok());
    EXPECT_EQ(*cut, text.substr(0, text.find(stop)));
  }
  // The budget must leave room for the context.
  EXPECT_FALSE(generate_until(*ctx_, *tok_, context, {.max_gen_toks = 64}).ok());
  EXPECT_FALSE(generate_until(*ctx_, *tok_, context, {.max_gen_toks = 0}).ok());
}

// Five generations through 2 slots (groups of 2, 2, 1), with a stop string that ends some of them
// early and a context left-truncated to the window: the texts generate_until gives one at a time.
TEST_F(GenModel, BatchedGenerationsEqualOneAtATime) {
  const std::vector<std::string> contexts = {"Zenbat dira bi eta hiru?", "Hola", std::string(100, 'q') + " fin",
                                             "Bon dia a tothom", "Ola"};
  // A stop string the first free-running continuation contains, so that a sequence stops early.
  auto whole = generate_until(*ctx_, *tok_, contexts[0], {.max_gen_toks = 8});
  ASSERT_TRUE(whole.ok()) << whole.error().to_string();
  std::vector<std::string> until = {"\x01never"};
  if (whole->size() >= 3) until.push_back(whole->substr(whole->size() / 2, 2));
  const GenerationOptions o{.until = until, .max_gen_toks = 8};
  auto b = model::BatchContext::create(*model_, {.n_seq = 2, .n_ctx_per_seq = 64, .n_threads = 1});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  auto got = generate_until_batched(**b, *tok_, contexts, o);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), contexts.size());
  for (size_t i = 0; i < contexts.size(); ++i) {
    auto want = generate_until(*ctx_, *tok_, contexts[i], o);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ((*got)[i], *want) << i;
  }
  if (until.size() > 1) EXPECT_EQ((*got)[0], whole->substr(0, whole->find(until[1])));
  EXPECT_EQ((*b)->n_past(0), 0);
  EXPECT_FALSE(generate_until_batched(**b, *tok_, contexts, {.max_gen_toks = 64}).ok());
}

// lm_eval/utils.py get_rolling_token_windows + make_disjoint_window, as Python writes them.
std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> harness_windows(const std::vector<int32_t>& toks,
                                                                                   int32_t prefix, size_t max_seq_len) {
  std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> out;
  if (toks.empty()) return out;
  const size_t context_len = 1, pred_len = max_seq_len - context_len + 1;
  size_t predicted = 0;
  const size_t first = std::min(max_seq_len, toks.size());
  std::vector<int32_t> a = {prefix};
  a.insert(a.end(), toks.begin(), toks.begin() + static_cast<ptrdiff_t>(first - 1));
  out.emplace_back(a, std::vector<int32_t>(toks.begin(), toks.begin() + static_cast<ptrdiff_t>(first)));
  predicted += first;
  while (predicted < toks.size()) {
    const size_t wpl = std::min(toks.size() - predicted, pred_len), end = predicted + wpl;
    out.emplace_back(std::vector<int32_t>(toks.begin() + static_cast<ptrdiff_t>(end - max_seq_len - 1),
                                          toks.begin() + static_cast<ptrdiff_t>(end - 1)),
                     std::vector<int32_t>(toks.begin() + static_cast<ptrdiff_t>(end - wpl),
                                          toks.begin() + static_cast<ptrdiff_t>(end)));
    predicted += wpl;
  }
  for (auto& [ctx, cont] : out) ctx.resize(ctx.size() - (cont.size() - 1));  // make_disjoint_window
  return out;
}

TEST_F(GenModel, RollingMatchesTheHarnessWindows) {
  const std::string text =
      "Bazen behin errege bat, eta erregeak hiru alaba zituen. La niña leía un libro muy largo. "
      "O neno comía pan con manteiga e a nena bebía leite.";
  const auto toks = tok_->encode(text, false, false);
  for (int64_t n_ctx : {8, 64}) {
    auto ctx = make_context(n_ctx);
    auto got = loglikelihood_rolling(*ctx, *tok_, text);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(got->n_tokens, toks.size());
    // The reference: each window's (context, continuation) read as the harness's
    // _loglikelihood_tokens does, (context + continuation)[-(max_length + 1):][:-1], token by
    // token from an empty cache.
    long double want = 0;
    const auto windows = harness_windows(toks, tok_->bos_id(), static_cast<size_t>(n_ctx));
    EXPECT_EQ(got->n_windows, windows.size());
    size_t predicted = 0;
    for (const auto& [c, cont] : windows) {
      std::vector<int32_t> all = c;
      all.insert(all.end(), cont.begin(), cont.end());
      ASSERT_LE(all.size(), static_cast<size_t>(n_ctx) + 1);
      ctx->truncate(0);
      for (size_t k = 0; k + 1 < all.size(); ++k) {
        auto r = ctx->decode(std::span<const int32_t>(&all[k], 1));
        ASSERT_TRUE(r.ok());
        if (k + 1 < c.size()) continue;
        long double mx = -INFINITY, sum = 0;
        for (float v : *r) mx = std::max<long double>(mx, v);
        for (float v : *r) sum += std::exp(static_cast<long double>(v) - mx);
        want -= mx + std::log(sum) - (*r)[static_cast<size_t>(all[k + 1])];
      }
      predicted += cont.size();
    }
    EXPECT_EQ(predicted, toks.size());  // every token once
    EXPECT_NEAR(got->loglikelihood, static_cast<double>(want), 1e-4 * std::abs(static_cast<double>(want))) << n_ctx;
    if (n_ctx == 8) EXPECT_GT(got->n_windows, 2u);
  }
  auto empty = loglikelihood_rolling(*ctx_, *tok_, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->n_tokens, 0u);
}

TEST(RollingWindows, CoverEveryTokenOnce) {
  for (size_t n : {1, 5, 8, 9, 17, 100})
    for (size_t len : {1, 2, 8}) {
      size_t next = 1;
      for (const auto& w : rolling_windows(n, len)) {
        EXPECT_EQ(w.score_begin, next);
        EXPECT_LE(w.input_end - w.input_begin, len);
        EXPECT_GE(w.score_begin, w.input_begin + 1);
        next = w.input_end + 1;
      }
      EXPECT_EQ(next, n + 1) << n << " " << len;
    }
}

TEST(HarnessCounts, CountWordsIsPythonsReSplit) {
  // len(re.split(r"\s+", s)).
  EXPECT_EQ(count_words("a b"), 2u);
  EXPECT_EQ(count_words(" a"), 2u);
  EXPECT_EQ(count_words("a  \n b "), 3u);
  EXPECT_EQ(count_words(""), 1u);
}

TEST_F(GenModel, GenerativeAndRollingTasks) {
  ASSERT_TRUE(Env::posix().create_dirs(dir_.file("d")).ok());
  ASSERT_TRUE(write_file_atomic(dir_.file("d/test.jsonl"),
                                "{\"q\": \"Bi gehi bi?\", \"a\": \"4\"}\n{\"q\": \"Hiru gehi bat?\", \"a\": \"4\"}\n"
                                "{\"q\": \"Bat gehi bat?\", \"a\": \"2\"}\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir_.file("gen.yaml"),
                                "task: sums\ndataset_path: d\ntest_split: test\nfewshot_split: test\noutput_type: generate_until\n"
                                "doc_to_text: \"{{q}}\"\ndoc_to_target: a\nnum_fewshot: 1\n"
                                "generation_kwargs: {until: [\"\\n\"], max_gen_toks: 5}\n"
                                "metric_list: [{metric: exact_match}, {metric: chrf}, {metric: bleu}]\n")
                  .ok());
  auto task = load_task(dir_.file("gen.yaml"));
  ASSERT_TRUE(task.ok()) << task.error().to_string();
  auto r = run_task(*ctx_, *tok_, *task, {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->questions.size(), 3u);
  std::vector<std::string> hyps;
  std::vector<std::vector<std::string>> refs;
  double exact = 0;
  for (const auto& q : r->questions) {
    EXPECT_EQ(q.generation.find('\n'), std::string::npos);
    hyps.push_back(q.generation);
    refs.push_back({q.reference});
    exact += q.generation == q.reference ? 1.0 : 0.0;
  }
  EXPECT_EQ(r->questions[0].reference, "4");
  EXPECT_DOUBLE_EQ(r->metrics.at("exact_match").mean, exact / 3);
  EXPECT_DOUBLE_EQ(r->metrics.at("chrf").mean, corpus_chrf(hyps, refs));
  EXPECT_DOUBLE_EQ(r->metrics.at("bleu").mean, corpus_bleu(hyps, refs));
  // Two questions per forward pass: the same generations.
  auto rb = run_task(*ctx_, *tok_, *task, {.batch_size = 2, .n_threads = 1});
  ASSERT_TRUE(rb.ok()) << rb.error().to_string();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(rb->questions[i].generation, r->questions[i].generation) << i;

  ASSERT_TRUE(write_file_atomic(dir_.file("roll.yaml"),
                                "task: roll\ndataset_path: d\ntest_split: test\noutput_type: loglikelihood_rolling\n"
                                "doc_to_target: \"{{q}} {{a}}\"\n")
                  .ok());
  auto roll = load_task(dir_.file("roll.yaml"));
  ASSERT_TRUE(roll.ok()) << roll.error().to_string();
  auto rr = run_task(*ctx_, *tok_, *roll, {.batch_size = 4});  // rolling windows run one at a time
  ASSERT_TRUE(rr.ok()) << rr.error().to_string();
  double ll = 0, words = 0, bytes = 0;
  for (const char* t : {"Bi gehi bi? 4", "Hiru gehi bat? 4", "Bat gehi bat? 2"}) {
    ll += loglikelihood_rolling(*ctx_, *tok_, t)->loglikelihood;
    words += static_cast<double>(count_words(t));
    bytes += static_cast<double>(std::string_view(t).size());
  }
  EXPECT_NEAR(rr->metrics.at("word_perplexity").mean, std::exp(-ll / words), 1e-9 * std::exp(-ll / words));
  EXPECT_NEAR(rr->metrics.at("byte_perplexity").mean, std::exp(-ll / bytes), 1e-9 * std::exp(-ll / bytes));
  EXPECT_NEAR(rr->metrics.at("bits_per_byte").mean, -ll / bytes / std::log(2.0), 1e-9);
  const auto j = results_json({*rr}, {*roll}, {});
  EXPECT_EQ(j["results"]["roll"]["bits_per_byte_stderr,none"], "N/A");
}

}  // namespace
}  // namespace fragua::eval
