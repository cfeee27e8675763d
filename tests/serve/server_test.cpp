// SPDX-License-Identifier: Apache-2.0
// `fragua serve` end to end on 127.0.0.1 with a tiny random model: every endpoint, streaming,
// n > 1, stop strings, logprobs, each error status (the server answering the next request after
// each), a client that leaves mid-stream, /metrics, shutdown.
#include "fragua/serve/server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "fragua/base/log.h"
#include "fragua/model/generate.h"
#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

class ServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = write_model_files(512).release();
    ServerOptions o = tiny_options();
    o.scheduler.embeddings = true;
    auto s = Server::create(o);
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    server_ = s->release();
    ASSERT_TRUE(server_->start().ok());
    ASSERT_TRUE(server_->set_model(open_tiny(*files_)).ok());
  }
  static void TearDownTestSuite() {
    delete server_;
    delete files_;
  }

  static httplib::Client client() {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(60, 0);
    return c;
  }
  static json post(const std::string& path, const json& body, int want_status = 200) {
    auto c = client();
    auto r = c.Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(r) << "no response from " << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  static std::string post_raw(const std::string& path, const std::string& body, int want_status,
                              httplib::Headers headers = {}) {
    auto c = client();
    auto r = c.Post(path.c_str(), headers, body, "application/json");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << r->body;
    return r->body;
  }
  // Each refusal leaves the server answering.
  static void expect_alive() {
    auto c = client();
    auto r = c.Get("/health");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
  // A greedy completion of `prompt` (no stop string).
  static json greedy(const std::string& prompt, int max_tokens, json extra = json::object()) {
    json body = {{"prompt", prompt}, {"max_tokens", max_tokens}, {"temperature", 0}};
    body.update(extra);
    return post("/v1/completions", body);
  }

  static ModelFiles* files_;
  static Server* server_;
};
ModelFiles* ServerTest::files_ = nullptr;
Server* ServerTest::server_ = nullptr;

TEST_F(ServerTest, HealthAndModels) {
  auto c = client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body)["status"], "ok");
  auto m = c.Get("/v1/models");
  ASSERT_TRUE(m);
  json models = json::parse(m->body);
  EXPECT_EQ(models["object"], "list");
  ASSERT_EQ(models["data"].size(), 1u);
  EXPECT_EQ(models["data"][0]["id"], "tiny");
  EXPECT_EQ(models["data"][0]["object"], "model");
  EXPECT_EQ(models["data"][0]["meta"]["n_ctx_per_slot"], 256);
  // The paths without /v1, as clients configured with a bare base URL send them.
  EXPECT_EQ(json::parse(c.Get("/models")->body)["data"][0]["id"], "tiny");
  auto chat = c.Post("/chat/completions", R"({"messages": [{"role": "user", "content": "Hola"}], "max_tokens": 1})",
                     "application/json");
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->status, 200);
  EXPECT_EQ(json::parse(chat->body)["object"], "chat.completion");
}

TEST_F(ServerTest, TokenizeDetokenize) {
  json t = post("/tokenize", {{"content", "Hola, món"}, {"with_pieces", true}});
  ASSERT_EQ(t["tokens"].size(), 9u);
  EXPECT_EQ(t["tokens"][0]["piece"], "H");
  EXPECT_EQ(t["tokens"][6]["piece"], "m");
  json ids = post("/tokenize", {{"content", "Hola, món"}, {"add_special", true}})["tokens"];
  ASSERT_EQ(ids.size(), 10u);
  EXPECT_EQ(ids[0], 1);  // BOS
  // "ó" is not in the vocabulary: <unk>, which decodes to nothing.
  EXPECT_EQ(post("/detokenize", {{"tokens", ids}})["content"], "Hola, mn");
  json bad = post("/detokenize", {{"tokens", {1, 100000}}}, 400);
  EXPECT_EQ(bad["error"]["param"], "tokens[1]");
  expect_alive();
}

TEST_F(ServerTest, ChatCompletionUsesTheTemplate) {
  json req = {
      {"model", "tiny"},
      {"messages",
       {{{"role", "system"}, {"content", "Eres breve."}},
        {{"role", "user"}, {"content", "Hola"}},
        {{"role", "assistant"}, {"content", "Bon dia."}},
        {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "Com "}}, {{"type", "text"}, {"text", "va?"}}}}}}},
      {"max_tokens", 6},
      {"temperature", 0}};
  json r = post("/v1/chat/completions", req);
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["model"], "tiny");
  ASSERT_EQ(r["choices"].size(), 1u);
  EXPECT_EQ(r["choices"][0]["message"]["role"], "assistant");
  ASSERT_TRUE(r["choices"][0]["message"]["content"].is_string());
  const std::string finish = r["choices"][0]["finish_reason"];
  EXPECT_TRUE(finish == "stop" || finish == "length") << finish;
  // The prompt is the ChatML rendering, encoded as encode_chat encodes it.
  auto tok = tokenize::Tokenizer::load(files_->tokenizer);
  ASSERT_TRUE(tok.ok());
  std::vector<tokenize::ChatMessage> msgs = {
      {"system", "Eres breve."}, {"user", "Hola"}, {"assistant", "Bon dia."}, {"user", "Com va?"}};
  auto ids = tokenize::encode_chat(*tok, "chatml", msgs, true);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(r["usage"]["prompt_tokens"], ids->size());
  const int64_t completion = r["usage"]["completion_tokens"];
  EXPECT_LE(completion, 6);
  if (finish == "length") EXPECT_EQ(completion, 6);
  EXPECT_EQ(r["usage"]["total_tokens"], ids->size() + static_cast<size_t>(completion));
}

// The server's greedy continuation is the one model::generate computes on a plain Context.
TEST_F(ServerTest, GreedyCompletionMatchesGenerate) {
  const std::string prompt = "Bon dia a tothom";
  json r = greedy(prompt, 12);
  const std::string text = r["choices"][0]["text"];

  model::OpenOptions o;
  o.tokenizer_path = files_->tokenizer;
  o.context.n_ctx = 256;
  o.context.n_threads = 1;
  auto m = model::open_model(files_->model, o);
  ASSERT_TRUE(m.ok());
  model::GenerateParams g;
  g.max_tokens = 12;
  g.sampler.temperature = 0;
  g.eog_ids = m->eog_ids;
  auto prompt_ids = m->tokenizer->try_encode(prompt, true, true);
  ASSERT_TRUE(prompt_ids.ok());
  auto ref = model::generate(*m->context, *prompt_ids, g, [&](int32_t id) { return m->tokenizer->token_piece(id); });
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(text, ref->text);
  EXPECT_EQ(r["usage"]["completion_tokens"], ref->tokens.size());
  EXPECT_EQ(r["choices"][0]["finish_reason"], ref->stop_reason == "eog" ? "stop" : "length");
}

TEST_F(ServerTest, StreamingChatEndsWithDone) {
  json req = {{"messages", {{{"role", "user"}, {"content", "Conta'm un conte"}}}},
              {"max_tokens", 10},
              {"temperature", 0},
              {"stream", true},
              {"stream_options", {{"include_usage", true}}}};
  const std::string body = post_raw("/v1/chat/completions", req.dump(), 200);
  auto events = sse_payloads(body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string content;
  std::string finish;
  std::string id;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json c = json::parse(events[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (id.empty()) id = c["id"];
    EXPECT_EQ(c["id"], id);        // one id for the whole stream
    if (i + 2 == events.size()) {  // the usage chunk
      EXPECT_TRUE(c["choices"].empty());
      EXPECT_EQ(c["usage"]["completion_tokens"].get<int>() + c["usage"]["prompt_tokens"].get<int>(),
                c["usage"]["total_tokens"].get<int>());
      continue;
    }
    EXPECT_TRUE(c["usage"].is_null());
    const json& ch = c["choices"][0];
    if (i == 0) EXPECT_EQ(ch["delta"]["role"], "assistant");
    if (ch["delta"].contains("content")) content += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
  }
  EXPECT_TRUE(finish == "stop" || finish == "length");
  // The same request unstreamed gives the same text.
  req.erase("stream");
  req.erase("stream_options");
  json whole = post("/v1/chat/completions", req);
  EXPECT_EQ(content, whole["choices"][0]["message"]["content"]);
}

TEST_F(ServerTest, StreamingCompletion) {
  json req = {{"prompt", "Erase una vez"}, {"max_tokens", 8}, {"temperature", 0}, {"stream", true}};
  auto events = sse_payloads(post_raw("/v1/completions", req.dump(), 200));
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json c = json::parse(events[i]);
    EXPECT_EQ(c["object"], "text_completion");
    EXPECT_FALSE(c.contains("usage"));  // not asked for
    text += c["choices"][0]["text"].get<std::string>();
  }
  EXPECT_EQ(text, greedy("Erase una vez", 8)["choices"][0]["text"]);
}

// A prompt whose greedy continuation runs `n` tokens without ending, and that continuation.
std::pair<std::string, std::string> long_continuation(const std::function<json(const std::string&)>& run) {
  for (const char* p : {"Hola", "Bon dia", "Kaixo", "Bos dias", "abc", "Erase una vez", "xyz", "Q"}) {
    json r = run(p);
    if (r["choices"][0]["finish_reason"] == "length") return {p, r["choices"][0]["text"]};
  }
  return {};
}

TEST_F(ServerTest, StopStringAcrossTokens) {
  auto [prompt, text] = long_continuation([](const std::string& p) { return greedy(p, 16); });
  ASSERT_FALSE(prompt.empty()) << "no prompt ran 16 tokens";
  ASSERT_GE(text.size(), 8u);
  // Three characters (three tokens) from the middle: the match spans token boundaries.
  size_t at = 4;
  while (at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) ++at;
  const std::string stop = text.substr(at, 3);
  const std::string want = text.substr(0, text.find(stop));
  auto finished = [](const char* reason) {
    auto m = client().Get("/metrics");
    return m ? metric(m->body, fmt::format("fragua_generations_finished_total{{reason=\"{}\"}}", reason)) : -1.0;
  };
  const double stop_before = finished("stop"), cancelled_before = finished("cancelled");
  json r = greedy(prompt, 16, {{"stop", {stop, "ZZZZ"}}});
  // The stop string ended it, not a client: /metrics counts a stop. The scheduler counts it once
  // the final event is delivered, which races with this request for /metrics: wait for it.
  for (int i = 0; i < 200 && finished("stop") < stop_before + 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(finished("stop"), stop_before + 1);
  EXPECT_EQ(finished("cancelled"), cancelled_before);
  EXPECT_EQ(r["choices"][0]["text"], want) << "stop '" << stop << "' in '" << text << "'";
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  // Streamed: the same text, and no chunk carries any of the stop string.
  json sreq = {{"prompt", prompt}, {"max_tokens", 16}, {"temperature", 0}, {"stop", stop}, {"stream", true}};
  auto events = sse_payloads(post_raw("/v1/completions", sreq.dump(), 200));
  std::string streamed;
  for (size_t i = 0; i + 1 < events.size(); ++i)
    streamed += json::parse(events[i])["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(streamed, want);
}

TEST_F(ServerTest, SeveralChoicesWithDerivedSeeds) {
  json req = {{"prompt", "Hola"}, {"max_tokens", 8}, {"temperature", 1.0}, {"seed", 7}, {"n", 2}};
  json a = post("/v1/completions", req);
  ASSERT_EQ(a["choices"].size(), 2u);
  EXPECT_EQ(a["choices"][0]["index"], 0);
  EXPECT_EQ(a["choices"][1]["index"], 1);
  json b = post("/v1/completions", req);
  EXPECT_EQ(a["choices"], b["choices"]);  // a seed makes the request reproducible
  req["n"] = 1;
  json one = post("/v1/completions", req);
  EXPECT_EQ(one["choices"][0]["text"], a["choices"][0]["text"]);  // choice 0 keeps the seed itself
  // Streamed, each choice's chunks carry its index and end with its own finish reason.
  json chat = {{"messages", {{{"role", "user"}, {"content", "Hola"}}}},
               {"max_tokens", 5},
               {"n", 2},
               {"seed", 3},
               {"stream", true}};
  auto events = sse_payloads(post_raw("/v1/chat/completions", chat.dump(), 200));
  int finished[2] = {0, 0};
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    json c = json::parse(events[i]);
    const int idx = c["choices"][0]["index"];
    ASSERT_TRUE(idx == 0 || idx == 1);
    if (!c["choices"][0]["finish_reason"].is_null()) ++finished[idx];
  }
  EXPECT_EQ(finished[0], 1);
  EXPECT_EQ(finished[1], 1);
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(ServerTest, Logprobs) {
  json r = post("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "Hola"}}}},
                                         {"max_tokens", 5},
                                         {"temperature", 0},
                                         {"logprobs", true},
                                         {"top_logprobs", 3}});
  const json& content = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), r["usage"]["completion_tokens"].get<size_t>());
  std::string joined;
  for (const auto& e : content) {
    joined += e["token"].get<std::string>();
    ASSERT_EQ(e["top_logprobs"].size(), 3u);
    EXPECT_LE(e["logprob"].get<double>(), 0.0);
    // Greedy: the sampled token is the most likely one.
    EXPECT_EQ(e["top_logprobs"][0]["token"], e["token"]);
    EXPECT_FLOAT_EQ(e["top_logprobs"][0]["logprob"].get<float>(), e["logprob"].get<float>());
    EXPECT_GE(e["top_logprobs"][0]["logprob"].get<double>(), e["top_logprobs"][1]["logprob"].get<double>());
    EXPECT_GE(e["top_logprobs"][1]["logprob"].get<double>(), e["top_logprobs"][2]["logprob"].get<double>());
  }
  EXPECT_EQ(joined, r["choices"][0]["message"]["content"]);

  json c = greedy("Hola", 4, {{"logprobs", 2}});
  const json& lp = c["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), lp["token_logprobs"].size());
  ASSERT_EQ(lp["tokens"].size(), lp["text_offset"].size());
  std::string text;
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_EQ(lp["text_offset"][i], text.size());
    text += lp["tokens"][i].get<std::string>();
    EXPECT_EQ(lp["top_logprobs"][i].size(), 2u);
  }
  EXPECT_EQ(text, c["choices"][0]["text"]);
}

// Float32s from RFC 4648 base64 (OpenAI's encoding_format "base64").
std::vector<float> floats_from_base64(const std::string& s) {
  auto val = [](char c) -> uint32_t {
    if (c >= 'A' && c <= 'Z') return static_cast<uint32_t>(c - 'A');
    if (c >= 'a' && c <= 'z') return static_cast<uint32_t>(c - 'a' + 26);
    if (c >= '0' && c <= '9') return static_cast<uint32_t>(c - '0' + 52);
    return c == '+' ? 62u : 63u;
  };
  std::string bytes;
  for (size_t i = 0; i + 4 <= s.size(); i += 4) {
    uint32_t w = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      w <<= 6;
      if (s[i + k] == '=')
        ++pad;
      else
        w |= val(s[i + k]);
    }
    for (int k = 0; k < 3 - pad; ++k) bytes += static_cast<char>((w >> (16 - 8 * k)) & 0xFF);
  }
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

TEST_F(ServerTest, Embeddings) {
  json r = post("/v1/embeddings", {{"input", {"Bon dia", "Kaixo", "Bon dia"}}, {"model", "tiny"}});
  EXPECT_EQ(r["object"], "list");
  ASSERT_EQ(r["data"].size(), 3u);
  std::vector<std::vector<float>> v;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(r["data"][i]["object"], "embedding");
    EXPECT_EQ(r["data"][i]["index"], i);
    v.push_back(r["data"][i]["embedding"].get<std::vector<float>>());
    ASSERT_EQ(v.back().size(), 32u);  // n_embd
    double norm = 0;
    for (float x : v.back()) norm += static_cast<double>(x) * x;
    EXPECT_NEAR(norm, 1.0, 1e-4);
  }
  EXPECT_EQ(v[0], v[2]);  // the same text, the same vector (the second from the slot's cache)
  EXPECT_NE(v[0], v[1]);
  // usage: BOS + 7 characters, BOS + 5, BOS + 7
  EXPECT_EQ(r["usage"]["prompt_tokens"], 8 + 6 + 8);
  json b = post("/v1/embeddings", {{"input", "Kaixo"}, {"encoding_format", "base64"}});
  EXPECT_EQ(floats_from_base64(b["data"][0]["embedding"].get<std::string>()), v[1]);
  json ids = post("/v1/embeddings", {{"input", {1, 40, 41}}});
  EXPECT_EQ(ids["usage"]["prompt_tokens"], 3);
  EXPECT_EQ(post("/v1/embeddings", {{"input", {1, 99999}}}, 400)["error"]["code"], "invalid_value");
  EXPECT_EQ(post("/v1/embeddings", {{"input", std::string(600, 'a')}}, 400)["error"]["code"],
            "context_length_exceeded");
  EXPECT_EQ(post("/v1/embeddings", {{"input", "a"}, {"dimensions", 8}}, 400)["error"]["code"], "not_supported");
  expect_alive();
}

TEST_F(ServerTest, ErrorsKeepTheServerUp) {
  auto code_of = [](const std::string& body) { return json::parse(body)["error"]["code"]; };
  const std::string user = R"("messages": [{"role": "user", "content": "Hola"}])";
  EXPECT_EQ(code_of(post_raw("/v1/chat/completions", "{\"messages\": [", 400)), "invalid_json");
  expect_alive();
  EXPECT_EQ(code_of(post_raw("/v1/chat/completions", "{" + user + ", \"n\": \"two\"}", 400)), "invalid_type");
  expect_alive();
  EXPECT_EQ(
      code_of(post_raw("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"\xC3(\"}]}", 400)),
      "invalid_utf8");
  expect_alive();
  json unknown = json::parse(post_raw("/v1/chat/completions", "{" + user + ", \"model\": \"gpt-4o\"}", 404));
  EXPECT_EQ(unknown["error"]["code"], "model_not_found");
  EXPECT_EQ(unknown["error"]["param"], "model");
  expect_alive();
  json too_long = json::parse(post_raw("/v1/completions", json{{"prompt", std::string(300, 'a')}}.dump(), 400));
  EXPECT_EQ(too_long["error"]["code"], "context_length_exceeded");
  EXPECT_NE(too_long["error"]["message"].get<std::string>().find("301 tokens"), std::string::npos)
      << too_long["error"]["message"];
  EXPECT_NE(too_long["error"]["message"].get<std::string>().find("256"), std::string::npos);
  expect_alive();
  json unsupported = json::parse(post_raw(
      "/v1/chat/completions",
      "{" + user +
          R"(, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "^a"}}}})",
      400));
  EXPECT_EQ(unsupported["error"]["code"], "not_supported");
  expect_alive();
  EXPECT_EQ(code_of(post_raw("/v1/completions", json{{"prompt", {1, 2, 5000}}}.dump(), 400)), "invalid_value");
  expect_alive();
  auto c = client();
  auto nf = c.Get("/v1/nothing");
  ASSERT_TRUE(nf);
  EXPECT_EQ(nf->status, 404);
  EXPECT_EQ(json::parse(nf->body)["error"]["code"], "unknown_url");
  expect_alive();
}

TEST_F(ServerTest, Metrics) {
  post("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "Hola"}}}}, {"max_tokens", 3}});
  post_raw("/v1/chat/completions", "[]", 400);
  auto c = client();
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::string& m = r->body;
  EXPECT_GE(metric(m, "fragua_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"}"), 1);
  EXPECT_GE(metric(m, "fragua_requests_total{endpoint=\"/v1/chat/completions\",status=\"400\"}"), 1);
  EXPECT_GT(metric(m, "fragua_prompt_tokens_total"), 0);
  EXPECT_GT(metric(m, "fragua_generated_tokens_total"), 0);
  EXPECT_EQ(metric(m, "fragua_queue_depth"), 0);
  EXPECT_EQ(metric(m, "fragua_slots"), 2);
  EXPECT_GT(metric(m, "fragua_time_to_first_token_seconds_count"), 0);
  EXPECT_EQ(metric(m, "fragua_time_to_first_token_seconds_bucket{le=\"+Inf\"}"),
            metric(m, "fragua_time_to_first_token_seconds_count"));
  EXPECT_GE(metric(m, "fragua_time_per_token_seconds_count"), 0);
  EXPECT_NE(m.find("# TYPE fragua_time_per_token_seconds histogram"), std::string::npos);
}

// Servers of their own: a body limit, API keys, the loading state.
TEST(ServerOptionsTest, BodyLimitKeysAndLoading) {
  auto files = write_model_files(512);
  ServerOptions o = tiny_options();
  o.max_body_bytes = 4096;
  o.api_keys = {"k1", "k2"};
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  Server& server = **s;
  ASSERT_TRUE(server.start().ok());
  httplib::Client c("127.0.0.1", server.port());
  auto loading = c.Get("/health");  // open without a key
  ASSERT_TRUE(loading);
  EXPECT_EQ(loading->status, 503);
  EXPECT_EQ(json::parse(loading->body)["status"], "loading");
  const std::string body = R"({"prompt": "Hola", "max_tokens": 2})";
  auto early = c.Post("/v1/completions", {{"Authorization", "Bearer k1"}}, body, "application/json");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 503);
  EXPECT_EQ(json::parse(early->body)["error"]["code"], "model_loading");

  ASSERT_TRUE(server.set_model(open_tiny(*files)).ok());
  EXPECT_EQ(c.Get("/health")->status, 200);
  auto no_key = c.Post("/v1/completions", body, "application/json");
  ASSERT_TRUE(no_key);
  EXPECT_EQ(no_key->status, 401);
  EXPECT_EQ(json::parse(no_key->body)["error"]["code"], "invalid_api_key");
  auto wrong = c.Post("/v1/completions", {{"Authorization", "Bearer k3"}}, body, "application/json");
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  auto good = c.Post("/v1/completions", {{"Authorization", "Bearer k2"}}, body, "application/json");
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
  auto big =
      c.Post("/v1/completions", {{"Authorization", "Bearer k1"}}, std::string(8192, ' ') + body, "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(json::parse(big->body)["error"]["code"], "request_too_large");
  EXPECT_EQ(c.Get("/health")->status, 200);
}

// One slot, a queue of one, no end-of-generation token: a long stream holds the slot until its
// client leaves; a request of two choices meanwhile fills the queue with its first and is refused
// with 503 for its second; leaving frees the slot.
TEST(ServerBusyTest, FullQueueAndDisconnect) {
  auto files = write_model_files(4096);
  ServerOptions o = tiny_options();
  o.scheduler.n_slots = 1;
  o.scheduler.max_queue = 1;
  o.scheduler.n_ctx_per_seq = 4096;
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  Server& server = **s;
  ASSERT_TRUE(server.start().ok());
  auto m = open_tiny(*files);
  m->eog_ids.clear();  // nothing ends the generation but its length
  ASSERT_TRUE(server.set_model(std::move(m)).ok());

  const std::string stream = R"({"prompt": "Hola", "max_tokens": 4000, "stream": true})";
  int fd = send_raw(server.port(), post_request("/v1/completions", stream));
  ASSERT_GE(fd, 0);
  const std::string first = read_until(fd, "data: ");
  ASSERT_NE(first.find("200 OK"), std::string::npos) << first;

  httplib::Client c("127.0.0.1", server.port());
  auto busy = c.Post("/v1/completions", R"({"prompt": "Hola", "max_tokens": 2, "n": 2})", "application/json");
  ASSERT_TRUE(busy);
  EXPECT_EQ(busy->status, 503) << busy->body;
  EXPECT_EQ(busy->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(busy->body)["error"]["code"], "queue_full");
  // The refused request's queued choice is cancelled with it.
  double before = -1;
  for (int i = 0; i < 500; ++i) {
    auto r = c.Get("/metrics");
    ASSERT_TRUE(r);
    before = metric(r->body, "fragua_generations_finished_total{reason=\"cancelled\"}");
    if (metric(r->body, "fragua_queue_depth") == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(metric(c.Get("/metrics")->body, "fragua_active_slots"), 1);  // the stream still runs

  close(fd);
  double active = -1, cancelled = -1, generated = -1;
  for (int i = 0; i < 500; ++i) {
    auto r = c.Get("/metrics");
    ASSERT_TRUE(r);
    active = metric(r->body, "fragua_active_slots");
    cancelled = metric(r->body, "fragua_generations_finished_total{reason=\"cancelled\"}");
    generated = metric(r->body, "fragua_generated_tokens_total");
    if (active == 0 && cancelled == before + 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(active, 0);
  EXPECT_EQ(cancelled, before + 1);
  EXPECT_LT(generated, 4000);
  auto after = c.Post("/v1/completions", R"({"prompt": "Hola", "max_tokens": 2})", "application/json");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200) << after->body;
}

// stop() ends an open stream (an error event, no [DONE]) and the server's threads.
TEST(ServerStopTest, StopEndsOpenStreams) {
  auto files = write_model_files(4096);
  ServerOptions o = tiny_options();
  o.scheduler.n_slots = 1;
  o.scheduler.n_ctx_per_seq = 4096;
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  Server& server = **s;
  ASSERT_TRUE(server.start().ok());
  auto m = open_tiny(*files);
  m->eog_ids.clear();
  ASSERT_TRUE(server.set_model(std::move(m)).ok());
  int fd = send_raw(server.port(),
                    post_request("/v1/completions", R"({"prompt": "Hola", "max_tokens": 4000, "stream": true})"));
  ASSERT_GE(fd, 0);
  read_until(fd, "data: ");
  std::thread stopper([&] { server.stop(); });
  const std::string rest = read_until(fd, "\r\n0\r\n\r\n");  // the last chunk of the chunked body
  stopper.join();
  server.wait();
  close(fd);
  EXPECT_NE(rest.find("shutting_down"), std::string::npos) << rest.substr(rest.size() > 300 ? rest.size() - 300 : 0);
  EXPECT_EQ(rest.find("[DONE]"), std::string::npos);
}

}  // namespace
}  // namespace fragua::serve

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

// Tools reach the chat template (with tool_choice "none"): a template that prints their names
// makes the prompt longer by exactly the name's characters.
TEST(ServerTemplateTest, ToolsReachTheTemplate) {
  auto files = write_model_files(512);
  ServerOptions o = tiny_options();
  o.chat_template =
      "{% if tools %}{% for t in tools %}{{ t.function.name }}{% endfor %}{% endif %}"
      "{% for m in messages %}{{ m.role }}:{{ m.content }}\n{% endfor %}";
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->start().ok());
  ASSERT_TRUE((*s)->set_model(open_tiny(*files)).ok());
  httplib::Client c("127.0.0.1", (*s)->port());
  json req = {{"messages", {{{"role", "user"}, {"content", "Hola"}}}}, {"max_tokens", 1}};
  auto plain = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(plain);
  ASSERT_EQ(plain->status, 200) << plain->body;
  req["tools"] = {{{"type", "function"}, {"function", {{"name", "temps"}, {"parameters", {{"type", "object"}}}}}}};
  req["tool_choice"] = "none";
  auto with_tools = c.Post("/v1/chat/completions", req.dump(), "application/json");
  ASSERT_TRUE(with_tools);
  ASSERT_EQ(with_tools->status, 200) << with_tools->body;
  EXPECT_EQ(json::parse(with_tools->body)["usage"]["prompt_tokens"].get<int>(),
            json::parse(plain->body)["usage"]["prompt_tokens"].get<int>() + 5);  // "temps"
  // Without --embeddings the endpoint says how to turn it on.
  auto emb = c.Post("/v1/embeddings", R"({"input": "Hola"})", "application/json");
  ASSERT_TRUE(emb);
  EXPECT_EQ(emb->status, 400);
  EXPECT_NE(json::parse(emb->body)["error"]["message"].get<std::string>().find("--embeddings"), std::string::npos);
}

// A generation past --timeout ends with a timeout: a 504 before its first token, or a last
// error event on a stream already under way; never a complete stream.
TEST(ServerTimeoutTest, RequestTimesOut) {
  auto files = write_model_files(4096);
  ServerOptions o = tiny_options();
  o.scheduler.n_slots = 1;
  o.scheduler.n_ctx_per_seq = 4096;
  o.request_timeout_s = 0.05;
  auto s = Server::create(o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE((*s)->start().ok());
  auto m = open_tiny(*files);
  m->eog_ids.clear();
  ASSERT_TRUE((*s)->set_model(std::move(m)).ok());
  httplib::Client c("127.0.0.1", (*s)->port());
  auto r = c.Post("/v1/completions", R"({"prompt": "Hola", "max_tokens": 4000, "stream": true})", "application/json");
  ASSERT_TRUE(r);
  if (r->status == 504) {
    EXPECT_EQ(json::parse(r->body)["error"]["code"], "timeout");
  } else {
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->body.find("[DONE]"), std::string::npos);
    auto events = sse_payloads(r->body);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(json::parse(events.back())["error"]["code"], "timeout");
  }
  EXPECT_EQ(c.Get("/health")->status, 200);
}

// Open to anyone on a public address: said once, at start.
TEST(ServerWarningTest, OpenBeyondLoopbackWarns) {
  std::vector<std::string> warnings;
  set_log_sink([&](LogLevel level, std::string_view msg) {
    if (level == LogLevel::warn) warnings.emplace_back(msg);
  });
  ServerOptions o = tiny_options();
  o.host = "0.0.0.0";
  auto open = Server::create(o);
  o.api_keys = {"k"};
  auto keyed = Server::create(o);
  o.host = "127.0.0.1";
  o.api_keys.clear();
  auto local = Server::create(o);
  set_log_sink(nullptr);
  ASSERT_TRUE(open.ok() && keyed.ok() && local.ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("without an API key"), std::string::npos) << warnings[0];
}

}  // namespace
}  // namespace fragua::serve
