// SPDX-License-Identifier: Apache-2.0
// The OpenAI-compatible client against a mock server on 127.0.0.1: request bodies, parsed
// answers, retries on 5xx/429/timeouts/refused connections, errors that name URL and status.
#include "fragua/eval/openai_client.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <httplib.h>

#include "http_fixture.h"

namespace fragua::eval {
namespace {

using test::LocalServer;

OpenAIClientOptions mock_options(const std::string& base, std::vector<double>* sleeps) {
  OpenAIClientOptions o;
  o.base_url = base + "/v1";
  o.model = "m";
  o.backoff_initial_s = 0.01;
  o.max_retries = 3;
  o.sleep = [sleeps](double s) { sleeps->push_back(s); };
  return o;
}

TEST(OpenAIClient, NormalisesTheBaseUrl) {
  EXPECT_EQ(OpenAIClient({.base_url = "http://h:1/v1/"}).url("/completions"), "http://h:1/v1/completions");
  EXPECT_EQ(OpenAIClient({.base_url = "http://h:1/v1/completions"}).url("/completions"), "http://h:1/v1/completions");
  EXPECT_EQ(OpenAIClient({.base_url = "http://h:1/v1/chat/completions"}).url("/x"), "http://h:1/v1/x");
  EXPECT_EQ(OpenAIClient({.base_url = "http://h:1"}).url("/completions"), "http://h:1/v1/completions");
  EXPECT_EQ(OpenAIClient({.base_url = "https://api.example/openai"}).url("/completions"),
            "https://api.example/openai/completions");
}

TEST(OpenAIClient, ChatCompletionsSendsTheFieldsAndParsesTheAnswer) {
  nlohmann::json seen;
  std::string auth;
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/chat/completions", [&](const httplib::Request& req, httplib::Response& res) {
      seen = nlohmann::json::parse(req.body);
      auth = req.get_header_value("Authorization");
      res.set_content(R"({"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"Kaixo!"},
                         "finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}})",
                      "application/json");
    });
  });
  std::vector<double> sleeps;
  auto o = mock_options(s.url(), &sleeps);
  o.api_key = "sk-test";
  OpenAIClient client(o);
  auto r = client.chat_completions({.messages = {{"system", "Be brief."}, {"user", "Kaixo"}},
                                    .max_tokens = 8,
                                    .temperature = 0.5,
                                    .stop = {"\n"},
                                    .seed = 42,
                                    .response_format = {{"type", "json_object"}}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->choices.size(), 1u);
  EXPECT_EQ(r->choices[0].content, "Kaixo!");
  EXPECT_EQ(r->choices[0].role, "assistant");
  EXPECT_EQ(r->choices[0].finish_reason, "stop");
  EXPECT_EQ(r->usage.prompt_tokens, 5);
  EXPECT_EQ(r->usage.completion_tokens, 2);
  EXPECT_EQ(auth, "Bearer sk-test");
  EXPECT_EQ(seen["model"], "m");
  EXPECT_EQ(seen["messages"][1]["content"], "Kaixo");
  EXPECT_EQ(seen["messages"][0]["role"], "system");
  EXPECT_EQ(seen["max_tokens"], 8);
  EXPECT_EQ(seen["temperature"], 0.5);
  EXPECT_EQ(seen["stop"][0], "\n");
  EXPECT_EQ(seen["seed"], 42);
  EXPECT_EQ(seen["response_format"]["type"], "json_object");
  EXPECT_TRUE(sleeps.empty());
}

TEST(OpenAIClient, CompletionsParsesEchoedLogprobs) {
  nlohmann::json seen;
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/completions", [&](const httplib::Request& req, httplib::Response& res) {
      seen = nlohmann::json::parse(req.body);
      res.set_content(R"({"choices":[{"text":"Hola mundo","finish_reason":"length","logprobs":{
                         "tokens":["Hola"," mundo"],"token_logprobs":[null,-1.5],"text_offset":[0,4],
                         "top_logprobs":[null,{" mundo":-1.5}]}}]})",
                      "application/json");
    });
  });
  std::vector<double> sleeps;
  OpenAIClient client(mock_options(s.url(), &sleeps));
  auto r = client.completions({.prompt = "Hola mundo", .max_tokens = 0, .echo = true, .logprobs = 1});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(seen["echo"], true);
  EXPECT_EQ(seen["logprobs"], 1);
  EXPECT_EQ(seen["max_tokens"], 0);
  EXPECT_EQ(seen["temperature"], 0.0);
  EXPECT_FALSE(seen.contains("stop"));
  const auto& c = r->choices.at(0);
  EXPECT_EQ(c.text, "Hola mundo");
  ASSERT_TRUE(c.logprobs.has_value());
  EXPECT_EQ(c.logprobs->tokens, (std::vector<std::string>{"Hola", " mundo"}));
  EXPECT_FALSE(c.logprobs->token_logprobs[0].has_value());
  EXPECT_DOUBLE_EQ(*c.logprobs->token_logprobs[1], -1.5);
  EXPECT_EQ(c.logprobs->text_offset, (std::vector<int64_t>{0, 4}));
  ASSERT_EQ(c.logprobs->top_logprobs.size(), 2u);
  EXPECT_EQ(c.logprobs->top_logprobs[1].at(0).first, " mundo");
}

TEST(OpenAIClient, MalformedAnswersNameTheField) {
  auto bad = parse_completion_answer(nlohmann::json::parse(R"({"choices":[{"text":"a","logprobs":{
      "tokens":["a"],"token_logprobs":["x"]}}]})"),
                                     "http://h/v1/completions");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("choices[0]: logprobs.token_logprobs[0]"), std::string::npos)
      << bad.error().message();
  auto none = parse_chat_answer(nlohmann::json::parse(R"({"choices":[]})"), "http://h/v1/chat/completions");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("http://h/v1/chat/completions: the answer has no 'choices'"),
            std::string::npos);
}

TEST(OpenAIClient, Retries500And429AndHonoursRetryAfter) {
  std::atomic<int> calls{0};
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/completions", [&](const httplib::Request&, httplib::Response& res) {
      const int n = calls++;
      if (n == 0) {
        res.status = 500;
        res.set_content(R"({"error":{"message":"busy"}})", "application/json");
      } else if (n == 1) {
        res.status = 429;
        res.set_header("Retry-After", "7");
        res.set_content("slow down", "text/plain");
      } else {
        res.set_content(R"({"choices":[{"text":"ok","finish_reason":"stop"}]})", "application/json");
      }
    });
  });
  std::vector<double> sleeps;
  OpenAIClient client(mock_options(s.url(), &sleeps));
  auto r = client.completions({.prompt = "x"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->choices[0].text, "ok");
  EXPECT_EQ(calls.load(), 3);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_GE(sleeps[0], 0.01);  // the first backoff, jittered up to 25%
  EXPECT_LT(sleeps[0], 0.0125);
  EXPECT_DOUBLE_EQ(sleeps[1], 7.0);  // the server's Retry-After, not the backoff
}

TEST(OpenAIClient, BackoffDoublesThenGivesUpNamingUrlAndStatus) {
  std::atomic<int> calls{0};
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/completions", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 503;
      res.set_content(R"({"error":{"message":"model loading"}})", "application/json");
    });
  });
  std::vector<double> sleeps;
  auto o = mock_options(s.url(), &sleeps);
  o.backoff_max_s = 0.03;
  OpenAIClient client(o);
  auto r = client.completions({.prompt = "x"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(calls.load(), 4);  // the first attempt and 3 retries
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_GE(sleeps[1], 0.02);
  EXPECT_LT(sleeps[1], 0.025);
  EXPECT_GE(sleeps[2], 0.03);  // 0.04 capped at backoff_max_s
  EXPECT_LT(sleeps[2], 0.0375);
  const std::string m = r.error().message();
  EXPECT_NE(m.find("POST " + s.url() + "/v1/completions: HTTP 503: model loading"), std::string::npos) << m;
  EXPECT_NE(m.find("gave up after 4 attempts"), std::string::npos) << m;
}

TEST(OpenAIClient, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/chat/completions", [&](const httplib::Request&, httplib::Response& res) {
      ++calls;
      res.status = 401;
      res.set_content(R"({"error":{"message":"Invalid API key"}})", "application/json");
    });
  });
  std::vector<double> sleeps;
  OpenAIClient client(mock_options(s.url(), &sleeps));
  auto r = client.chat_completions({.messages = {{"user", "hi"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_TRUE(sleeps.empty());
  EXPECT_NE(r.error().message().find("/v1/chat/completions: HTTP 401: Invalid API key"), std::string::npos)
      << r.error().message();
}

TEST(OpenAIClient, RetriesATimeoutAndARefusedConnection) {
  std::atomic<int> calls{0};
  LocalServer s([&](httplib::Server& srv) {
    srv.Post("/v1/completions", [&](const httplib::Request&, httplib::Response& res) {
      if (calls++ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1300));  // past the 1 s timeout
      res.set_content(R"({"choices":[{"text":"late","finish_reason":"stop"}]})", "application/json");
    });
  });
  std::vector<double> sleeps;
  auto o = mock_options(s.url(), &sleeps);
  o.read_timeout_s = 1;
  auto r = OpenAIClient(o).completions({.prompt = "x"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->choices[0].text, "late");
  EXPECT_EQ(sleeps.size(), 1u);

  std::string dead;
  {
    LocalServer gone;
    dead = gone.url();
  }
  sleeps.clear();
  auto refused = OpenAIClient(mock_options(dead, &sleeps)).completions({.prompt = "x"});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), ErrorCode::io);
  EXPECT_EQ(sleeps.size(), 3u);
  EXPECT_NE(refused.error().message().find(dead + "/v1/completions"), std::string::npos)
      << refused.error().message();
}

TEST(OpenAIClient, RunConcurrentlyBoundsTheThreadsAndReportsTheFirstFailure) {
  std::mutex mu;
  std::multiset<size_t> done;
  std::atomic<int> running{0}, peak{0};
  Status ok = run_concurrently(40, 4, [&](size_t i) -> Status {
    const int now = ++running;
    int p = peak.load();
    while (now > p && !peak.compare_exchange_weak(p, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    --running;
    std::lock_guard lock(mu);
    done.insert(i);
    return ok_status();
  });
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(done.size(), 40u);
  for (size_t i = 0; i < 40; ++i) EXPECT_EQ(done.count(i), 1u);
  EXPECT_LE(peak.load(), 4);

  Status bad = run_concurrently(20, 3, [](size_t i) -> Status {
    if (i == 5 || i == 9) return invalid_argument_error("item {}", i);
    return ok_status();
  });
  ASSERT_FALSE(bad.ok());
  // Item 5 starts before 9 can (indices are handed out in order), and no index starts after a
  // failure, so 9 either failed later or never ran: 5 is the one reported.
  EXPECT_EQ(bad.error().message(), "item 5");
}

}  // namespace
}  // namespace fragua::eval
