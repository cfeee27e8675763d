// SPDX-License-Identifier: Apache-2.0
// Request bodies of the OpenAI API (https://platform.openai.com/docs/api-reference/chat/create,
// .../completions/create) parsed into typed structs, and errors in its error body. Every field is
// type- and range-checked; a field this server does not implement is refused with a 400 naming
// it, never ignored. The body is untrusted: it is checked for valid UTF-8 and a bounded nesting
// depth before it is parsed (fuzz/serve_request_fuzz.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/serve/json_constraint.h"

namespace fragua::serve {

// Bounds of the fields that have them (OpenAI's, where it documents one).
inline constexpr int32_t kMaxChoices = 16;      // n (OpenAI allows 128; each choice is a slot)
inline constexpr int32_t kMaxStops = 4;         // stop
inline constexpr int32_t kMaxTopLogprobs = 20;  // chat top_logprobs; completions logprobs <= 5
inline constexpr int32_t kMaxCompletionLogprobs = 5;

// Where a request went wrong, for the error body: `param` names the field ("messages[1].content",
// "" for the body as a whole) and `code` is OpenAI's kind of fault.
struct RequestFault {
  std::string param;
  std::string code;  // invalid_json, invalid_utf8, invalid_type, invalid_value,
                     // missing_required_parameter, unknown_parameter, not_supported
};

// The generation fields both endpoints share.
struct SamplingRequest {
  std::string model;                  // "" when absent: the served model
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens; none: up to the context
  float temperature = 1.0f;           // [0, 2]; 0 is greedy
  float top_p = 1.0f;                 // (0, 1]
  std::optional<uint64_t> seed;       // none: a random seed per request
  std::vector<std::string> stop;      // up to kMaxStops non-empty strings
  int32_t n = 1;                      // [1, kMaxChoices]
  float presence_penalty = 0.0f;      // [-2, 2]
  float frequency_penalty = 0.0f;     // [-2, 2]
  bool logprobs = false;
  int32_t top_logprobs = 0;  // alternatives per position (chat [0, 20]; completions' logprobs [0, 5])
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  // The grammar of the output (constrained decoding; docs/serve.md, "Constrained output"):
  // response_format json_object or json_schema, or the tool call that a chat request's
  // tool_choice "required" or {"type": "function", ...} forces. Null: free text.
  std::shared_ptr<const CompiledSchema> constraint;
  bool tool_call = false;  // `constraint` is a tool call: the answer is message.tool_calls
};

// POST /v1/chat/completions. Messages are normalised for the chat template
// (tokenize::render_chat_json): content is one string (text parts joined), an assistant's
// tool_calls carry their arguments as parsed JSON where they parse, as Hugging Face templates read
// them. Tools reach the template; with tool_choice "required" or a named function the output is
// constrained to a call (SamplingRequest::constraint), with "auto" (the default) and "none" it is
// text.
struct ChatRequest {
  SamplingRequest sampling;
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null, or the request's tools in their order
};

// One prompt of POST /v1/completions: text, or token ids.
struct CompletionPrompt {
  std::string text;
  std::vector<int32_t> ids;
  bool is_ids = false;
};

struct CompletionRequest {
  SamplingRequest sampling;
  std::vector<CompletionPrompt> prompts;  // choices are numbered prompt-major: i * n + j
  // The prompt's own log-probabilities in the answer (lm-evaluation-harness's loglikelihood
  // requests); served with max_tokens 0 only (generation.cpp).
  bool echo = false;
};

// POST /v1/embeddings: one vector per input (a string or token ids, as completions' prompt).
inline constexpr int32_t kMaxEmbeddingInputs = 256;
struct EmbeddingsRequest {
  std::string model;
  std::vector<CompletionPrompt> inputs;
  bool base64 = false;  // encoding_format "base64": little-endian float32s, base64 (RFC 4648)
};

// POST /tokenize {"content": "...", "add_special": false, "with_pieces": false} and
// POST /detokenize {"tokens": [1, 2]} (llama.cpp server's shapes).
struct TokenizeRequest {
  std::string content;
  bool add_special = false;
  bool with_pieces = false;
};
struct DetokenizeRequest {
  std::vector<int32_t> tokens;
};

// On error, *fault (when given) names the field. Errors are invalid_argument, or unsupported for
// a valid field this server does not implement yet.
Result<ChatRequest> parse_chat_request(std::string_view body, RequestFault* fault = nullptr);
Result<CompletionRequest> parse_completion_request(std::string_view body, RequestFault* fault = nullptr);
Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body, RequestFault* fault = nullptr);
Result<TokenizeRequest> parse_tokenize_request(std::string_view body, RequestFault* fault = nullptr);
Result<DetokenizeRequest> parse_detokenize_request(std::string_view body, RequestFault* fault = nullptr);

// An error response: the HTTP status and the fields of OpenAI's body
// {"error": {"message", "type", "code", "param"}} ("" is written as null).
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string code;
  std::string param;
};
// invalid_argument, corruption and unsupported -> 400, not_found -> 404, resource_exhausted ->
// 503, anything else -> 500 (type server_error).
ApiError api_error(const Error& error, const RequestFault& fault = {});
std::string error_body(const ApiError& error);

}  // namespace fragua::serve
