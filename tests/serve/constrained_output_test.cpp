// SPDX-License-Identifier: Apache-2.0
// Constrained output end to end on 127.0.0.1 (serve/constrained_output.h, json_constraint.h): a
// tiny random model whose vocabulary holds JSON's punctuation generates under response_format
// json_schema / json_object and forced tool calls, for many seeds and temperatures; every output
// parses and validates against its schema with an independent validator (Python's jsonschema,
// tests/reference/serve/validate_json_schema.py). Tool calls come back as message.tool_calls and
// streamed as OpenAI streams them; unsupported keywords are refused and the server stays up.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <random>

#include <fmt/format.h>

#include "fragua/base/utf8.h"

#include "fragua/serve/server.h"
#include "serve/constrained_output.h"
#include "serve/fixtures.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using namespace fragua::serve::test;

// The fixtures' character vocabulary with JSON's punctuation and a few multi-character tokens
// (so that tokens span structure: `{"`, `":`, `true`). Every byte the schemas below need must be
// some token's: a real vocabulary has them all (byte fallback, byte-level BPE).
std::unique_ptr<ModelFiles> write_json_model() {
  tokenize::VocabSpec v = char_vocab();
  for (const char* t : {"{", "}", "[", "]", "\"", "\\", "-", "+", "_", " ", "{\"", "\":", "\",", "\"}", "true", "false",
                        "null", "12", "0.5", "e-3", "\\n", "\\u00e9", "  "}) {
    v.tokens.push_back(t);
    v.types.push_back(tokenize::TokenType::normal);
  }
  v.scores.assign(v.tokens.size(), 0.0f);
  return write_model_files(v, 2048);
}

// Schemas whose documents are bounded (closed objects, bounded strings and arrays), so that
// every generation completes within max_tokens.
const char* kSchemas[] = {
    R"({"type": "object", "properties": {"name": {"type": "string", "maxLength": 6}, "age": {"type": "integer"},
        "ok": {"type": "boolean"}}, "required": ["name", "age"], "additionalProperties": false})",
    R"({"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 4})",
    R"({"type": "object", "properties": {"kind": {"enum": ["a", "b", 3, null]}, "tags": {"type": "array",
        "items": {"type": "string", "minLength": 1, "maxLength": 3}, "maxItems": 3},
        "v": {"anyOf": [{"type": "null"}, {"type": "integer"}, {"type": "string", "maxLength": 4}]}},
        "required": ["kind", "v"], "additionalProperties": false})",
    R"({"$defs": {"pt": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
        "required": ["x", "y"], "additionalProperties": false}},
        "type": "object", "properties": {"from": {"$ref": "#/$defs/pt"}, "to": {"$ref": "#/$defs/pt"},
        "label": {"const": "ruta"}}, "required": ["from", "to", "label"], "additionalProperties": false})",
    R"({"type": "string", "maxLength": 8})",
};

const char* kTools = R"([
  {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
   "properties": {"city": {"type": "string", "maxLength": 8}, "unit": {"enum": ["c", "f"]}},
   "required": ["city", "unit"], "additionalProperties": false}}},
  {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
   "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"],
   "additionalProperties": false}}}])";

class ConstrainedOutputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    files_ = write_json_model().release();
    ServerOptions o = tiny_options();
    o.scheduler.n_ctx_per_seq = 1024;
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

  static httplib::Result post_raw(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(120, 0);
    return c.Post(path.c_str(), body.dump(), "application/json");
  }
  static json post(const std::string& path, const json& body, int want_status = 200) {
    auto r = post_raw(path, body);
    EXPECT_TRUE(r) << "no response from " << path;
    if (!r) return {};
    EXPECT_EQ(r->status, want_status) << r->body;
    return json::parse(r->body, nullptr, false);
  }
  static json chat(json extra) {
    json body = {{"messages", {{{"role", "user"}, {"content", "Dame JSON."}}}}, {"max_tokens", 600}};
    body.update(extra);
    return body;
  }

  // Validates (schema, text) pairs with the independent validator; skips when it is absent.
  static void validate(const json& cases) {
    fragua::test::TempDir dir;
    const std::string path = dir.file("cases.json");
    std::ofstream(path) << cases.dump();
    std::string out;
    const int rc = fragua::test::run_command(
        fragua::test::python() + " " + fragua::test::source_dir() + "/tests/reference/serve/validate_json_schema.py " +
            path,
        &out);
    if (rc == 3 * 256 || rc == 3) GTEST_SKIP() << out;
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find(fmt::format("checked {}, invalid 0", cases.size())), std::string::npos) << out;
  }

  static ModelFiles* files_;
  static Server* server_;
};
ModelFiles* ConstrainedOutputTest::files_ = nullptr;
Server* ConstrainedOutputTest::server_ = nullptr;

TEST_F(ConstrainedOutputTest, SchemaOutputsParseAndValidate) {
  json cases = json::array();
  int n = 0;
  for (const char* schema_text : kSchemas) {
    const json schema = json::parse(schema_text);
    for (double temperature : {0.0, 0.7, 1.0, 1.5}) {
      const json body = chat({{"temperature", temperature},
                              {"seed", 100 + n++},
                              {"n", temperature == 0.0 ? 1 : 3},
                              {"response_format",
                               {{"type", "json_schema"}, {"json_schema", {{"name", "s"}, {"schema", schema}}}}}});
      const json r = post("/v1/chat/completions", body);
      ASSERT_TRUE(r.contains("choices")) << r.dump();
      for (const auto& c : r["choices"]) {
        ASSERT_EQ(c["finish_reason"], "stop") << schema_text << "\n" << c.dump();
        const std::string text = c["message"]["content"].get<std::string>();
        EXPECT_FALSE(json::parse(text, nullptr, false).is_discarded()) << text;
        cases.push_back({{"schema", schema}, {"instance", text}});
      }
    }
  }
  EXPECT_GE(cases.size(), 40u);
  validate(cases);
}

TEST_F(ConstrainedOutputTest, CompletionsAndJsonObject) {
  json cases = json::array();
  for (int seed = 0; seed < 6; ++seed) {
    const json r = post("/v1/completions", {{"prompt", "JSON:"},
                                            {"max_tokens", 300},
                                            {"seed", seed},
                                            {"temperature", 1.0},
                                            {"response_format", {{"type", "json_object"}}}});
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    const auto& c = r["choices"][0];
    const std::string text = c["text"].get<std::string>();
    if (c["finish_reason"] == "stop") {
      const json doc = json::parse(text, nullptr, false);
      ASSERT_FALSE(doc.is_discarded()) << text;
      EXPECT_TRUE(doc.is_object()) << text;
      cases.push_back({{"schema", {{"type", "object"}}}, {"instance", text}});
    } else {
      // Cut by max_tokens: still a prefix of an object.
      EXPECT_EQ(c["finish_reason"], "length");
      JsonRecognizer rec(any_json_object_schema());
      EXPECT_TRUE(rec.feed(text)) << text;
    }
  }
  if (!cases.empty()) validate(cases);
}

TEST_F(ConstrainedOutputTest, ForcedToolCallsValidate) {
  const json tools = json::parse(kTools);
  json cases = json::array();
  for (int seed = 0; seed < 8; ++seed) {
    json choice = seed % 2 ? json("required") : json({{"type", "function"}, {"function", {{"name", "add"}}}});
    const json r = post("/v1/chat/completions",
                        chat({{"tools", tools}, {"tool_choice", choice}, {"seed", seed}, {"temperature", 1.0}}));
    ASSERT_TRUE(r.contains("choices")) << r.dump();
    const auto& c = r["choices"][0];
    ASSERT_EQ(c["finish_reason"], "tool_calls") << c.dump();
    EXPECT_TRUE(c["message"]["content"].is_null());
    ASSERT_EQ(c["message"]["tool_calls"].size(), 1u);
    const auto& call = c["message"]["tool_calls"][0];
    EXPECT_EQ(call["type"], "function");
    EXPECT_EQ(call["id"].get<std::string>().rfind("call_", 0), 0u);
    const std::string name = call["function"]["name"];
    if (seed % 2 == 0) EXPECT_EQ(name, "add");
    const json& params = tools[name == "add" ? 1 : 0]["function"]["parameters"];
    ASSERT_TRUE(call["function"]["arguments"].is_string());
    cases.push_back({{"schema", params}, {"instance", call["function"]["arguments"]}});
  }
  validate(cases);
}

TEST_F(ConstrainedOutputTest, StreamedToolCallMatchesTheWholeOne) {
  const json tools = json::parse(kTools);
  const json body = chat({{"tools", tools}, {"tool_choice", "required"}, {"seed", 42}, {"temperature", 1.0}});
  const json whole = post("/v1/chat/completions", body);
  ASSERT_TRUE(whole.contains("choices")) << whole.dump();
  const auto& call = whole["choices"][0]["message"]["tool_calls"][0];
  json sbody = body;
  sbody["stream"] = true;
  auto r = post_raw("/v1/chat/completions", sbody);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto events = sse_payloads(r->body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  std::string args, name, id, finish;
  int heads = 0;
  for (size_t k = 0; k + 1 < events.size(); ++k) {
    const json e = json::parse(events[k]);
    const auto& ch = e["choices"][0];
    if (!ch["finish_reason"].is_null()) finish = ch["finish_reason"];
    if (!ch["delta"].contains("tool_calls")) continue;
    EXPECT_TRUE(!ch["delta"].contains("content") || ch["delta"]["content"].is_null()) << events[k];
    const auto& tc = ch["delta"]["tool_calls"][0];
    EXPECT_EQ(tc["index"], 0);
    if (tc.contains("id")) {
      ++heads;
      id = tc["id"];
      name = tc["function"]["name"];
      EXPECT_EQ(tc["type"], "function");
    } else {
      EXPECT_FALSE(tc["function"].contains("name")) << events[k];
    }
    args += tc["function"]["arguments"].get<std::string>();
  }
  EXPECT_EQ(heads, 1);
  EXPECT_EQ(id.rfind("call_", 0), 0u);
  EXPECT_EQ(name, call["function"]["name"]);
  EXPECT_EQ(args, call["function"]["arguments"]);  // same seed: the same call, in fragments
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(ConstrainedOutputTest, UnsupportedKeywordsAreRefusedAndTheServerStaysUp) {
  const json bad_schema = {{"type", "object"}, {"properties", {{"d", {{"type", "string"}, {"format", "date"}}}}}};
  json r = post("/v1/chat/completions",
                chat({{"response_format", {{"type", "json_schema"}, {"json_schema", {{"name", "x"}, {"schema", bad_schema}}}}}}),
                400);
  EXPECT_EQ(r["error"]["code"], "not_supported");
  EXPECT_EQ(r["error"]["param"], "response_format.json_schema.schema");
  EXPECT_NE(r["error"]["message"].get<std::string>().find("'format'"), std::string::npos);
  json tools = json::parse(kTools);
  tools[1]["function"]["parameters"]["properties"]["a"]["minimum"] = 0;
  r = post("/v1/chat/completions", chat({{"tools", tools}, {"tool_choice", "required"}}), 400);
  EXPECT_EQ(r["error"]["code"], "not_supported");
  EXPECT_EQ(r["error"]["param"], "tools[1].function.parameters");
  // "auto": the tools reach the template and the answer is text.
  r = post("/v1/chat/completions", chat({{"tools", tools}, {"tool_choice", "auto"}, {"max_tokens", 4}}));
  ASSERT_TRUE(r.contains("choices")) << r.dump();
  EXPECT_TRUE(r["choices"][0]["message"]["content"].is_string());
  EXPECT_EQ(post("/v1/completions", {{"prompt", "a"}, {"max_tokens", 2}})["object"], "text_completion");
}

// Random token walks under the mask with this vocabulary: the mask never leaves a generation
// without a token, and every picked token is accepted.
TEST(ConstrainedOutputMask, NeverEmptyOnTheTestVocabulary) {
  auto files = write_json_model();
  auto tok = tokenize::Tokenizer::load(files->tokenizer);
  ASSERT_TRUE(tok.ok()) << tok.error().to_string();
  const std::vector<int32_t> eog = {tok->eos_id()};
  auto trie = TokenTrie::build(*tok, eog);
  const json tools = json::parse(kTools);
  std::vector<ToolSchema> ts;
  for (const auto& t : tools) ts.push_back({t["function"]["name"], t["function"]["parameters"]});
  std::vector<std::shared_ptr<const CompiledSchema>> schemas = {*compile_tool_call_schema(ts),
                                                                *compile_tool_call_schema(std::span(ts).subspan(1)),
                                                                any_json_object_schema()};
  for (const char* s : kSchemas) schemas.push_back(*compile_json_schema(json::parse(s)));
  std::mt19937 rng(5);
  for (const auto& schema : schemas) {
    for (int walk = 0; walk < 20; ++walk) {
      ChoiceConstraint cc(schema, trie);
      JsonRecognizer shadow(schema);
      std::string text;
      for (int step = 0; step < 300; ++step) {
        std::vector<float> logits(static_cast<size_t>(tok->n_vocab()), 0.0f);
        cc.filter(logits);
        std::vector<int32_t> ok;
        for (int32_t id = 0; id < tok->n_vocab(); ++id)
          if (!std::isinf(logits[static_cast<size_t>(id)])) ok.push_back(id);
        if (ok.empty()) {
          std::string accepted;
          for (int32_t id = 0; id < tok->n_vocab(); ++id) {
            JsonRecognizer probe = shadow;
            if (tok->token_type(id) != tokenize::TokenType::control && probe.feed(tok->token_piece(id)))
              accepted += "'" + tok->token_piece(id) + "' ";
          }
          FAIL() << "no token allowed after: '" << text << "'; the recogniser accepts " << accepted;
        }
        const int32_t pick = ok[rng() % ok.size()];
        if (pick == tok->eos_id()) break;
        const std::string piece = tok->token_piece(pick);
        ASSERT_TRUE(shadow.feed(piece)) << text << " + '" << piece << "'";
        text += piece;
        if (cc.accept(piece)) break;
      }
    }
  }
}

TEST(ToolCallText, SplitsNameAndArgumentsWithoutTheWrapper) {
  const std::string text = "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Bilbo}\xC3\xA9\", \"n\": [1]} }";
  // Every cut of the text into two pushes gives the same name and arguments, never the wrapper's
  // closing brace, never a split character.
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ToolCallText t;
    auto a = t.push(text.substr(0, cut));
    auto b = t.push(text.substr(cut));
    auto c = t.finish();
    const std::string name = a.name ? *a.name : b.name ? *b.name : "";
    EXPECT_EQ(name, "get_weather") << cut;
    EXPECT_EQ(a.arguments + b.arguments + c.arguments, "{\"city\": \"Bilbo}\xC3\xA9\", \"n\": [1]}") << cut;
    EXPECT_EQ(t.arguments(), a.arguments + b.arguments + c.arguments);
    for (const auto& part : {a.arguments, b.arguments})
      EXPECT_EQ(utf8::incomplete_suffix(part), 0u) << cut;
  }
}

}  // namespace
}  // namespace fragua::serve
