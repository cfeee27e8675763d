// SPDX-License-Identifier: Apache-2.0
// Multiple-choice scoring: the harness's context/continuation split, the metrics on worked
// examples, the log-likelihoods of a tiny random model against a token-by-token long-double
// reference (each choice from an empty cache: no prefix reuse), and a whole task against the
// float64 PyTorch reference tests/reference/eval/mc_ref.py.
#include "fragua/eval/multiple_choice.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/eval/harness.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

TEST(McMetrics, ArgmaxAndLengthNormalisation) {
  // acc_norm divides by code points (Python's len), not bytes: "ñ" is 1 character, 2 bytes.
  // -3/1 < -5/2, so the normalised choice is "ab"; by bytes it would be "ñ" (-1.5 > -2.5).
  auto o = score_question({-3.0, -5.0}, {"ñ", "ab"}, 1);
  EXPECT_EQ(o.pred, 0u);
  EXPECT_EQ(o.pred_norm, 1u);
  EXPECT_EQ(o.acc, 0.0);
  EXPECT_EQ(o.acc_norm, 1.0);
  // Ties: the first maximum (numpy's argmax).
  EXPECT_EQ(score_question({-1.0, -1.0}, {"a", "b"}, 1).pred, 0u);
  EXPECT_EQ(code_points("Euskal Herria: ñ, ç, €"), 22u);
}

TEST(McMetrics, MeanStderrIsTheHarnessFormula) {
  // mean 0.75; sample std sqrt((3 * 0.25^2 + 0.75^2) / 3) = 0.5; over sqrt(4): 0.25.
  auto m = mean_stderr({1, 0, 1, 1});
  EXPECT_DOUBLE_EQ(m.mean, 0.75);
  EXPECT_DOUBLE_EQ(m.stderr_, 0.25);
  EXPECT_EQ(mean_stderr({1}).stderr_, 0.0);
}

class McModel : public ::testing::Test {
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
    auto c = model::Context::create(*model_, {.n_ctx = 64, .n_threads = 1});
    ASSERT_TRUE(c.ok());
    ctx_ = std::move(*c);
  }

  double reference_ll(const std::vector<int32_t>& context, const std::vector<int32_t>& cont) {
    std::vector<int32_t> all = context;
    all.insert(all.end(), cont.begin(), cont.end());
    ctx_->truncate(0);
    long double total = 0;
    for (size_t k = 0; k + 1 < all.size(); ++k) {
      auto r = ctx_->decode(std::span<const int32_t>(&all[k], 1));
      EXPECT_TRUE(r.ok());
      if (k + 1 < context.size()) continue;
      long double mx = -INFINITY, sum = 0;
      for (float v : *r) mx = std::max<long double>(mx, v);
      for (float v : *r) sum += std::exp(static_cast<long double>(v) - mx);
      total -= mx + std::log(sum) - (*r)[static_cast<size_t>(all[k + 1])];
    }
    ctx_->truncate(0);
    return static_cast<double>(total);
  }

  test::TempDir dir_;
  std::string path_;
  std::unique_ptr<model::Model> model_;
  std::optional<tokenize::Tokenizer> tok_;
  std::unique_ptr<model::Context> ctx_;
};

TEST_F(McModel, EncodePairMovesTrailingSpacesAndSplitsTheWholeEncoding) {
  auto p = encode_pair(*tok_, "Galdera: nork idatzi zuen?  ", "Mikelek");
  ASSERT_TRUE(p.ok());
  const auto ctx = tok_->encode("Galdera: nork idatzi zuen?", false, false);
  const auto whole = tok_->encode("Galdera: nork idatzi zuen?  Mikelek", false, false);
  EXPECT_EQ(p->context, ctx);
  EXPECT_EQ(p->continuation, std::vector<int32_t>(whole.begin() + static_cast<ptrdiff_t>(ctx.size()), whole.end()));
  // An empty context: the BOS token, then the continuation alone.
  auto e = encode_pair(*tok_, "", " hola");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->context, std::vector<int32_t>{tok_->bos_id()});
  EXPECT_EQ(e->continuation, tok_->encode(" hola", false, false));
  auto b = encode_pair(*tok_, "Hola", " món", /*add_bos=*/true);
  EXPECT_EQ(b->context.front(), tok_->bos_id());
}

TEST_F(McModel, PrefixReuseMatchesEachChoiceFromScratch) {
  const std::string context = "Aukeratu: katua ala txakurra?";
  const std::vector<std::string> conts = {" katua", " txakurra", " biak", " x"};
  auto got = score_continuations(*ctx_, *tok_, context, conts);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), conts.size());
  for (size_t i = 0; i < conts.size(); ++i) {
    const auto p = *encode_pair(*tok_, context, conts[i]);
    EXPECT_EQ((*got)[i].n_tokens, p.continuation.size());
    const double want = reference_ll(p.context, p.continuation);
    EXPECT_NEAR((*got)[i].loglikelihood, want, 1e-4 * std::abs(want)) << conts[i];
    EXPECT_LT((*got)[i].loglikelihood, 0);
  }
  EXPECT_EQ(ctx_->n_past(), 0);
  // A continuation longer than the window is refused.
  EXPECT_FALSE(score_continuations(*ctx_, *tok_, "a", {std::string(200, 'z')}).ok());
}

// Several questions in one BatchContext (3 slots for 5 questions: a full group and a partial one),
// with 1 to 4 choices of one or several tokens, and a context longer than the 64-token window
// (left-truncated): each score as score_continuations gives it one question at a time.
TEST_F(McModel, BatchedQuestionsScoreAsOneAtATime) {
  const std::string long_context(150, 'k');
  const std::vector<ChoiceRequest> requests = {
      {"Aukeratu: katua ala txakurra?", {" katua", " txakurra", " biak", " x"}},
      {"Zein da hiriburua?", {" Gasteiz", " Bilbo"}},
      {"", {"Umeak ogia jan du.", "Umeak ogia jan dute."}},
      {long_context + " amaiera", {" bat", " bi", " hiru"}},
      {"Bakarra:", {" y"}},
  };
  auto b = model::BatchContext::create(*model_, {.n_seq = 3, .n_ctx_per_seq = 64, .n_threads = 1});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  auto got = score_continuations_batched(**b, *tok_, requests);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_EQ(got->size(), requests.size());
  double worst = 0;
  for (size_t q = 0; q < requests.size(); ++q) {
    auto want = score_continuations(*ctx_, *tok_, requests[q].context, requests[q].continuations);
    ASSERT_TRUE(want.ok()) << want.error().to_string();
    ASSERT_EQ((*got)[q].size(), want->size()) << q;
    for (size_t c = 0; c < want->size(); ++c) {
      const double w = (*want)[c].loglikelihood, g = (*got)[q][c].loglikelihood;
      EXPECT_NEAR(g, w, 1e-5 * std::abs(w)) << q << " " << c;
      worst = std::max(worst, std::abs(g - w) / std::abs(w));
      EXPECT_EQ((*got)[q][c].n_tokens, (*want)[c].n_tokens) << q << " " << c;
    }
  }
  RecordProperty("worst_relative_difference", std::to_string(worst));
  for (int32_t s = 0; s < 3; ++s) EXPECT_EQ((*b)->n_past(s), 0);
  // A continuation longer than the window is refused, naming the question.
  const std::vector<ChoiceRequest> bad = {{"a", {" b"}}, {"a", {std::string(200, 'z')}}};
  auto e = score_continuations_batched(**b, *tok_, bad);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().to_string().find("question 1"), std::string::npos) << e.error().to_string();
}

// Each continuation token's log-probability, in both paths: the ids are encode_pair's, the values
// sum to the choice's log-likelihood, and each one is the token-by-token reference's for that
// token (the choice cut after it), so a caller can renormalise (bench/eval_mc.py computes
// llama-perplexity's mean per token after the shared prefix from them).
TEST_F(McModel, TokenLogprobsAreEachTokensReference) {
  const std::vector<ChoiceRequest> requests = {
      {"Aukeratu: katua ala txakurra?", {" katua", " txakurra", " x"}},
      {"", {"Umeak ogia jan du.", "Umeak ogia jan dute."}},
  };
  auto b = model::BatchContext::create(*model_, {.n_seq = 2, .n_ctx_per_seq = 64, .n_threads = 1});
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  auto batched = score_continuations_batched(**b, *tok_, requests);
  ASSERT_TRUE(batched.ok()) << batched.error().to_string();
  for (size_t q = 0; q < requests.size(); ++q) {
    auto single = score_continuations(*ctx_, *tok_, requests[q].context, requests[q].continuations);
    ASSERT_TRUE(single.ok()) << single.error().to_string();
    for (size_t c = 0; c < requests[q].continuations.size(); ++c) {
      const auto p = *encode_pair(*tok_, requests[q].context, requests[q].continuations[c]);
      for (const ChoiceScore* s : {&(*single)[c], &(*batched)[q][c]}) {
        ASSERT_EQ(s->tokens, p.continuation) << q << " " << c;
        ASSERT_EQ(s->token_logprobs.size(), p.continuation.size()) << q << " " << c;
        double sum = 0;
        for (size_t i = 0; i < p.continuation.size(); ++i) {
          sum += s->token_logprobs[i];
          const std::vector<int32_t> upto(p.continuation.begin(), p.continuation.begin() + static_cast<ptrdiff_t>(i + 1));
          const double before = i == 0 ? 0.0 : reference_ll(p.context, {p.continuation.begin(),
                                                                         p.continuation.begin() + static_cast<ptrdiff_t>(i)});
          const double want = reference_ll(p.context, upto) - before;
          EXPECT_NEAR(s->token_logprobs[i], want, 1e-4 * std::abs(want) + 1e-6) << q << " " << c << " " << i;
        }
        EXPECT_NEAR(sum, s->loglikelihood, 1e-9 * std::abs(sum)) << q << " " << c;
      }
    }
  }
}

TEST_F(McModel, TaskMatchesThePyTorchReference) {
  if (test::run_command(test::python() + " -c 'import torch, numpy'") != 0)
    GTEST_SKIP() << "python3 with torch and numpy (Debian python3-torch, python3-numpy) not available";
  ASSERT_TRUE(write_file_atomic(dir_.file("mp.yaml"),
                                "task: minimal_pairs\ndataset_path: mp\ntest_split: test\n"
                                "doc_to_text: \"Esaldi zuzena:\"\ndoc_to_choice: \"{{[good, bad]}}\"\n"
                                "doc_to_target: 0\nmetadata: {version: 1, language: eu}\n")
                  .ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir_.file("mp")).ok());
  const char* pairs[][2] = {{"Umeak ogia jan du.", "Umeak ogia jan dute."},
                            {"Nik liburua irakurri dut.", "Ni liburua irakurri dut."},
                            {"Zuek etxera joan zarete.", "Zuek etxera joan zara."},
                            {"Haiek kalean daude.", "Haiek kalean dago."},
                            {"Guk sagarrak erosi ditugu.", "Guk sagarrak erosi dugu."},
                            {"El niño come pan.", "El niño comen pan."}};
  std::string lines;
  for (const auto& p : pairs) lines += nlohmann::json{{"good", p[0]}, {"bad", p[1]}}.dump() + "\n";
  ASSERT_TRUE(write_file_atomic(dir_.file("mp/test.jsonl"), lines).ok());
  auto task = load_task(dir_.file("mp.yaml"));
  ASSERT_TRUE(task.ok()) << task.error().to_string();
  auto r = run_task(*ctx_, *tok_, *task, {});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->questions.size(), std::size(pairs));

  nlohmann::json in = {{"questions", nlohmann::json::array()}};
  auto prepared = prepare_task(*task, {});
  ASSERT_TRUE(prepared.ok());
  for (const auto& q : prepared->questions) {
    nlohmann::json jq = {{"gold", q.gold}, {"continuations", nlohmann::json::array()}, {"choice_chars", nlohmann::json::array()}};
    for (const auto& c : q.choices) {
      const auto p = *encode_pair(*tok_, q.context, " " + c);
      jq["context"] = p.context;
      jq["continuations"].push_back(p.continuation);
      jq["choice_chars"].push_back(code_points(c));
    }
    in["questions"].push_back(jq);
  }
  ASSERT_TRUE(write_file_atomic(dir_.file("in.json"), in.dump()).ok());
  std::string log;
  ASSERT_EQ(test::run_command(test::python() + " " + test::source_dir() + "/tests/reference/eval/mc_ref.py " + path_ +
                                  " " + dir_.file("in.json") + " " + dir_.file("out.json"),
                              &log),
            0)
      << log;
  const auto ref = nlohmann::json::parse(*read_file(dir_.file("out.json")));
  for (size_t q = 0; q < r->questions.size(); ++q)
    for (size_t c = 0; c < 2; ++c) {
      const double want = ref["loglikelihoods"][q][c].get<double>();
      EXPECT_NEAR(r->questions[q].loglikelihoods[c], want, 1e-4 * std::abs(want)) << q << " " << c;
    }
  EXPECT_DOUBLE_EQ(r->metrics.at("acc").mean, ref["acc"].get<double>());
  EXPECT_NEAR(r->metrics.at("acc").stderr_, ref["acc_stderr"].get<double>(), 1e-12);
  EXPECT_DOUBLE_EQ(r->metrics.at("acc_norm").mean, ref["acc_norm"].get<double>());
  EXPECT_NEAR(r->metrics.at("acc_norm").stderr_, ref["acc_norm_stderr"].get<double>(), 1e-12);

  // The results JSON: the harness's keys.
  const auto j = results_json({*r}, {*task}, {{"model", "tiny"}});
  EXPECT_DOUBLE_EQ(j["results"]["minimal_pairs"]["acc,none"].get<double>(), r->metrics.at("acc").mean);
  EXPECT_TRUE(j["results"]["minimal_pairs"].contains("acc_norm_stderr,none"));
  EXPECT_EQ(j["n-shot"]["minimal_pairs"], 0);
  EXPECT_EQ(j["versions"]["minimal_pairs"], 1.0);
  EXPECT_EQ(j["n-samples"]["minimal_pairs"]["effective"], std::size(pairs));
  EXPECT_EQ(j["config"]["model"], "tiny");
}

// run_task with batch_size 4 (6 questions, 1-shot) gives the log-likelihoods of batch_size 1
// within 1e-5 and the same outcomes.
TEST_F(McModel, BatchedTaskEqualsUnbatched) {
  ASSERT_TRUE(write_file_atomic(dir_.file("mp.yaml"),
                                "task: mp\ndataset_path: mp\ntest_split: test\nfewshot_split: test\nnum_fewshot: 1\n"
                                "doc_to_text: \"{{q}}\"\ndoc_to_choice: \"{{[a, b, c]}}\"\ndoc_to_target: 1\n")
                  .ok());
  ASSERT_TRUE(Env::posix().create_dirs(dir_.file("mp")).ok());
  std::string lines;
  for (int i = 0; i < 6; ++i)
    lines += nlohmann::json{{"q", "Galdera " + std::to_string(i) + ":"}, {"a", "bai"}, {"b", "ez " + std::to_string(i)},
                            {"c", std::string(static_cast<size_t>(i + 1), 'o')}}
                 .dump() +
             "\n";
  ASSERT_TRUE(write_file_atomic(dir_.file("mp/test.jsonl"), lines).ok());
  auto task = load_task(dir_.file("mp.yaml"));
  ASSERT_TRUE(task.ok()) << task.error().to_string();
  auto one = run_task(*ctx_, *tok_, *task, {});
  auto four = run_task(*ctx_, *tok_, *task, {.batch_size = 4, .n_threads = 1});
  ASSERT_TRUE(one.ok()) << one.error().to_string();
  ASSERT_TRUE(four.ok()) << four.error().to_string();
  ASSERT_EQ(four->questions.size(), 6u);
  for (size_t q = 0; q < 6; ++q) {
    EXPECT_EQ(four->questions[q].doc, q);
    EXPECT_EQ(four->questions[q].shots, one->questions[q].shots);
    for (size_t c = 0; c < 3; ++c) {
      const double w = one->questions[q].loglikelihoods[c];
      EXPECT_NEAR(four->questions[q].loglikelihoods[c], w, 1e-5 * std::abs(w)) << q << " " << c;
    }
    EXPECT_EQ(four->questions[q].outcome.pred, one->questions[q].outcome.pred) << q;
    EXPECT_EQ(four->questions[q].outcome.pred_norm, one->questions[q].outcome.pred_norm) << q;
  }
  EXPECT_EQ(four->metrics.at("acc").mean, one->metrics.at("acc").mean);
}

}  // namespace
}  // namespace fragua::eval
