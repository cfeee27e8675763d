// SPDX-License-Identifier: Apache-2.0
// The guardrails of `fragua serve` on 127.0.0.1 (docs/serve.md): personal data redacted from
// prompts and answers (streamed too), counted in the response and in /metrics, the audit log's
// lines, rate limits (429, Retry-After, recovery), CORS; the server answers after each refusal.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>

#include "fragua/data/pii.h"
#include "fragua/serve/server.h"
#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

// A vocabulary of digits, spaces and commas only: whatever the random model generates is digit
// groups, among which Spanish phone numbers and Luhn-valid card numbers turn up, so an answer
// with personal data in it needs no trained model (the commas let a stream release text).
std::unique_ptr<ModelFiles> digit_model() {
  std::vector<std::pair<std::string, tokenize::TokenType>> rest;
  for (const char* c : {"\xE2\x96\x81", ",", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9"})
    rest.emplace_back(c, tokenize::TokenType::normal);
  const tokenize::VocabSpec s = fragua::test::spm_test_vocab(rest);
  return write_model_files(s, 512);
}

struct Running {
  std::unique_ptr<Server> server;
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(60, 0);
    return c;
  }
};

Running start(const ModelFiles& files, ServerOptions o) {
  auto s = Server::create(std::move(o));
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  Running r{std::move(*s)};
  EXPECT_TRUE(r.server->start().ok());
  EXPECT_TRUE(r.server->set_model(open_tiny(files)).ok());
  return r;
}

void expect_alive(const Running& r) {
  auto h = r.client().Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

std::string metrics_of(const Running& r) {
  auto m = r.client().Get("/metrics");
  EXPECT_TRUE(m);
  return m ? m->body : "";
}

std::vector<json> audit_lines(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    out.push_back(json::parse(line, nullptr, false));
    EXPECT_FALSE(out.back().is_discarded()) << line;
  }
  return out;
}

// The contents of a stream's chunks, and its last JSON payload before [DONE].
struct Streamed {
  std::vector<std::string> pieces;
  json last;
};
Streamed stream_completion(const Running& r, const json& body) {
  auto res = r.client().Post("/v1/completions", body.dump(), "application/json");
  EXPECT_TRUE(res);
  Streamed s;
  if (!res) return s;
  EXPECT_EQ(res->status, 200) << res->body;
  auto payloads = sse_payloads(res->body);
  EXPECT_EQ(payloads.back(), "[DONE]");
  for (size_t i = 0; i + 1 < payloads.size(); ++i) {
    json j = json::parse(payloads[i]);
    if (!j["choices"].empty()) s.pieces.push_back(j["choices"][0]["text"].get<std::string>());
    s.last = j;
  }
  return s;
}

TEST(Guardrails, AnswersAreRedactedAlsoWhenStreamedAndNoChunkCarriesPartOfAnIdentifier) {
  auto files = digit_model();
  ServerOptions plain = tiny_options();
  plain.chat_template.clear();
  ServerOptions redacting = plain;
  redacting.redact = RedactMode::responses;
  Running a = start(*files, plain), b = start(*files, redacting);
  // A seed whose answer holds personal data (deterministic: the same seed, the same tokens) and
  // is long enough to stream in pieces.
  json body = {{"prompt", "5"}, {"max_tokens", 240}, {"temperature", 1.5}};
  std::string raw;
  data::RedactResult want;
  uint64_t seed = 0;
  for (; seed < 256; ++seed) {
    body["seed"] = seed;
    auto res = a.client().Post("/v1/completions", body.dump(), "application/json");
    ASSERT_TRUE(res);
    raw = json::parse(res->body)["choices"][0]["text"];
    want = data::redact_pii(raw);
    // An answer with a comma streams in more than one piece.
    if (want.total() > 0 && raw.find(',') != std::string::npos && raw.size() > 30) break;
  }
  ASSERT_GT(want.total(), 0) << "no seed below 256 gives an answer with personal data";
  // Not streamed: the redacted text and the report.
  auto res = b.client().Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  json j = json::parse(res->body);
  EXPECT_EQ(j["choices"][0]["text"], want.text);
  int reported = 0;
  for (const auto& r : j["fragua"]["redactions"]) {
    EXPECT_EQ(r["where"], "response");
    const std::string kind = r["kind"];
    int k = 0;
    while (k < data::kPiiKindCount && kind != data::pii_kind_name(static_cast<data::PiiKind>(k))) ++k;
    ASSERT_LT(k, data::kPiiKindCount) << kind;
    EXPECT_EQ(r["count"], want.counts[k]) << kind;
    reported += r["count"].get<int>();
  }
  EXPECT_EQ(reported, want.total());
  // Streamed, one token per chunk: the same text, and every chunk is a piece of the redacted
  // text, so none carries a digit of an identifier that a placeholder replaces.
  body["stream"] = true;
  Streamed s = stream_completion(b, body);
  std::string joined;
  for (const auto& p : s.pieces) joined += p;
  EXPECT_EQ(joined, want.text);
  EXPECT_GT(s.pieces.size(), 2u) << raw;
  EXPECT_TRUE(s.last["choices"].empty());
  EXPECT_EQ(s.last["fragua"]["redactions"].size(), j["fragua"]["redactions"].size());
  // The unredacting server streams the raw text.
  Streamed r = stream_completion(a, body);
  std::string raw_joined;
  for (const auto& p : r.pieces) raw_joined += p;
  EXPECT_EQ(raw_joined, raw);
  EXPECT_TRUE(r.last["choices"].empty() || !r.last.contains("fragua"));
  // Counted: twice the answer's redactions (one plain, one streamed).
  const std::string m = metrics_of(b);
  double total = 0;
  for (int k = 0; k < data::kPiiKindCount; ++k)
    if (want.counts[k])
      total += metric(m, fmt::format("fragua_redactions_total{{kind=\"{}\",where=\"response\"}}",
                                     data::pii_kind_name(static_cast<data::PiiKind>(k))));
  EXPECT_EQ(total, 2 * want.total());
  // Log-probabilities would show the tokens: refused while answers are redacted.
  json lp = {{"prompt", "5"}, {"max_tokens", 2}, {"logprobs", 2}};
  auto refused = b.client().Post("/v1/completions", lp.dump(), "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400);
  EXPECT_EQ(json::parse(refused->body)["error"]["param"], "logprobs");
  expect_alive(b);
}

TEST(Guardrails, PromptsAreRedactedBeforeTokenizationAndTheAuditLogRecordsTheRequest) {
  auto files = write_model_files(512);
  fragua::test::TempDir dir;
  ServerOptions o = tiny_options();
  o.redact = RedactMode::requests;
  o.audit_log = dir.file("audit.jsonl");
  o.api_keys = {"secret-key"};
  Running r = start(*files, o);
  httplib::Headers auth = {{"Authorization", "Bearer secret-key"}};
  const std::string prompt = "Mi DNI es 12345678Z, y mi correo ana@correo.es";
  json body = {{"prompt", prompt}, {"max_tokens", 3}, {"temperature", 0}};
  auto res = r.client().Post("/v1/completions", auth, body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json j = json::parse(res->body);
  // The model saw the placeholders: as many prompt tokens as the redacted text has.
  const std::string redacted = data::redact_pii(prompt).text;
  ASSERT_EQ(redacted, "Mi DNI es <DNI>, y mi correo <EMAIL>");
  auto t = r.client().Post("/tokenize", auth, json{{"content", redacted}, {"add_special", true}}.dump(),
                           "application/json");
  ASSERT_TRUE(t);
  EXPECT_EQ(j["usage"]["prompt_tokens"], json::parse(t->body)["tokens"].size());
  json want = json::array({{{"kind", "email"}, {"where", "request"}, {"count", 1}},
                           {{"kind", "dni"}, {"where", "request"}, {"count", 1}}});
  EXPECT_EQ(j["fragua"]["redactions"], want);
  const std::string m = r.client().Get("/metrics", auth)->body;
  EXPECT_EQ(metric(m, "fragua_redactions_total{kind=\"dni\",where=\"request\"}"), 1);
  EXPECT_EQ(metric(m, "fragua_redactions_total{kind=\"email\",where=\"request\"}"), 1);
  // A chat request, and one refused for a bad key: logged too.
  json chat = {{"messages", {{{"role", "user"}, {"content", "Llámame al 612 345 678"}}}}, {"max_tokens", 2}};
  res = r.client().Post("/v1/chat/completions", auth, chat.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = r.client().Post("/v1/chat/completions", {{"Authorization", "Bearer wrong"}}, chat.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  r.server->stop();  // the audit log is written out
  const auto lines = audit_lines(o.audit_log);
  ASSERT_EQ(lines.size(), 3u);
  const json& first = lines[0];
  for (const char* field : {"time", "request_id", "key_id", "client", "endpoint", "model", "parameters", "prompt",
                            "output", "usage", "latency_ms", "status"})
    EXPECT_TRUE(first.contains(field)) << field;
  EXPECT_EQ(first["key_id"], api_key_id("secret-key"));
  EXPECT_EQ(first["key_id"].get<std::string>().size(), 8u);
  EXPECT_EQ(first["endpoint"], "/v1/completions");
  EXPECT_EQ(first["request_id"], j["id"]);
  EXPECT_EQ(first["status"], 200);
  EXPECT_EQ(first["client"], "127.0.0.1");
  EXPECT_EQ(first["prompt"][0], redacted);
  EXPECT_EQ(first["output"][0], j["choices"][0]["text"]);
  EXPECT_EQ(first["usage"]["prompt_tokens"], j["usage"]["prompt_tokens"]);
  EXPECT_EQ(first["parameters"]["max_tokens"], 3);
  EXPECT_EQ(first["model"]["file"], files->model);
  const std::string sha = first["model"]["sha256"];
  EXPECT_TRUE(sha == "pending" || sha.size() == 64) << sha;
  const std::string time = first["time"];  // 2026-12-06T10:59:01.123Z
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time.back(), 'Z');
  EXPECT_EQ(lines[1]["prompt"][0]["content"], "Llámame al <PHONE>");
  EXPECT_EQ(lines[2]["status"], 401);
  EXPECT_EQ(lines[2]["error"], "invalid_api_key");
  EXPECT_TRUE(lines[2]["key_id"].is_null());
  // Nothing of the identifiers reached the log.
  std::ifstream in(o.audit_log);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const char* secret : {"12345678Z", "ana@correo.es", "612 345 678", "secret-key"})
    EXPECT_EQ(all.find(secret), std::string::npos) << secret;
}

TEST(Guardrails, AuditLogRedactsEvenWhenTheDeploymentDoesNot) {
  auto files = write_model_files(512);
  fragua::test::TempDir dir;
  ServerOptions o = tiny_options();
  o.audit_log = dir.file("audit.jsonl");
  o.audit_max_bytes = 1024;
  o.audit_keep = 1;
  Running r = start(*files, o);
  json body = {{"prompt", "NIE X1234567L"}, {"max_tokens", 2}};
  for (int i = 0; i < 6; ++i) {
    auto res = r.client().Post("/v1/completions", body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_FALSE(json::parse(res->body).contains("fragua"));  // nothing redacted for the client
  }
  r.server->stop();
  // Rotated: FILE.1 and FILE, no FILE.2 (keep 1); every line redacted, key id null (open server).
  auto all = audit_lines(o.audit_log + ".1");
  for (const auto& l : audit_lines(o.audit_log)) all.push_back(l);
  EXPECT_FALSE(std::ifstream(o.audit_log + ".2").good());
  ASSERT_GE(all.size(), 2u);
  for (const auto& l : all) {
    EXPECT_EQ(l["prompt"][0], "NIE <NIE>");
    EXPECT_TRUE(l["key_id"].is_null());
  }
}

TEST(Guardrails, RateLimitAnswers429WithRetryAfterAndRecovers) {
  auto files = write_model_files(512);
  ServerOptions o = tiny_options();
  o.rate_limit_rpm = 120;  // a burst of 120, then one every 0.5 s
  Running r = start(*files, o);
  auto c = r.client();
  for (int i = 0; i < 120; ++i) {
    auto res = c.Get("/v1/models");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << i;
    if (i == 0) {
      EXPECT_EQ(res->get_header_value("x-ratelimit-limit-requests"), "120");
      EXPECT_EQ(res->get_header_value("x-ratelimit-remaining-requests"), "119");
    }
  }
  auto refused = c.Get("/v1/models");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429);
  EXPECT_EQ(refused->get_header_value("Retry-After"), "1");
  json e = json::parse(refused->body)["error"];
  EXPECT_EQ(e["code"], "rate_limit_exceeded");
  EXPECT_EQ(e["type"], "requests");
  EXPECT_EQ(refused->get_header_value("x-ratelimit-remaining-requests"), "0");
  // /health stays open to the orchestrator, and a refill of 0.5 s lets the next one through.
  expect_alive(r);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto again = c.Get("/v1/models");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
  EXPECT_EQ(metric(metrics_of(r), "fragua_rate_limited_total{limit=\"requests\"}"), 1);
}

TEST(Guardrails, TokensPerMinutePerKey) {
  auto files = write_model_files(512);
  ServerOptions o = tiny_options();
  o.api_keys = {"a", "b"};
  o.key_policies = {{"a", "team-a", -1, 30}};  // key a: 30 tokens a minute; key b: no limit
  Running r = start(*files, o);
  // The prompt alone (41 tokens with BOS) is more than key a may spend in a minute.
  json body = {{"prompt", std::string(40, 'a')}, {"max_tokens", 4}, {"temperature", 0}};
  auto post = [&](const char* key) {
    return r.client().Post("/v1/completions", {{"Authorization", std::string("Bearer ") + key}}, body.dump(),
                           "application/json");
  };
  auto first = post("a");  // admitted with tokens left, then charged beyond them
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->get_header_value("x-ratelimit-limit-tokens"), "30");
  auto second = post("a");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, 429);
  EXPECT_GE(std::stoi(second->get_header_value("Retry-After")), 2);
  EXPECT_EQ(post("b")->status, 200);
  EXPECT_EQ(metric(r.client().Get("/metrics", {{"Authorization", "Bearer b"}})->body,
                   "fragua_rate_limited_total{limit=\"tokens\"}"),
            1);
}

TEST(Guardrails, CorsOnlyForAllowedOrigins) {
  auto files = write_model_files(512);
  ServerOptions o = tiny_options();
  o.cors_origins = {"https://app.example"};
  Running r = start(*files, o);
  auto c = r.client();
  httplib::Headers pre = {{"Origin", "https://app.example"},
                          {"Access-Control-Request-Method", "POST"},
                          {"Access-Control-Request-Headers", "authorization, content-type"}};
  auto ok = c.Options("/v1/chat/completions", pre);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_NE(ok->get_header_value("Access-Control-Allow-Methods").find("POST"), std::string::npos);
  EXPECT_EQ(ok->get_header_value("Access-Control-Allow-Headers"), "authorization, content-type");
  auto get = c.Get("/v1/models", {{"Origin", "https://app.example"}});
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  // Another origin: answered, without the headers a browser needs.
  httplib::Headers other = {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}};
  auto no = c.Options("/v1/chat/completions", other);
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->has_header("Access-Control-Allow-Origin"));
  EXPECT_FALSE(c.Get("/v1/models", {{"Origin", "https://evil.example"}})->has_header("Access-Control-Allow-Origin"));
  expect_alive(r);
  // By default: same origin only, no CORS headers at all; "*" allows any.
  ServerOptions d = tiny_options();
  Running plain = start(*files, d);
  EXPECT_FALSE(plain.client().Options("/v1/models", pre)->has_header("Access-Control-Allow-Origin"));
  d.cors_origins = {"*"};
  Running any = start(*files, d);
  EXPECT_EQ(any.client().Get("/v1/models", {{"Origin", "https://x.example"}})->get_header_value(
                "Access-Control-Allow-Origin"),
            "*");
}

}  // namespace
}  // namespace fragua::serve
