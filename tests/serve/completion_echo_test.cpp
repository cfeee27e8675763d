// SPDX-License-Identifier: Apache-2.0
// /v1/completions with echo: true and max_tokens 0 (fragua eval's remote log-likelihood
// requests) or 1 (lm-evaluation-harness's local-completions): the prompt's log-probabilities
// against a token-by-token decode of the same model, the harness's request parsed as its
// parse_logprobs parses it, the refusals, and `fragua eval run --remote` through the server against local scoring of the
// same model on a small multiple-choice task.
#include <gtest/gtest.h>

#include <cmath>

#include "fragua/base/file.h"
#include "fragua/eval/harness.h"
#include "fragua/eval/multiple_choice.h"
#include "fragua/eval/remote_model.h"
#include "fragua/eval/task.h"
#include "fragua/model/model.h"
#include "fragua/serve/server.h"
#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

class EchoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = write_model_files(256);
    auto s = Server::create(tiny_options());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = std::move(*s);
    ASSERT_TRUE(server_->start().ok());
    ASSERT_TRUE(server_->set_model(open_tiny(*files_)).ok());
    local_ = open_tiny(*files_);
    auto c = model::Context::create(*local_->model, {.n_ctx = 128, .n_threads = 1});
    ASSERT_TRUE(c.ok());
    ctx_ = std::move(*c);
  }
  json post(const json& body, int want_status = 200) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    auto r = c.Post("/v1/completions", body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1"; }

  std::unique_ptr<ModelFiles> files_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<model::LoadedModel> local_;
  std::unique_ptr<model::Context> ctx_;
};

TEST_F(EchoTest, PromptLogprobsMatchATokenByTokenDecode) {
  const std::string prompt = "Hola, ñu.";
  json r = post({{"prompt", prompt}, {"echo", true}, {"max_tokens", 0}, {"logprobs", 2}});
  const json& c = r["choices"][0];
  EXPECT_EQ(c["text"], prompt);
  const json& lp = c["logprobs"];
  // The tokenizer's BOS is read, not echoed: the tokens spell the prompt at their offsets.
  std::string spelled;
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_EQ(lp["text_offset"][i], spelled.size());
    spelled += lp["tokens"][i].get<std::string>();
  }
  EXPECT_EQ(spelled, prompt);
  auto ids = local_->tokenizer->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  ASSERT_EQ(ids.size(), lp["tokens"].size() + 1);
  ASSERT_EQ(ids[0], local_->tokenizer->bos_id());
  ctx_->truncate(0);
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    auto logits = ctx_->decode(std::span<const int32_t>(&ids[i], 1));
    ASSERT_TRUE(logits.ok());
    long double mx = -INFINITY, sum = 0;
    for (float v : *logits) mx = std::max<long double>(mx, v);
    for (float v : *logits) sum += std::exp(static_cast<long double>(v) - mx);
    const double want = static_cast<double>((*logits)[static_cast<size_t>(ids[i + 1])] - mx - std::log(sum));
    EXPECT_NEAR(lp["token_logprobs"][i].get<double>(), want, 1e-5) << i;
    ASSERT_EQ(lp["top_logprobs"][i].size(), 2u);
  }
  EXPECT_EQ(r["usage"]["prompt_tokens"], ids.size());
  EXPECT_EQ(r["usage"]["completion_tokens"], 0);
}

// The request lm-evaluation-harness's local-completions sends for loglikelihood requests
// (lm_eval/models/openai_completions.py, _create_payload with generate=False: token-id prompts,
// batched, temperature 0, max_tokens 1, logprobs 1, seed, echo), and its parse_logprobs: per
// choice, sorted by index, sum(token_logprobs[ctxlen:-1]), greedy when each of those equals
// max(top_logprobs[i].values()). The answer must index token_logprobs by prompt token and put
// the one generated token last.
TEST_F(EchoTest, HarnessLocalCompletionsLoglikelihood) {
  const auto& tok = *local_->tokenizer;
  const std::string context = "Galdera: nor?";
  const std::vector<std::string> conts = {" Miren", " Jon eta Ane"};
  json prompts = json::array();
  std::vector<size_t> ctxlens;
  for (const auto& c : conts) {
    auto p = eval::encode_pair(tok, context, c);
    ASSERT_TRUE(p.ok());
    std::vector<int32_t> ids = p->context;
    ids.insert(ids.end(), p->continuation.begin(), p->continuation.end());
    prompts.push_back(ids);
    ctxlens.push_back(p->context.size());
  }
  json r = post({{"model", "tiny"}, {"prompt", prompts}, {"temperature", 0}, {"max_tokens", 1}, {"logprobs", 1},
                 {"seed", 1234}, {"echo", true}});
  ASSERT_EQ(r["choices"].size(), conts.size());
  auto want = eval::score_continuations(*ctx_, tok, context, conts);
  ASSERT_TRUE(want.ok()) << want.error().to_string();
  for (const json& c : r["choices"]) {
    const size_t i = c["index"].get<size_t>();
    ASSERT_LT(i, conts.size());
    const json& lp = c["logprobs"];
    const size_t n_prompt = prompts[i].size();
    // One entry per prompt token, then the generated one.
    ASSERT_EQ(lp["token_logprobs"].size(), n_prompt + 1);
    ASSERT_EQ(lp["tokens"].size(), n_prompt + 1);
    ASSERT_EQ(lp["top_logprobs"].size(), n_prompt + 1);
    ASSERT_EQ(lp["text_offset"].size(), n_prompt + 1);
    EXPECT_TRUE(lp["token_logprobs"][0].is_null());
    for (size_t k = 1; k < lp["text_offset"].size(); ++k)
      EXPECT_LE(lp["text_offset"][k - 1].get<int64_t>(), lp["text_offset"][k].get<int64_t>());
    // The generated token is the greedy one: its log-probability is its top entry's.
    const json& last_top = lp["top_logprobs"][n_prompt];
    ASSERT_TRUE(last_top.is_object());
    ASSERT_EQ(last_top.size(), 1u);
    EXPECT_EQ(lp["token_logprobs"][n_prompt].get<double>(), last_top.begin().value().get<double>());
    EXPECT_EQ(lp["tokens"][n_prompt], last_top.begin().key());
    // The text is the prompt's, then the generated token's.
    EXPECT_TRUE(c["text"].get<std::string>().starts_with(tok.decode(prompts[i].get<std::vector<int32_t>>())));
    // parse_logprobs.
    double sum = 0;
    bool greedy = true;
    for (size_t k = ctxlens[i]; k < n_prompt; ++k) {
      sum += lp["token_logprobs"][k].get<double>();
      double best = -INFINITY;
      for (const auto& [piece, v] : lp["top_logprobs"][k].items()) best = std::max(best, v.get<double>());
      if (lp["token_logprobs"][k].get<double>() != best) greedy = false;
    }
    EXPECT_NEAR(sum, (*want)[i].loglikelihood, 1e-4 * (1 + std::abs(sum))) << i;
    EXPECT_EQ(greedy, (*want)[i].greedy) << i;
  }
  EXPECT_EQ(r["usage"]["completion_tokens"], conts.size());
}

TEST_F(EchoTest, RefusesWhatItDoesNotServe) {
  json gen = post({{"prompt", "a"}, {"echo", true}, {"max_tokens", 3}}, 400);
  EXPECT_EQ(gen["error"]["code"], "not_supported");
  EXPECT_EQ(gen["error"]["param"], "echo");
  // One generated token only greedily (the harness sends temperature 0).
  json sampled = post({{"prompt", "a"}, {"echo", true}, {"max_tokens", 1}, {"temperature", 0.8}}, 400);
  EXPECT_EQ(sampled["error"]["param"], "echo");
  json stream = post({{"prompt", "a"}, {"echo", true}, {"max_tokens", 0}, {"stream", true}}, 400);
  EXPECT_EQ(stream["error"]["param"], "echo");
  json zero = post({{"prompt", "a"}, {"max_tokens", 0}}, 400);
  EXPECT_EQ(zero["error"]["param"], "max_tokens");
  json plain = post({{"prompt", "ab"}, {"echo", true}, {"max_tokens", 0}});
  EXPECT_EQ(plain["choices"][0]["text"], "ab");
  EXPECT_TRUE(plain["choices"][0]["logprobs"].is_null());
}

TEST_F(EchoTest, RemoteTaskScoresEqualLocalOnes) {
  fragua::test::TempDir dir;
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("data")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("mc.yaml"),
                                "task: echo_mc\ndataset_path: data\ntest_split: test\n"
                                "doc_to_text: \"{{q}}:\"\ndoc_to_choice: \"{{choices}}\"\ndoc_to_target: gold\n"
                                "metric_list:\n  - metric: acc\n  - metric: acc_norm\n")
                  .ok());
  ASSERT_TRUE(write_file_atomic(dir.file("data/test.jsonl"),
                                R"({"q": "Kaixo", "choices": ["bai", "ez", "agian bai"], "gold": 0})"
                                "\n"
                                R"({"q": "Zenbat dira bi eta bi", "choices": ["lau", "bost"], "gold": 0})"
                                "\n"
                                R"({"q": "Hiriburua", "choices": ["Gasteiz", "Bilbo", "Iruñea"], "gold": 0})"
                                "\n")
                  .ok());
  auto task = eval::load_task(dir.file("mc.yaml"));
  ASSERT_TRUE(task.ok()) << task.error().to_string();
  // The server puts BOS before every prompt, as the harness's add_bos_token=True does locally.
  auto local = eval::run_task(*ctx_, *local_->tokenizer, *task, {.add_bos = true});
  ASSERT_TRUE(local.ok()) << local.error().to_string();
  eval::RemoteModel remote({.base_url = base()});
  auto far = eval::run_task(remote, *task, {.concurrency = 3});
  ASSERT_TRUE(far.ok()) << far.error().to_string();
  ASSERT_EQ(local->questions.size(), 3u);
  for (size_t q = 0; q < 3; ++q) {
    const auto& a = local->questions[q].loglikelihoods;
    const auto& b = far->questions[q].loglikelihoods;
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + std::abs(a[i]))) << q << " " << i;
    EXPECT_EQ(local->questions[q].outcome.pred, far->questions[q].outcome.pred);
    EXPECT_EQ(local->questions[q].outcome.pred_norm, far->questions[q].outcome.pred_norm);
    EXPECT_EQ(local->questions[q].greedy, far->questions[q].greedy);
  }
  EXPECT_EQ(local->metrics.at("acc").mean, far->metrics.at("acc").mean);
}

}  // namespace
}  // namespace fragua::serve
