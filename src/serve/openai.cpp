// SPDX-License-Identifier: Apache-2.0
#include "fragua/serve/openai.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "fragua/base/json.h"
#include "fragua/base/utf8.h"

namespace fragua::serve {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Fills the fault and builds the error in one expression: return fail(f, "stop", kValue, "...").
constexpr const char* kType = "invalid_type";
constexpr const char* kValue = "invalid_value";
constexpr const char* kMissing = "missing_required_parameter";
constexpr const char* kUnknown = "unknown_parameter";
constexpr const char* kUnsupported = "not_supported";

template <typename... Args>
Error fail(RequestFault* fault, std::string_view param, const char* code, fmt::format_string<Args...> f,
           Args&&... args) {
  if (fault) *fault = {std::string(param), code};
  std::string msg = fmt::format(f, std::forward<Args>(args)...);
  if (code == std::string_view(kUnsupported)) return Error(ErrorCode::unsupported, std::move(msg));
  return Error(ErrorCode::invalid_argument, std::move(msg));
}

// The body as a JSON object: valid UTF-8 (reported at its byte offset, before nlohmann's parser
// sees it), bounded nesting (parse_json), an object at the top.
Result<json> parse_body(std::string_view body, RequestFault* fault) {
  if (auto bad = utf8::find_invalid(body))
    return fail(fault, "", "invalid_utf8", "the request body is not valid UTF-8 (byte offset {})", *bad);
  auto doc = parse_json(body, "request body");
  if (!doc.ok()) {
    if (fault) *fault = {"", "invalid_json"};
    return Error(ErrorCode::invalid_argument, doc.error().message());
  }
  if (!doc->is_object())
    return fail(fault, "", kType, "the request body must be a JSON object, found {}", json_preview(*doc));
  return std::move(*doc);
}

std::string type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

Result<std::string> get_string(const json& v, std::string_view param, RequestFault* fault) {
  if (!v.is_string()) return fail(fault, param, kType, "'{}' must be a string, found {}", param, type_name(v));
  return v.get<std::string>();
}

Result<bool> get_bool(const json& v, std::string_view param, RequestFault* fault) {
  if (!v.is_boolean()) return fail(fault, param, kType, "'{}' must be a boolean, found {}", param, type_name(v));
  return v.get<bool>();
}

Result<int64_t> get_int(const json& v, std::string_view param, int64_t lo, int64_t hi, RequestFault* fault) {
  if (!v.is_number_integer() && !v.is_number_unsigned())
    return fail(fault, param, kType, "'{}' must be an integer, found {}", param, json_preview(v));
  auto x = json_integer(v, param, lo, hi);
  if (!x.ok()) return fail(fault, param, kValue, "'{}' must be in [{}, {}], found {}", param, lo, hi, json_preview(v));
  return *x;
}

Result<float> get_number(const json& v, std::string_view param, float lo, float hi, RequestFault* fault) {
  if (!v.is_number()) return fail(fault, param, kType, "'{}' must be a number, found {}", param, json_preview(v));
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi)) return fail(fault, param, kValue, "'{}' must be in [{}, {}], found {}", param, lo, hi, d);
  return static_cast<float>(d);
}

Result<json> get_object(const json& v, std::string_view param, RequestFault* fault) {
  if (!v.is_object()) return fail(fault, param, kType, "'{}' must be an object, found {}", param, type_name(v));
  return v;
}

// stop: a string or a list of up to kMaxStops strings; none may be empty (it would match at once).
Result<std::vector<std::string>> get_stop(const json& v, RequestFault* fault) {
  std::vector<std::string> out;
  if (v.is_string()) {
    out.push_back(v.get<std::string>());
  } else if (v.is_array()) {
    if (v.size() > static_cast<size_t>(kMaxStops))
      return fail(fault, "stop", kValue, "'stop' holds {} strings; at most {} are allowed", v.size(), kMaxStops);
    for (size_t i = 0; i < v.size(); ++i)
      out.push_back(FRAGUA_TRY(get_string(v[i], fmt::format("stop[{}]", i), fault)));
  } else {
    return fail(fault, "stop", kType, "'stop' must be a string or a list of strings, found {}", type_name(v));
  }
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i].empty()) return fail(fault, "stop", kValue, "'stop' string {} is empty", i);
  return out;
}

// One member of the body that both endpoints know. Returns false when `key` is not one of them.
Result<bool> sampling_field(const std::string& key, const json& v, SamplingRequest& s, bool chat,
                            std::optional<int64_t>& max_tokens_alias, RequestFault* fault) {
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  if (key == "model") {
    s.model = FRAGUA_TRY(get_string(v, key, fault));
  } else if (v.is_null() &&
             (key == "max_tokens" || key == "max_completion_tokens" || key == "temperature" || key == "top_p" ||
              key == "seed" || key == "stop" || key == "n" || key == "presence_penalty" || key == "frequency_penalty" ||
              key == "top_logprobs" || key == "stream_options")) {
    // null: the default, as OpenAI's clients send it
  } else if (key == "max_tokens" || (chat && key == "max_completion_tokens")) {
    // Completions take 0 with echo (the prompt scored, nothing generated: generation.cpp).
    const int64_t m = FRAGUA_TRY(get_int(v, key, chat ? 1 : 0, kIntMax, fault));
    if (key == "max_tokens")
      s.max_tokens = m;
    else
      max_tokens_alias = m;
  } else if (key == "temperature") {
    s.temperature = FRAGUA_TRY(get_number(v, key, 0.0f, 2.0f, fault));
  } else if (key == "top_p") {
    s.top_p = FRAGUA_TRY(get_number(v, key, 0.0f, 1.0f, fault));
  } else if (key == "seed") {
    s.seed = static_cast<uint64_t>(FRAGUA_TRY(get_int(v, key, INT64_MIN, INT64_MAX, fault)));
  } else if (key == "stop") {
    s.stop = FRAGUA_TRY(get_stop(v, fault));
  } else if (key == "n") {
    s.n = static_cast<int32_t>(FRAGUA_TRY(get_int(v, key, 1, kMaxChoices, fault)));
  } else if (key == "presence_penalty") {
    s.presence_penalty = FRAGUA_TRY(get_number(v, key, -2.0f, 2.0f, fault));
  } else if (key == "frequency_penalty") {
    s.frequency_penalty = FRAGUA_TRY(get_number(v, key, -2.0f, 2.0f, fault));
  } else if (key == "logprobs") {
    if (v.is_null()) return true;
    if (chat) {
      s.logprobs = FRAGUA_TRY(get_bool(v, key, fault));
    } else {
      // completions: logprobs is the number of alternatives per position
      s.top_logprobs = static_cast<int32_t>(FRAGUA_TRY(get_int(v, key, 0, kMaxCompletionLogprobs, fault)));
      s.logprobs = true;
    }
  } else if (chat && key == "top_logprobs") {
    s.top_logprobs = static_cast<int32_t>(FRAGUA_TRY(get_int(v, key, 0, kMaxTopLogprobs, fault)));
  } else if (key == "stream") {
    if (!v.is_null()) s.stream = FRAGUA_TRY(get_bool(v, key, fault));
  } else if (key == "stream_options") {
    const json o = FRAGUA_TRY(get_object(v, key, fault));
    for (const auto& [k, x] : o.items()) {
      const std::string param = "stream_options." + k;
      if (k != "include_usage") return fail(fault, param, kUnknown, "unrecognized request argument '{}'", param);
      if (!x.is_null()) s.include_usage = FRAGUA_TRY(get_bool(x, param, fault));
    }
  } else if (key == "user" || key == "service_tier") {
    if (!v.is_null()) FRAGUA_TRY(get_string(v, key, fault));
  } else if (key == "metadata") {
    if (!v.is_null()) FRAGUA_TRY(get_object(v, key, fault));
  } else if (key == "store") {
    if (!v.is_null()) FRAGUA_TRY(get_bool(v, key, fault));
  } else if (key == "logit_bias") {
    if (!v.is_null() && !FRAGUA_TRY(get_object(v, key, fault)).empty())
      return fail(fault, key, kUnsupported, "'logit_bias' is not supported yet");
  } else {
    return false;
  }
  return true;
}

// The checks that involve several fields.
Status finish_sampling(const json& body, SamplingRequest& s, bool chat, std::optional<int64_t> alias,
                       RequestFault* fault) {
  if (alias) {
    if (s.max_tokens && *s.max_tokens != *alias)
      return fail(fault, "max_completion_tokens", kValue,
                  "'max_tokens' ({}) and 'max_completion_tokens' ({}) disagree; give one", *s.max_tokens, *alias);
    s.max_tokens = alias;
  }
  if (chat && s.top_logprobs > 0 && !s.logprobs)
    return fail(fault, "top_logprobs", kValue, "'top_logprobs' requires 'logprobs' to be true");
  if (body.contains("stream_options") && !body["stream_options"].is_null() && !s.stream)
    return fail(fault, "stream_options", kValue, "'stream_options' is only allowed when 'stream' is true");
  return {};
}

// Fields OpenAI defines that need machinery this server does not have yet: a clear 400, never a
// silently different answer.
bool known_unsupported(std::string_view key, bool chat) {
  static constexpr std::array kChat = {"modalities", "audio",         "prediction",         "reasoning_effort",
                                       "functions",  "function_call", "web_search_options", "verbosity"};
  if (chat) return std::find(kChat.begin(), kChat.end(), key) != kChat.end();
  return false;
}

// A schema compile error at `param`: unsupported keywords are not_supported, the rest invalid_value.
Error schema_error(RequestFault* fault, const std::string& param, const Error& e) {
  return fail(fault, param, e.code() == ErrorCode::unsupported ? kUnsupported : kValue, "{}", e.message());
}

// response_format: "text" (null), "json_object" (any JSON object) or "json_schema" (its schema
// compiled for constrained decoding; no schema: any JSON value).
Result<std::shared_ptr<const CompiledSchema>> check_response_format(const json& v, RequestFault* fault) {
  if (v.is_null()) return std::shared_ptr<const CompiledSchema>();
  const json o = FRAGUA_TRY(get_object(v, "response_format", fault));
  if (!o.contains("type")) return fail(fault, "response_format.type", kMissing, "'response_format.type' is required");
  const std::string type = FRAGUA_TRY(get_string(o["type"], "response_format.type", fault));
  for (const auto& [k, x] : o.items()) {
    if (k == "type" || (k == "json_schema" && type == "json_schema")) continue;
    return fail(fault, "response_format." + k, kUnknown, "unrecognized request argument 'response_format.{}'", k);
  }
  if (type == "text") return std::shared_ptr<const CompiledSchema>();
  if (type == "json_object") return any_json_object_schema();
  if (type != "json_schema")
    return fail(fault, "response_format.type", kValue,
                "'response_format.type' must be 'text', 'json_object' or 'json_schema', found '{}'", type);
  if (!o.contains("json_schema"))
    return fail(fault, "response_format.json_schema", kMissing, "'response_format.json_schema' is required");
  const json js = FRAGUA_TRY(get_object(o["json_schema"], "response_format.json_schema", fault));
  if (!js.contains("name"))
    return fail(fault, "response_format.json_schema.name", kMissing, "'response_format.json_schema.name' is required");
  for (const auto& [k, x] : js.items()) {
    const std::string param = "response_format.json_schema." + k;
    if (k == "name" || k == "description") {
      FRAGUA_TRY(get_string(x, param, fault));
    } else if (k == "schema") {
      FRAGUA_TRY(get_object(x, param, fault));
    } else if (k == "strict") {
      if (!x.is_null()) FRAGUA_TRY(get_bool(x, param, fault));
    } else {
      return fail(fault, param, kUnknown, "unrecognized request argument '{}'", param);
    }
  }
  const std::string param = "response_format.json_schema.schema";
  auto compiled = compile_json_schema(js.contains("schema") ? js["schema"] : json::object(), param);
  if (!compiled.ok()) return schema_error(fault, param, compiled.error());
  return std::move(*compiled);
}

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
}

// tools: a list of {"type": "function", "function": {"name", "description", "parameters",
// "strict"}}; returns the names.
Result<std::vector<std::string>> check_tools(const json& v, RequestFault* fault) {
  if (!v.is_array()) return fail(fault, "tools", kType, "'tools' must be a list, found {}", type_name(v));
  std::vector<std::string> names;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = fmt::format("tools[{}]", i);
    const json t = FRAGUA_TRY(get_object(v[i], at, fault));
    if (!t.contains("type") || t["type"] != "function")
      return fail(fault, at + ".type", kValue, "'{}.type' must be 'function'", at);
    if (!t.contains("function")) return fail(fault, at + ".function", kMissing, "'{}.function' is required", at);
    for (const auto& [k, x] : t.items())
      if (k != "type" && k != "function")
        return fail(fault, at + "." + k, kUnknown, "unrecognized request argument '{}.{}'", at, k);
    const json f = FRAGUA_TRY(get_object(t["function"], at + ".function", fault));
    if (!f.contains("name")) return fail(fault, at + ".function.name", kMissing, "'{}.function.name' is required", at);
    for (const auto& [k, x] : f.items()) {
      const std::string param = at + ".function." + k;
      if (k == "name") {
        const std::string name = FRAGUA_TRY(get_string(x, param, fault));
        if (!valid_function_name(name))
          return fail(fault, param, kValue, "'{}' must be 1 to 64 of a-z, A-Z, 0-9, '_' and '-', found '{}'", param,
                      name);
        if (std::find(names.begin(), names.end(), name) != names.end())
          return fail(fault, param, kValue, "'{}': the function name '{}' is given twice", param, name);
        names.push_back(name);
      } else if (k == "description") {
        FRAGUA_TRY(get_string(x, param, fault));
      } else if (k == "parameters") {
        FRAGUA_TRY(get_object(x, param, fault));
      } else if (k == "strict") {
        if (!x.is_null()) FRAGUA_TRY(get_bool(x, param, fault));
      } else {
        return fail(fault, param, kUnknown, "unrecognized request argument '{}'", param);
      }
    }
  }
  return names;
}

// tool_choice: "none", "auto", "required" or {"type": "function", "function": {"name"}}.
struct ToolChoice {
  bool forced = false;  // "required" or a named function: the output is a call
  std::string name;     // a named function ("" for any of the tools)
};
Result<ToolChoice> check_tool_choice(const json& v, const std::vector<std::string>& names, bool has_tools,
                                     RequestFault* fault) {
  if (v.is_null()) return ToolChoice{};
  if (!has_tools) return fail(fault, "tool_choice", kValue, "'tool_choice' is only allowed when 'tools' are given");
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "none" || s == "auto") return ToolChoice{};
    if (s == "required") {
      if (names.empty()) return fail(fault, "tool_choice", kValue, "'tool_choice' is 'required' but 'tools' is empty");
      return ToolChoice{true, ""};
    }
    return fail(fault, "tool_choice", kValue,
                "'tool_choice' must be 'none', 'auto', 'required' or an object, found '{}'", s);
  }
  const json o = FRAGUA_TRY(get_object(v, "tool_choice", fault));
  if (!o.contains("type") || o["type"] != "function")
    return fail(fault, "tool_choice.type", kValue, "'tool_choice.type' must be 'function'");
  if (!o.contains("function") || !o["function"].is_object() || !o["function"].contains("name"))
    return fail(fault, "tool_choice.function.name", kMissing, "'tool_choice.function.name' is required");
  const std::string name = FRAGUA_TRY(get_string(o["function"]["name"], "tool_choice.function.name", fault));
  if (std::find(names.begin(), names.end(), name) == names.end())
    return fail(fault, "tool_choice.function.name", kValue, "'tool_choice' names '{}', which is not among 'tools'",
                name);
  return ToolChoice{true, name};
}

// The grammar of a forced call: one of the tools (or the named one), its arguments under its
// `parameters` schema.
Result<std::shared_ptr<const CompiledSchema>> tool_call_constraint(const json& tools, const ToolChoice& choice,
                                                                   RequestFault* fault) {
  std::vector<ToolSchema> schemas;
  std::vector<size_t> index;
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& f = tools[i]["function"];
    const std::string name = f["name"].get<std::string>();
    if (!choice.name.empty() && name != choice.name) continue;
    schemas.push_back({name, f.contains("parameters") ? f["parameters"] : json()});
    index.push_back(i);
  }
  for (size_t k = 0; k < schemas.size(); ++k) {
    // Compiled one by one first, so that an error names the tool's own field.
    const std::string param = fmt::format("tools[{}].function.parameters", index[k]);
    if (schemas[k].parameters.is_null()) continue;
    auto one = compile_json_schema(schemas[k].parameters, param);
    if (!one.ok()) return schema_error(fault, param, one.error());
  }
  auto compiled = compile_tool_call_schema(schemas, "tools");
  if (!compiled.ok()) return schema_error(fault, "tools", compiled.error());
  return std::move(*compiled);
}

// A message's content as one string: a string, or a list of text parts joined.
Result<std::string> message_content(const json& v, const std::string& at, RequestFault* fault) {
  const std::string param = at + ".content";
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array())
    return fail(fault, param, kType, "'{}' must be a string or a list of content parts, found {}", param, type_name(v));
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string pat = fmt::format("{}[{}]", param, i);
    const json p = FRAGUA_TRY(get_object(v[i], pat, fault));
    if (!p.contains("type")) return fail(fault, pat + ".type", kMissing, "'{}.type' is required", pat);
    const std::string type = FRAGUA_TRY(get_string(p["type"], pat + ".type", fault));
    if (type == "image_url" || type == "input_audio" || type == "file" || type == "refusal")
      return fail(fault, pat + ".type", kUnsupported, "content parts of type '{}' are not supported (text only)", type);
    if (type != "text") return fail(fault, pat + ".type", kValue, "'{}.type' must be 'text', found '{}'", pat, type);
    if (!p.contains("text")) return fail(fault, pat + ".text", kMissing, "'{}.text' is required", pat);
    for (const auto& [k, x] : p.items())
      if (k != "type" && k != "text")
        return fail(fault, pat + "." + k, kUnknown, "unrecognized argument '{}.{}'", pat, k);
    text += FRAGUA_TRY(get_string(p["text"], pat + ".text", fault));
  }
  return text;
}

// An assistant's tool_calls, with arguments parsed into JSON where they parse (templates such as
// Llama 3.1's and Qwen's read them as a mapping; OpenAI sends a string).
Result<ordered_json> message_tool_calls(const json& v, const std::string& at, RequestFault* fault) {
  const std::string param = at + ".tool_calls";
  if (!v.is_array()) return fail(fault, param, kType, "'{}' must be a list, found {}", param, type_name(v));
  ordered_json out = ordered_json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string c = fmt::format("{}[{}]", param, i);
    const json call = FRAGUA_TRY(get_object(v[i], c, fault));
    if (!call.contains("function") || !call["function"].is_object())
      return fail(fault, c + ".function", kMissing, "'{}.function' is required and must be an object", c);
    const json& f = call["function"];
    if (!f.contains("name")) return fail(fault, c + ".function.name", kMissing, "'{}.function.name' is required", c);
    ordered_json item;
    if (call.contains("id")) item["id"] = FRAGUA_TRY(get_string(call["id"], c + ".id", fault));
    item["type"] = "function";
    item["function"]["name"] = FRAGUA_TRY(get_string(f["name"], c + ".function.name", fault));
    std::string args = "{}";
    if (f.contains("arguments")) args = FRAGUA_TRY(get_string(f["arguments"], c + ".function.arguments", fault));
    auto parsed = parse_json(args, "arguments");
    if (parsed.ok())
      item["function"]["arguments"] = ordered_json::parse(parsed->dump());
    else
      item["function"]["arguments"] = args;
    out.push_back(std::move(item));
  }
  return out;
}

Result<ordered_json> parse_message(const json& v, size_t index, RequestFault* fault) {
  const std::string at = fmt::format("messages[{}]", index);
  const json m = FRAGUA_TRY(get_object(v, at, fault));
  if (!m.contains("role")) return fail(fault, at + ".role", kMissing, "'{}.role' is required", at);
  std::string role = FRAGUA_TRY(get_string(m["role"], at + ".role", fault));
  if (role != "system" && role != "developer" && role != "user" && role != "assistant" && role != "tool")
    return fail(fault, at + ".role", kValue,
                "'{}.role' must be 'system', 'developer', 'user', 'assistant' or 'tool', found '{}'", at, role);
  // OpenAI's "developer" is the system message of its newer models; chat templates know "system".
  if (role == "developer") role = "system";
  ordered_json out;
  out["role"] = role;
  const bool has_calls = role == "assistant" && m.contains("tool_calls") && !m["tool_calls"].is_null();
  const bool null_content = !m.contains("content") || m["content"].is_null();
  if (null_content && !has_calls) return fail(fault, at + ".content", kMissing, "'{}.content' is required", at);
  out["content"] = null_content ? std::string() : FRAGUA_TRY(message_content(m["content"], at, fault));
  for (const auto& [k, x] : m.items()) {
    const std::string param = at + "." + k;
    if (k == "role" || k == "content") continue;
    if (k == "name") {
      out["name"] = FRAGUA_TRY(get_string(x, param, fault));
    } else if (k == "tool_calls" && role == "assistant") {
      if (!x.is_null()) out["tool_calls"] = FRAGUA_TRY(message_tool_calls(x, at, fault));
    } else if (k == "refusal" && role == "assistant") {
      if (!x.is_null()) FRAGUA_TRY(get_string(x, param, fault));
    } else if (k == "tool_call_id" && role == "tool") {
      out["tool_call_id"] = FRAGUA_TRY(get_string(x, param, fault));
    } else {
      return fail(fault, param, kUnknown, "unrecognized argument '{}' in a message of role '{}'", param, role);
    }
  }
  if (role == "tool" && !out.contains("tool_call_id"))
    return fail(fault, at + ".tool_call_id", kMissing, "'{}.tool_call_id' is required in a tool message", at);
  return out;
}

std::vector<int32_t> ids_of(const json& v) {
  std::vector<int32_t> ids;
  for (const auto& x : v) ids.push_back(static_cast<int32_t>(x.get<int64_t>()));
  return ids;
}

Result<std::vector<int32_t>> get_ids(const json& v, const std::string& param, RequestFault* fault) {
  if (!v.is_array())
    return fail(fault, param, kType, "'{}' must be a list of token ids, found {}", param, type_name(v));
  for (size_t i = 0; i < v.size(); ++i)
    FRAGUA_TRY(get_int(v[i], fmt::format("{}[{}]", param, i), 0, std::numeric_limits<int32_t>::max(), fault));
  return ids_of(v);
}

// `name` (completions' prompt, embeddings' input): a string, a list of strings, a list of token
// ids, or a list of lists of token ids.
Result<std::vector<CompletionPrompt>> get_prompts(const json& v, const std::string& name, RequestFault* fault) {
  std::vector<CompletionPrompt> out;
  if (v.is_string()) {
    out.push_back({v.get<std::string>(), {}, false});
    return out;
  }
  if (!v.is_array() || v.empty())
    return fail(fault, name, v.is_array() ? kValue : kType,
                "'{}' must be a string, a non-empty list of strings or a list of token ids, found {}", name,
                json_preview(v));
  if (v[0].is_number()) {
    out.push_back({{}, FRAGUA_TRY(get_ids(v, name, fault)), true});
    return out;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string param = fmt::format("{}[{}]", name, i);
    if (v[i].is_string()) {
      out.push_back({v[i].get<std::string>(), {}, false});
    } else if (v[i].is_array()) {
      out.push_back({{}, FRAGUA_TRY(get_ids(v[i], param, fault)), true});
    } else {
      return fail(fault, param, kType, "'{}' must be a string or a list of token ids, found {}", param,
                  type_name(v[i]));
    }
  }
  return out;
}

}  // namespace

Result<ChatRequest> parse_chat_request(std::string_view body, RequestFault* fault) {
  const json doc = FRAGUA_TRY(parse_body(body, fault));
  ChatRequest r;
  std::optional<int64_t> alias;
  bool has_tools = false;
  std::vector<std::string> tool_names;
  for (const auto& [key, v] : doc.items()) {
    if (FRAGUA_TRY(sampling_field(key, v, r.sampling, /*chat=*/true, alias, fault))) continue;
    if (key == "messages") {
      if (!v.is_array()) return fail(fault, key, kType, "'messages' must be a list, found {}", type_name(v));
      for (size_t i = 0; i < v.size(); ++i) r.messages.push_back(FRAGUA_TRY(parse_message(v[i], i, fault)));
    } else if (key == "response_format") {
      // checked after the loop, with tool_choice
    } else if (key == "tools") {
      if (!v.is_null()) {
        tool_names = FRAGUA_TRY(check_tools(v, fault));
        has_tools = true;
      }
    } else if (key == "tool_choice") {
    } else if (key == "parallel_tool_calls") {
      if (!v.is_null()) FRAGUA_TRY(get_bool(v, key, fault));
    } else if (known_unsupported(key, true)) {
      if (!v.is_null()) return fail(fault, key, kUnsupported, "'{}' is not supported by this server", key);
    } else {
      return fail(fault, key, kUnknown, "unrecognized request argument '{}'", key);
    }
  }
  if (!doc.contains("messages")) return fail(fault, "messages", kMissing, "'messages' is required");
  if (r.messages.empty()) return fail(fault, "messages", kValue, "'messages' must hold at least one message");
  FRAGUA_TRY(finish_sampling(doc, r.sampling, true, alias, fault));
  const ToolChoice choice = FRAGUA_TRY(
      check_tool_choice(doc.contains("tool_choice") ? doc["tool_choice"] : json(), tool_names, has_tools, fault));
  if (doc.contains("response_format"))
    r.sampling.constraint = FRAGUA_TRY(check_response_format(doc["response_format"], fault));
  if (choice.forced) {
    if (r.sampling.constraint)
      return fail(fault, "response_format", kValue,
                  "'response_format' must be 'text' when 'tool_choice' forces a call (the call has its own format)");
    r.sampling.constraint = FRAGUA_TRY(tool_call_constraint(doc["tools"], choice, fault));
    r.sampling.tool_call = true;
  }
  if (has_tools && !tool_names.empty()) {
    // The tools as the client ordered them: a template prints their schemas in that order.
    const auto ordered = ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (ordered.is_object() && ordered.contains("tools")) r.tools = ordered["tools"];
  }
  return r;
}

Result<CompletionRequest> parse_completion_request(std::string_view body, RequestFault* fault) {
  const json doc = FRAGUA_TRY(parse_body(body, fault));
  CompletionRequest r;
  std::optional<int64_t> alias;
  for (const auto& [key, v] : doc.items()) {
    if (FRAGUA_TRY(sampling_field(key, v, r.sampling, /*chat=*/false, alias, fault))) continue;
    if (key == "prompt") {
      r.prompts = FRAGUA_TRY(get_prompts(v, key, fault));
    } else if (key == "echo") {
      r.echo = !v.is_null() && FRAGUA_TRY(get_bool(v, key, fault));
    } else if (key == "suffix") {
      if (!v.is_null() && !FRAGUA_TRY(get_string(v, key, fault)).empty())
        return fail(fault, key, kUnsupported, "'suffix' (insertion) is not supported");
    } else if (key == "best_of") {
      if (!v.is_null() && FRAGUA_TRY(get_int(v, key, 1, kMaxChoices, fault)) > 1)
        return fail(fault, key, kUnsupported, "'best_of' above 1 is not supported; use 'n'");
    } else if (key == "response_format") {
      // Not in OpenAI's completions API; accepted as llama.cpp's and vLLM's servers do.
      r.sampling.constraint = FRAGUA_TRY(check_response_format(v, fault));
    } else {
      return fail(fault, key, kUnknown, "unrecognized request argument '{}'", key);
    }
  }
  if (!doc.contains("prompt")) return fail(fault, "prompt", kMissing, "'prompt' is required");
  if (r.prompts.size() * static_cast<size_t>(r.sampling.n) > static_cast<size_t>(kMaxChoices))
    return fail(fault, "prompt", kValue, "{} prompts times n = {} is more than {} choices", r.prompts.size(),
                r.sampling.n, kMaxChoices);
  FRAGUA_TRY(finish_sampling(doc, r.sampling, false, alias, fault));
  return r;
}

Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body, RequestFault* fault) {
  const json doc = FRAGUA_TRY(parse_body(body, fault));
  EmbeddingsRequest r;
  for (const auto& [key, v] : doc.items()) {
    if (key == "input") {
      r.inputs = FRAGUA_TRY(get_prompts(v, key, fault));
      if (r.inputs.size() > static_cast<size_t>(kMaxEmbeddingInputs))
        return fail(fault, key, kValue, "'input' holds {} items; at most {} are allowed", r.inputs.size(),
                    kMaxEmbeddingInputs);
    } else if (key == "model") {
      r.model = FRAGUA_TRY(get_string(v, key, fault));
    } else if (key == "encoding_format") {
      if (v.is_null()) continue;
      const std::string f = FRAGUA_TRY(get_string(v, key, fault));
      if (f != "float" && f != "base64")
        return fail(fault, key, kValue, "'encoding_format' must be 'float' or 'base64', found '{}'", f);
      r.base64 = f == "base64";
    } else if (key == "dimensions") {
      if (!v.is_null()) return fail(fault, key, kUnsupported, "'dimensions' is not supported (the model's own size)");
    } else if (key == "user") {
      if (!v.is_null()) FRAGUA_TRY(get_string(v, key, fault));
    } else {
      return fail(fault, key, kUnknown, "unrecognized request argument '{}'", key);
    }
  }
  if (!doc.contains("input")) return fail(fault, "input", kMissing, "'input' is required");
  return r;
}

Result<TokenizeRequest> parse_tokenize_request(std::string_view body, RequestFault* fault) {
  const json doc = FRAGUA_TRY(parse_body(body, fault));
  TokenizeRequest r;
  for (const auto& [key, v] : doc.items()) {
    if (key == "content")
      r.content = FRAGUA_TRY(get_string(v, key, fault));
    else if (key == "add_special")
      r.add_special = FRAGUA_TRY(get_bool(v, key, fault));
    else if (key == "with_pieces")
      r.with_pieces = FRAGUA_TRY(get_bool(v, key, fault));
    else if (key != "model")
      return fail(fault, key, kUnknown, "unrecognized request argument '{}'", key);
  }
  if (!doc.contains("content")) return fail(fault, "content", kMissing, "'content' is required");
  return r;
}

Result<DetokenizeRequest> parse_detokenize_request(std::string_view body, RequestFault* fault) {
  const json doc = FRAGUA_TRY(parse_body(body, fault));
  DetokenizeRequest r;
  for (const auto& [key, v] : doc.items()) {
    if (key == "tokens")
      r.tokens = FRAGUA_TRY(get_ids(v, key, fault));
    else if (key != "model")
      return fail(fault, key, kUnknown, "unrecognized request argument '{}'", key);
  }
  if (!doc.contains("tokens")) return fail(fault, "tokens", kMissing, "'tokens' is required");
  return r;
}

ApiError api_error(const Error& error, const RequestFault& fault) {
  ApiError e;
  e.message = error.message();
  e.param = fault.param;
  e.code = fault.code;
  switch (error.code()) {
    case ErrorCode::invalid_argument:
    case ErrorCode::corruption:
      e.status = 400;
      break;
    case ErrorCode::unsupported:
      e.status = 400;
      if (e.code.empty()) e.code = "not_supported";
      break;
    case ErrorCode::not_found:
      e.status = 404;
      if (e.code.empty()) e.code = "not_found";
      break;
    case ErrorCode::resource_exhausted:
      e.status = 503;
      e.type = "server_error";
      if (e.code.empty()) e.code = "server_busy";
      break;
    default:
      e.status = 500;
      e.type = "server_error";
      break;
  }
  return e;
}

std::string error_body(const ApiError& error) {
  auto str_or_null = [](const std::string& s) { return s.empty() ? json() : json(s); };
  ordered_json body;
  body["error"]["message"] = error.message;
  body["error"]["type"] = error.type;
  body["error"]["param"] = str_or_null(error.param);
  body["error"]["code"] = str_or_null(error.code);
  // Messages quote the client's own text, which may cut a character: never an exception here.
  return body.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace fragua::serve
