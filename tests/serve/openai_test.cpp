// SPDX-License-Identifier: Apache-2.0
// The OpenAI request parser: every field read into its typed value, every refusal with its status,
// its code and the field it names.
#include "fragua/serve/openai.h"

#include <gtest/gtest.h>

#include <optional>

#include <nlohmann/json.hpp>

namespace fragua::serve {
namespace {

using nlohmann::json;

std::string chat_body(const std::string& extra) {
  return R"({"messages": [{"role": "user", "content": "Hola"}])" + (extra.empty() ? "" : ", " + extra) + "}";
}

TEST(OpenAiChat, ReadsEveryField) {
  const std::string body = R"({
    "model": "tiny", "messages": [
      {"role": "system", "content": "Eres breve."},
      {"role": "user", "content": [{"type": "text", "text": "Bon "}, {"type": "text", "text": "dia"}], "name": "ana"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "temps", "arguments": "{\"ciutat\": \"Vic\"}"}}]},
      {"role": "tool", "tool_call_id": "c1", "content": "12 graus"},
      {"role": "developer", "content": "Respon en català."}],
    "max_completion_tokens": 32, "temperature": 0.25, "top_p": 0.5, "seed": -3, "stop": ["\n", "FI"], "n": 3,
    "presence_penalty": 1.5, "frequency_penalty": -0.5, "logprobs": true, "top_logprobs": 4, "stream": true,
    "stream_options": {"include_usage": true}, "user": "u1", "store": false, "metadata": {},
    "response_format": {"type": "text"}, "logit_bias": {},
    "tools": [{"type": "function", "function": {"name": "temps", "description": "El temps",
               "parameters": {"type": "object", "properties": {"ciutat": {"type": "string"}, "a": {}}}}}],
    "tool_choice": "none", "parallel_tool_calls": false})";
  RequestFault fault;
  auto r = parse_chat_request(body, &fault);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const SamplingRequest& s = r->sampling;
  EXPECT_EQ(s.model, "tiny");
  EXPECT_EQ(s.max_tokens, 32);
  EXPECT_FLOAT_EQ(s.temperature, 0.25f);
  EXPECT_FLOAT_EQ(s.top_p, 0.5f);
  EXPECT_EQ(s.seed, static_cast<uint64_t>(-3));
  EXPECT_EQ(s.stop, (std::vector<std::string>{"\n", "FI"}));
  EXPECT_EQ(s.n, 3);
  EXPECT_FLOAT_EQ(s.presence_penalty, 1.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, -0.5f);
  EXPECT_TRUE(s.logprobs);
  EXPECT_EQ(s.top_logprobs, 4);
  EXPECT_TRUE(s.stream);
  EXPECT_TRUE(s.include_usage);
  ASSERT_EQ(r->messages.size(), 5u);
  EXPECT_EQ(r->messages[1]["content"], "Bon dia");  // text parts joined
  EXPECT_EQ(r->messages[1]["name"], "ana");
  EXPECT_EQ(r->messages[2]["content"], "");
  EXPECT_EQ(r->messages[2]["tool_calls"][0]["function"]["arguments"]["ciutat"], "Vic");  // parsed JSON
  EXPECT_EQ(r->messages[3]["tool_call_id"], "c1");
  EXPECT_EQ(r->messages[4]["role"], "system");  // developer is the system role for templates
  ASSERT_TRUE(r->tools.is_array());
  // The client's order of properties survives (a template prints the schema as given).
  auto props = r->tools[0]["function"]["parameters"]["properties"];
  EXPECT_EQ(props.begin().key(), "ciutat");
}

TEST(OpenAiChat, DefaultsAndNulls) {
  auto r = parse_chat_request(chat_body(R"("max_tokens": null, "temperature": null, "stop": null, "n": null,
                                           "seed": null, "stream": null, "logprobs": null, "tools": null)"));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->sampling.max_tokens);
  EXPECT_FLOAT_EQ(r->sampling.temperature, 1.0f);
  EXPECT_FLOAT_EQ(r->sampling.top_p, 1.0f);
  EXPECT_FALSE(r->sampling.seed);
  EXPECT_TRUE(r->sampling.stop.empty());
  EXPECT_EQ(r->sampling.n, 1);
  EXPECT_FALSE(r->sampling.stream);
  EXPECT_TRUE(r->tools.is_null());
  auto one = parse_chat_request(chat_body(R"("stop": "FIN", "max_tokens": 7)"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->sampling.stop, std::vector<std::string>{"FIN"});
  EXPECT_EQ(one->sampling.max_tokens, 7);
}

struct Bad {
  std::string body;
  std::string param, code;
  ErrorCode error = ErrorCode::invalid_argument;
};

void expect_refused(const Bad& b, bool chat = true) {
  RequestFault fault;
  std::optional<Error> err;
  if (chat) {
    auto r = parse_chat_request(b.body, &fault);
    if (!r.ok()) err = r.error();
  } else {
    auto r = parse_completion_request(b.body, &fault);
    if (!r.ok()) err = r.error();
  }
  ASSERT_TRUE(err.has_value()) << b.body;
  const Error& e0 = *err;
  EXPECT_EQ(e0.code(), b.error) << b.body << ": " << e0.message();
  EXPECT_EQ(fault.param, b.param) << b.body << ": " << e0.message();
  EXPECT_EQ(fault.code, b.code) << b.body << ": " << e0.message();
  const ApiError e = api_error(e0, fault);
  EXPECT_EQ(e.status, 400);
  const json body = json::parse(error_body(e));
  EXPECT_EQ(body["error"]["message"], e0.message());
  EXPECT_EQ(body["error"]["type"], "invalid_request_error");
  EXPECT_EQ(body["error"]["code"], b.code);
  if (b.param.empty())
    EXPECT_TRUE(body["error"]["param"].is_null());
  else
    EXPECT_EQ(body["error"]["param"], b.param);
}

TEST(OpenAiChat, RefusesEachBadField) {
  const std::vector<Bad> cases = {
      {"{\"messages\": [", "", "invalid_json"},
      {"[1, 2]", "", "invalid_type"},
      {std::string("{\"messages\": [{\"role\": \"user\", \"content\": \"\xC3(\"}]}"), "", "invalid_utf8"},
      {"{}", "messages", "missing_required_parameter"},
      {R"({"messages": []})", "messages", "invalid_value"},
      {R"({"messages": {"role": "user"}})", "messages", "invalid_type"},
      {R"({"messages": [7]})", "messages[0]", "invalid_type"},
      {R"({"messages": [{"content": "x"}]})", "messages[0].role", "missing_required_parameter"},
      {R"({"messages": [{"role": "robot", "content": "x"}]})", "messages[0].role", "invalid_value"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content", "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": 5}]})", "messages[0].content", "invalid_type"},
      {R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})", "messages[0].content[0].text",
       "missing_required_parameter"},
      {R"({"messages": [{"role": "user", "content": [{"type": "video", "text": "x"}]}]})",
       "messages[0].content[0].type", "invalid_value"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]})",
       "messages[0].content[0].type", "not_supported", ErrorCode::unsupported},
      {R"({"messages": [{"role": "user", "content": "x", "mood": 1}]})", "messages[0].mood", "unknown_parameter"},
      {R"({"messages": [{"role": "user", "content": "x", "tool_call_id": "a"}]})", "messages[0].tool_call_id",
       "unknown_parameter"},
      {R"({"messages": [{"role": "tool", "content": "x"}]})", "messages[0].tool_call_id", "missing_required_parameter"},
      {R"({"messages": [{"role": "assistant", "content": "x", "tool_calls": [{"id": "a"}]}]})",
       "messages[0].tool_calls[0].function", "missing_required_parameter"},
      {chat_body(R"("model": 3)"), "model", "invalid_type"},
      {chat_body(R"("max_tokens": 0)"), "max_tokens", "invalid_value"},
      {chat_body(R"("max_tokens": 1.5)"), "max_tokens", "invalid_type"},
      {chat_body(R"("max_tokens": 5, "max_completion_tokens": 6)"), "max_completion_tokens", "invalid_value"},
      {chat_body(R"("temperature": 2.5)"), "temperature", "invalid_value"},
      {chat_body(R"("temperature": "hot")"), "temperature", "invalid_type"},
      {chat_body(R"("top_p": 1.01)"), "top_p", "invalid_value"},
      {chat_body(R"("seed": 1e300)"), "seed", "invalid_type"},
      {chat_body(R"("stop": ["a", "b", "c", "d", "e"])"), "stop", "invalid_value"},
      {chat_body(R"("stop": [""])"), "stop", "invalid_value"},
      {chat_body(R"("stop": [1])"), "stop[0]", "invalid_type"},
      {chat_body(R"("stop": 1)"), "stop", "invalid_type"},
      {chat_body(R"("n": 0)"), "n", "invalid_value"},
      {chat_body(R"("n": 17)"), "n", "invalid_value"},
      {chat_body(R"("presence_penalty": -2.1)"), "presence_penalty", "invalid_value"},
      {chat_body(R"("frequency_penalty": 3)"), "frequency_penalty", "invalid_value"},
      {chat_body(R"("logprobs": 1)"), "logprobs", "invalid_type"},
      {chat_body(R"("top_logprobs": 21, "logprobs": true)"), "top_logprobs", "invalid_value"},
      {chat_body(R"("top_logprobs": 2)"), "top_logprobs", "invalid_value"},
      {chat_body(R"("stream": "yes")"), "stream", "invalid_type"},
      {chat_body(R"("stream_options": {"include_usage": true})"), "stream_options", "invalid_value"},
      {chat_body(R"("stream": true, "stream_options": {"include_usage": 1})"), "stream_options.include_usage",
       "invalid_type"},
      {chat_body(R"("stream": true, "stream_options": {"other": 1})"), "stream_options.other", "unknown_parameter"},
      {chat_body(R"("temperatur": 1)"), "temperatur", "unknown_parameter"},
      {chat_body(R"("logit_bias": {"1": 5})"), "logit_bias", "not_supported", ErrorCode::unsupported},
      {chat_body(R"("audio": {})"), "audio", "not_supported", ErrorCode::unsupported},
      {chat_body(R"("response_format": {"type": "yaml"})"), "response_format.type", "invalid_value"},
      {chat_body(R"("response_format": {})"), "response_format.type", "missing_required_parameter"},
      {chat_body(R"("response_format": {"type": "json_schema"})"), "response_format.json_schema",
       "missing_required_parameter"},
      {chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"schema": {}}})"),
       "response_format.json_schema.name", "missing_required_parameter"},
      {chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": 1}})"),
       "response_format.json_schema.schema", "invalid_type"},
      {chat_body(
           R"("response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "string", "pattern": "a"}}})"),
       "response_format.json_schema.schema", "not_supported", ErrorCode::unsupported},
      {chat_body(R"("response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"enum": []}}})"),
       "response_format.json_schema.schema", "invalid_value"},
      {chat_body(R"("response_format": {"type": "json_object", "json_schema": {}})"), "response_format.json_schema",
       "unknown_parameter"},
      {chat_body(R"("tools": {})"), "tools", "invalid_type"},
      {chat_body(R"("tools": [{"type": "code"}])"), "tools[0].type", "invalid_value"},
      {chat_body(R"("tools": [{"type": "function"}])"), "tools[0].function", "missing_required_parameter"},
      {chat_body(R"("tools": [{"type": "function", "function": {"name": "a b"}}])"), "tools[0].function.name",
       "invalid_value"},
      {chat_body(
           R"("tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "f"}}])"),
       "tools[1].function.name", "invalid_value"},
      {chat_body(R"("tools": [{"type": "function", "function": {"name": "f", "parameters": []}}])"),
       "tools[0].function.parameters", "invalid_type"},
      {chat_body(R"("tool_choice": "none")"), "tool_choice", "invalid_value"},
      {chat_body(R"("tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "maybe")"),
       "tool_choice", "invalid_value"},
      {chat_body(
           R"("tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": {"type": "function", "function": {"name": "g"}})"),
       "tool_choice.function.name", "invalid_value"},
      // A forced call compiles the tools' schemas: a keyword not implemented is refused, naming the tool.
      {chat_body(
           R"("tools": [{"type": "function", "function": {"name": "f"}}, {"type": "function", "function": {"name": "g", "parameters": {"type": "object", "properties": {"d": {"type": "string", "format": "date"}}}}}], "tool_choice": "required")"),
       "tools[1].function.parameters", "not_supported", ErrorCode::unsupported},
      {chat_body(
           R"("tools": [{"type": "function", "function": {"name": "f"}}], "tool_choice": "required", "response_format": {"type": "json_object"})"),
       "response_format", "invalid_value"},
      {chat_body(R"("tools": [], "tool_choice": "required")"), "tool_choice", "invalid_value"},
  };
  for (const Bad& b : cases) expect_refused(b);
}

TEST(OpenAiChat, NotSupportedMessageSaysSo) {
  auto r = parse_chat_request(chat_body(
      R"("response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"properties": {"a": {"minimum": 1}}}}})"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'minimum' is not supported"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("response_format.json_schema.schema at '#/properties/a'"), std::string::npos)
      << r.error().message();
}

TEST(OpenAiChat, ResponseFormatAndToolChoiceSetTheConstraint) {
  auto text = parse_chat_request(chat_body(R"("response_format": {"type": "text"})"));
  ASSERT_TRUE(text.ok());
  EXPECT_FALSE(text->sampling.constraint);
  auto obj = parse_chat_request(chat_body(R"("response_format": {"type": "json_object"})"));
  ASSERT_TRUE(obj.ok()) << obj.error().message();
  ASSERT_TRUE(obj->sampling.constraint);
  EXPECT_FALSE(obj->sampling.tool_call);
  JsonRecognizer any(obj->sampling.constraint);
  EXPECT_FALSE(any.feed("[1]"));  // json_object: an object at the top
  auto schema = parse_chat_request(chat_body(
      R"("response_format": {"type": "json_schema", "json_schema": {"name": "x", "strict": true, "schema": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false}}})"));
  ASSERT_TRUE(schema.ok()) << schema.error().message();
  JsonRecognizer rec(schema->sampling.constraint);
  EXPECT_TRUE(rec.feed(R"({"n": 3})"));
  EXPECT_TRUE(rec.is_complete());
  const std::string tools =
      R"("tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "boolean"}}, "required": ["x"]}}}, {"type": "function", "function": {"name": "g"}}])";
  for (const std::string choice : {R"("auto")", R"("none")"}) {
    auto r = parse_chat_request(chat_body(tools + R"(, "tool_choice": )" + choice));
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_FALSE(r->sampling.constraint) << choice;  // text; the tools reach the template
    EXPECT_TRUE(r->tools.is_array());
  }
  auto required = parse_chat_request(chat_body(tools + R"(, "tool_choice": "required")"));
  ASSERT_TRUE(required.ok()) << required.error().message();
  EXPECT_TRUE(required->sampling.tool_call);
  JsonRecognizer call(required->sampling.constraint);
  EXPECT_TRUE(call.feed(R"({"name": "g", "arguments": {"any": [1]}})"));
  auto named =
      parse_chat_request(chat_body(tools + R"(, "tool_choice": {"type": "function", "function": {"name": "f"}})"));
  ASSERT_TRUE(named.ok()) << named.error().message();
  JsonRecognizer f(named->sampling.constraint);
  EXPECT_FALSE(f.feed(R"({"name": "g")"));  // only the named function
  EXPECT_TRUE(f.feed(R"({"name": "f", "arguments": {"x": true}})"));
  // Completions take response_format too (as llama.cpp's and vLLM's servers do).
  auto c = parse_completion_request(R"({"prompt": "a", "response_format": {"type": "json_object"}})");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->sampling.constraint);
}

TEST(OpenAiChat, DeepNestingIsRefusedBeforeParsing) {
  std::string body = chat_body("\"metadata\": " + std::string(100000, '[') + std::string(100000, ']'));
  RequestFault fault;
  auto r = parse_chat_request(body, &fault);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(fault.code, "invalid_json");
  EXPECT_NE(r.error().message().find("nested deeper"), std::string::npos);
}

TEST(OpenAiCompletion, ReadsPromptsAndLogprobs) {
  auto r = parse_completion_request(
      R"({"prompt": "Había una vez", "max_tokens": 9, "logprobs": 3, "echo": false, "suffix": null, "best_of": 1,
          "stop": "."})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->prompts.size(), 1u);
  EXPECT_FALSE(r->prompts[0].is_ids);
  EXPECT_EQ(r->prompts[0].text, "Había una vez");
  EXPECT_TRUE(r->sampling.logprobs);
  EXPECT_EQ(r->sampling.top_logprobs, 3);
  EXPECT_EQ(r->sampling.max_tokens, 9);
  EXPECT_FALSE(r->echo);
  auto echo = parse_completion_request(R"({"prompt": "a", "echo": true, "max_tokens": 0, "logprobs": 1})");
  ASSERT_TRUE(echo.ok()) << echo.error().message();
  EXPECT_TRUE(echo->echo);

  auto ids = parse_completion_request(R"({"prompt": [1, 2, 3]})");
  ASSERT_TRUE(ids.ok());
  ASSERT_EQ(ids->prompts.size(), 1u);
  EXPECT_TRUE(ids->prompts[0].is_ids);
  EXPECT_EQ(ids->prompts[0].ids, (std::vector<int32_t>{1, 2, 3}));

  auto mixed = parse_completion_request(R"({"prompt": ["a", [4, 5]], "n": 2})");
  ASSERT_TRUE(mixed.ok());
  ASSERT_EQ(mixed->prompts.size(), 2u);
  EXPECT_EQ(mixed->prompts[0].text, "a");
  EXPECT_EQ(mixed->prompts[1].ids, (std::vector<int32_t>{4, 5}));
}

TEST(OpenAiCompletion, RefusesEachBadField) {
  const std::vector<Bad> cases = {
      {"{}", "prompt", "missing_required_parameter"},
      {R"({"prompt": 5})", "prompt", "invalid_type"},
      {R"({"prompt": []})", "prompt", "invalid_value"},
      {R"({"prompt": [1, -2]})", "prompt[1]", "invalid_value"},
      {R"({"prompt": [1, "a"]})", "prompt[1]", "invalid_type"},
      {R"({"prompt": ["a", 3]})", "prompt[1]", "invalid_type"},
      {R"({"prompt": "a", "logprobs": 6})", "logprobs", "invalid_value"},
      {R"({"prompt": "a", "logprobs": true})", "logprobs", "invalid_type"},
      {R"({"prompt": "a", "suffix": "b"})", "suffix", "not_supported", ErrorCode::unsupported},
      {R"({"prompt": "a", "best_of": 2})", "best_of", "not_supported", ErrorCode::unsupported},
      {R"({"prompt": "a", "messages": []})", "messages", "unknown_parameter"},
      {R"({"prompt": "a", "top_logprobs": 2})", "top_logprobs", "unknown_parameter"},
      {R"({"prompt": "a", "max_completion_tokens": 2})", "max_completion_tokens", "unknown_parameter"},
      {R"({"prompt": ["a", "b", "c"], "n": 6})", "prompt", "invalid_value"},
  };
  for (const Bad& b : cases) expect_refused(b, /*chat=*/false);
}

TEST(OpenAiEmbeddings, ReadsAndRefuses) {
  auto r =
      parse_embeddings_request(R"({"input": ["a", [1, 2]], "model": "m", "encoding_format": "base64", "user": "u"})");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->inputs.size(), 2u);
  EXPECT_EQ(r->inputs[0].text, "a");
  EXPECT_EQ(r->inputs[1].ids, (std::vector<int32_t>{1, 2}));
  EXPECT_TRUE(r->base64);
  EXPECT_EQ(r->model, "m");
  struct Case {
    const char* body;
    const char* param;
    const char* code;
  };
  const Case cases[] = {{"{}", "input", "missing_required_parameter"},
                        {R"({"input": 3})", "input", "invalid_type"},
                        {R"({"input": []})", "input", "invalid_value"},
                        {R"({"input": ["a", 3]})", "input[1]", "invalid_type"},
                        {R"({"input": "a", "encoding_format": "int8"})", "encoding_format", "invalid_value"},
                        {R"({"input": "a", "dimensions": 4})", "dimensions", "not_supported"},
                        {R"({"input": "a", "n": 2})", "n", "unknown_parameter"}};
  for (const Case& c : cases) {
    RequestFault fault;
    auto e = parse_embeddings_request(c.body, &fault);
    ASSERT_FALSE(e.ok()) << c.body;
    EXPECT_EQ(fault.param, c.param) << c.body;
    EXPECT_EQ(fault.code, c.code) << c.body;
  }
  std::string many = R"({"input": [)";
  for (int i = 0; i <= kMaxEmbeddingInputs; ++i) many += (i ? ",\"x\"" : "\"x\"");
  many += "]}";
  RequestFault fault;
  EXPECT_FALSE(parse_embeddings_request(many, &fault).ok());
  EXPECT_EQ(fault.code, "invalid_value");
}

TEST(OpenAiTokenize, ReadsAndRefuses) {
  auto t = parse_tokenize_request(R"({"content": "hola", "add_special": true, "with_pieces": true})");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->content, "hola");
  EXPECT_TRUE(t->add_special);
  EXPECT_TRUE(t->with_pieces);
  RequestFault fault;
  EXPECT_FALSE(parse_tokenize_request("{}", &fault).ok());
  EXPECT_EQ(fault.param, "content");
  EXPECT_FALSE(parse_tokenize_request(R"({"content": 1})", &fault).ok());
  EXPECT_EQ(fault.code, "invalid_type");

  auto d = parse_detokenize_request(R"({"tokens": [0, 7]})");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->tokens, (std::vector<int32_t>{0, 7}));
  EXPECT_FALSE(parse_detokenize_request(R"({"tokens": [3000000000]})", &fault).ok());
  EXPECT_EQ(fault.param, "tokens[0]");
  EXPECT_FALSE(parse_detokenize_request(R"({"tokens": "1"})", &fault).ok());
  EXPECT_EQ(fault.param, "tokens");
}

TEST(OpenAiError, StatusFromErrorCode) {
  EXPECT_EQ(api_error(invalid_argument_error("x")).status, 400);
  EXPECT_EQ(api_error(unsupported_error("x")).status, 400);
  EXPECT_EQ(api_error(unsupported_error("x")).code, "not_supported");
  EXPECT_EQ(api_error(not_found_error("x")).status, 404);
  const ApiError busy = api_error(resource_exhausted_error("queue full"));
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.type, "server_error");
  EXPECT_EQ(api_error(io_error("x")).status, 500);
  // A message quoting a cut character still gives valid JSON.
  const json body = json::parse(error_body({400, "bad \xC3", "invalid_request_error", "", ""}));
  EXPECT_EQ(body["error"]["message"], "bad \xEF\xBF\xBD");
  EXPECT_TRUE(body["error"]["code"].is_null());
}

}  // namespace
}  // namespace fragua::serve
