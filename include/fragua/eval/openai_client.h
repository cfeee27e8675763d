// SPDX-License-Identifier: Apache-2.0
// A client of OpenAI-compatible HTTP servers (fragua serve, llama-server, vLLM, OpenAI itself):
// POST /completions and /chat/completions with JSON bodies, answers parsed into structs, and
// retries with exponential backoff where the failure is transient. Used by remote evaluation
// (remote_model.h) and by any part of Fragua that calls a teacher model.
//
//   eval::OpenAIClientOptions o;
//   o.base_url = "http://127.0.0.1:8080/v1";
//   o.api_key = FRAGUA_TRY(eval::api_key_from_env("OPENAI_API_KEY"));
//   o.model = "teacher";
//   eval::OpenAIClient client(o);
//   auto r = FRAGUA_TRY(client.chat_completions({.messages = {{"user", "Kaixo!"}}, .max_tokens = 64}));
//   std::string answer = r.choices[0].content;
//
// Retries (after the OpenAI Python client's policy): a request that got no complete answer
// (connection refused or cut, a timeout), a 429 and any 5xx are tried again, up to max_retries
// more times, after backoff_initial_s x 2^attempt seconds (capped at backoff_max_s, times a
// random factor in [1, 1.25) so that many threads spread out), or after the server's Retry-After
// seconds when it sends one. Any other status is an error at once, naming the URL, the status and
// the server's error message. All calls are thread-safe (one HTTP connection per request).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua {
class ProgressBar;
}

namespace fragua::eval {

struct OpenAIClientOptions {
  // The API root, e.g. "http://127.0.0.1:8080/v1": requests go to base_url + "/completions" and
  // base_url + "/chat/completions". A full endpoint URL (ending in /completions or
  // /chat/completions, as lm-evaluation-harness's base_url is) is cut back to its root; a URL
  // with no path gets "/v1".
  std::string base_url;
  std::string api_key;  // sent as "Authorization: Bearer KEY" when not empty
  std::string model;    // the "model" field of every request ("" : not sent)
  int connect_timeout_s = 10;
  int read_timeout_s = 600;  // per attempt: a slow generation must not count as a dead server
  int max_retries = 5;       // attempts after the first
  double backoff_initial_s = 1.0;
  double backoff_max_s = 60.0;
  double retry_after_max_s = 600.0;  // a longer Retry-After is cut to this
  // How to wait between attempts; empty: std::this_thread::sleep_for. Tests record the delays.
  std::function<void(double seconds)> sleep;
};

// The value of the environment variable `name` (read in base/runtime_options), "" when unset:
// a local server needs no key. The key is never logged.
std::string api_key_from_env(std::string_view name);

struct CompletionRequest {
  std::string prompt;
  int max_tokens = 16;  // 0 with echo: score the prompt, generate nothing
  double temperature = 0;
  std::vector<std::string> stop;  // not sent when empty
  bool echo = false;              // the answer's text and logprobs begin with the prompt's
  int logprobs = -1;              // -1: not asked; n >= 0: token logprobs and the top n per token
  std::optional<int64_t> seed;
  nlohmann::json extra = nlohmann::json::object();  // further fields, merged into the body last
};

struct CompletionLogprobs {
  std::vector<std::string> tokens;
  // null (nullopt) where the server has none: the first token of an echoed prompt.
  std::vector<std::optional<double>> token_logprobs;
  std::vector<int64_t> text_offset;  // byte offset of each token in the choice's text
  std::vector<std::vector<std::pair<std::string, double>>> top_logprobs;  // per token, server order
};

struct CompletionChoice {
  std::string text;
  std::string finish_reason;  // "stop", "length", ... ("" when null)
  std::optional<CompletionLogprobs> logprobs;  // present when the answer carried them
};

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

struct CompletionResult {
  std::vector<CompletionChoice> choices;  // at least one
  Usage usage;
  nlohmann::json raw;  // the whole answer, for fields not parsed here
};

struct ChatMessage {
  std::string role;  // "system", "user", "assistant"
  std::string content;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  int max_tokens = -1;  // -1: not sent (the server's default)
  std::optional<double> temperature;
  std::vector<std::string> stop;
  std::optional<int64_t> seed;
  // Sent when not null: {"type": "json_object"} or {"type": "json_schema", "json_schema": {...}}.
  nlohmann::json response_format;
  nlohmann::json extra = nlohmann::json::object();  // further fields, merged into the body last
};

struct ChatChoice {
  std::string role, content;  // content "" when null (e.g. a tool call: see raw)
  std::string finish_reason;
};

struct ChatResult {
  std::vector<ChatChoice> choices;  // at least one
  Usage usage;
  nlohmann::json raw;
};

class OpenAIClient {
 public:
  explicit OpenAIClient(OpenAIClientOptions options);

  Result<CompletionResult> completions(const CompletionRequest& request) const;
  Result<ChatResult> chat_completions(const ChatRequest& request) const;
  // POSTs `body` (the model field added when set) to base_url + path ("/completions") with the
  // retry policy above and returns the parsed JSON answer of the 2xx status.
  Result<nlohmann::json> post_json(std::string_view path, nlohmann::json body) const;

  // The endpoint URL of `path` ("/completions"), for messages.
  std::string url(std::string_view path) const { return root_ + std::string(path); }
  const OpenAIClientOptions& options() const { return options_; }

 private:
  OpenAIClientOptions options_;
  std::string root_;
};

// The completions and chat answers parsed (exposed for the fuzz target and tests); `origin` names
// the answer in messages (the URL).
Result<CompletionResult> parse_completion_answer(const nlohmann::json& answer, std::string_view origin);
Result<ChatResult> parse_chat_answer(const nlohmann::json& answer, std::string_view origin);

// Calls fn(i) for each i in [0, n) on at most max_concurrency threads (the caller's included),
// each index once, handed out in order. After a failure no new index starts; the result is the
// error of the lowest index that failed, or ok. `bar` (optional) advances by one per index done.
Status run_concurrently(size_t n, int max_concurrency, const std::function<Status(size_t)>& fn,
                        ProgressBar* bar = nullptr);

}  // namespace fragua::eval
