// SPDX-License-Identifier: Apache-2.0
// Remote scoring as the harness's local-completions does it, against a mock completions server
// on 127.0.0.1 whose "model" splits the prompt at spaces and gives each token -0.5 x its bytes:
// the continuation's tokens found through text_offset (bytes or code points), sums and greedy
// flags, generate_until's stop cut, whole tasks at several concurrencies, and the errors.
#include "fragua/eval/remote_model.h"

#include <atomic>

#include <gtest/gtest.h>
#include <httplib.h>

#include "fragua/base/file.h"
#include "fragua/eval/harness.h"
#include "fragua/eval/task.h"
#include "http_fixture.h"
#include "test_util.h"

namespace fragua::eval {
namespace {

using test::LocalServer;

// Tokens: each starts at the text's beginning or at a space. A token holding "x" is not its
// position's most likely one (top_logprobs names "Z").
nlohmann::json mock_echo_answer(const std::string& prompt, bool offsets_in_chars) {
  nlohmann::json tokens = nlohmann::json::array(), lps = nlohmann::json::array(), offs = nlohmann::json::array(),
                 top = nlohmann::json::array();
  size_t start = 0;
  while (start < prompt.size()) {
    size_t end = prompt.find(' ', start + 1);
    if (end == std::string::npos) end = prompt.size();
    const std::string tok = prompt.substr(start, end - start);
    tokens.push_back(tok);
    const double lp = -0.5 * static_cast<double>(tok.size());
    lps.push_back(start == 0 ? nlohmann::json() : nlohmann::json(lp));
    offs.push_back(offsets_in_chars ? code_points(std::string_view(prompt).substr(0, start)) : start);
    nlohmann::json t = nlohmann::json::object();
    if (tok.find('x') != std::string::npos) t["Z"] = lp + 1;
    t[tok] = lp;
    top.push_back(start == 0 ? nlohmann::json() : t);
    start = end;
  }
  return {{"choices",
           {{{"text", prompt},
             {"finish_reason", "length"},
             {"logprobs", {{"tokens", tokens}, {"token_logprobs", lps}, {"text_offset", offs}, {"top_logprobs", top}}}}}}};
}

class MockCompletions {
 public:
  explicit MockCompletions(bool chars = false, bool with_logprobs = true)
      : server_([this, chars, with_logprobs](httplib::Server& srv) {
          srv.Post("/v1/completions", [=, this](const httplib::Request& req, httplib::Response& res) {
            ++requests;
            auto body = nlohmann::json::parse(req.body);
            const std::string prompt = body["prompt"];
            if (body.value("echo", false)) {
              auto a = mock_echo_answer(prompt, chars);
              if (!with_logprobs) a["choices"][0].erase("logprobs");
              res.set_content(a.dump(), "application/json");
              return;
            }
            // Generation: the last word of the prompt twice, a newline, then more.
            const std::string last = prompt.substr(prompt.rfind(' ') + 1);
            nlohmann::json a = {{"choices", {{{"text", " " + last + " " + last + "\nmore"}, {"finish_reason", "stop"}}}}};
            res.set_content(a.dump(), "application/json");
          });
        }) {}
  std::string url() const { return server_.url() + "/v1"; }
  std::atomic<int> requests{0};

 private:
  LocalServer server_;
};

TEST(RemoteModel, SumsTheContinuationsTokensFoundByOffset) {
  for (bool chars : {false, true}) {
    MockCompletions mock(chars);
    RemoteModel m({.base_url = mock.url()});
    // "ñandú" makes byte and code-point offsets differ; the context's trailing space moves to
    // the continuation, whose tokens are " corre" (6 bytes) and " mucho" (6), or " xx" (3).
    auto s = m.score_continuations("El ñandú ", {"corre mucho", "xx"});
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    ASSERT_EQ(s->size(), 2u);
    EXPECT_DOUBLE_EQ((*s)[0].loglikelihood, -6.0) << "chars " << chars;
    EXPECT_EQ((*s)[0].n_tokens, 2u);
    EXPECT_TRUE((*s)[0].greedy);
    EXPECT_DOUBLE_EQ((*s)[1].loglikelihood, -1.5);
    EXPECT_FALSE((*s)[1].greedy);  // "Z" was more likely
    EXPECT_EQ(mock.requests.load(), 2);
  }
}

TEST(RemoteModel, AServerWithoutEchoLogprobsIsAClearError) {
  MockCompletions mock(false, /*with_logprobs=*/false);
  RemoteModel m({.base_url = mock.url()});
  auto s = m.score_continuations("a", {" b"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), ErrorCode::unsupported);
  EXPECT_NE(s.error().message().find(mock.url() + "/completions: the answer carries no log-probabilities"),
            std::string::npos)
      << s.error().message();
  // The prompt's first token has no log-probability: it cannot be scored.
  CompletionChoice c{.text = "ab", .finish_reason = "length",
                     .logprobs = CompletionLogprobs{.tokens = {"ab"}, .token_logprobs = {std::nullopt}, .text_offset = {0}}};
  EXPECT_FALSE(score_echoed_answer(c, "ab", 0, "u").ok());
}

TEST(RemoteModel, GenerateUntilCutsAtTheStopStrings) {
  MockCompletions mock;
  RemoteModel m({.base_url = mock.url()});
  auto g = m.generate_until("Q: tres", {.until = {"\n"}, .max_gen_toks = 8});
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ(*g, " tres tres");
}

TEST(RemoteModel, TasksGiveTheSameResultsAtAnyConcurrency) {
  test::TempDir dir;
  ASSERT_TRUE(Env::posix().create_dirs(dir.file("data")).ok());
  ASSERT_TRUE(write_file_atomic(dir.file("mc.yaml"),
                                "task: remote_mc\ndataset_path: data\ntest_split: test\n"
                                "doc_to_text: \"Galdera: {{q}}\\nErantzuna:\"\n"
                                "doc_to_choice: \"{{choices}}\"\ndoc_to_target: gold\n"
                                "metric_list:\n  - metric: acc\n  - metric: acc_norm\n")
                  .ok());
  std::string lines;
  for (int i = 0; i < 12; ++i)
    lines += fmt::format(R"({{"q": "zenbat {}?", "choices": ["bat", "hiru bost", "xx{}"], "gold": {}}})"
                         "\n",
                         i, i, i % 3);
  ASSERT_TRUE(write_file_atomic(dir.file("data/test.jsonl"), lines).ok());
  auto task = load_task(dir.file("mc.yaml"));
  ASSERT_TRUE(task.ok()) << task.error().to_string();
  MockCompletions mock;
  RemoteModel m({.base_url = mock.url()});
  RunOptions one{.concurrency = 1}, many{.concurrency = 5};
  auto a = run_task(m, *task, one);
  auto b = run_task(m, *task, many);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  ASSERT_EQ(a->questions.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    EXPECT_EQ(a->questions[i].loglikelihoods, b->questions[i].loglikelihoods) << i;
    EXPECT_EQ(b->questions[i].doc, i);
  }
  // " bat" -2, " hiru bost" -2.5 - 2.5, " xxN" -0.5 x its bytes: " bat" wins acc (the first of a
  // tie with " xxN"), so acc is the share of gold 0; per character "hiru bost" wins (-5/9 against
  // -2/3), so acc_norm is the share of gold 1.
  EXPECT_DOUBLE_EQ(a->questions[0].loglikelihoods[0], -2.0);
  EXPECT_DOUBLE_EQ(a->questions[0].loglikelihoods[1], -5.0);
  EXPECT_DOUBLE_EQ(a->questions[0].loglikelihoods[2], -2.0);
  EXPECT_NEAR(a->metrics.at("acc").mean, 4.0 / 12.0, 1e-12);
  EXPECT_EQ(a->questions[0].outcome.pred_norm, 1u);
  EXPECT_NEAR(a->metrics.at("acc_norm").mean, 4.0 / 12.0, 1e-12);
  EXPECT_EQ(a->metrics.at("acc").mean, b->metrics.at("acc").mean);
  EXPECT_EQ(a->metrics.at("acc_norm").mean, b->metrics.at("acc_norm").mean);
  EXPECT_EQ(mock.requests.load(), 2 * 12 * 3);
}

}  // namespace
}  // namespace fragua::eval
