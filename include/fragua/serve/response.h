// SPDX-License-Identifier: Apache-2.0
// Response bodies of the OpenAI API: chat completions and their stream chunks, text completions
// and theirs, usage, and log-probabilities in each endpoint's shape
// (https://platform.openai.com/docs/api-reference/chat/object, .../chat/streaming,
// .../completions/object).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fragua::serve {

// A token's bytes (possibly part of a character) and its log-probability.
struct PieceLogprob {
  std::string piece;
  float logprob = 0.0f;
};
// One generated position: the sampled token and the most likely alternatives, most likely first.
struct PositionLogprobs {
  PieceLogprob sampled;
  std::vector<PieceLogprob> top;
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_tokens = 0;  // prompt tokens already in the slot's cache
};

// Identity of one response, repeated in every chunk of a stream.
struct ResponseHeader {
  std::string id;       // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

// A function call the model made (chat): arguments are JSON text, as OpenAI sends them.
struct ToolCall {
  std::string id;  // "call_..."
  std::string name;
  std::string arguments;
};

struct Choice {
  int32_t index = 0;
  std::string text;
  std::string finish_reason;                              // "stop", "length", "tool_calls"
  std::optional<std::vector<PositionLogprobs>> logprobs;  // set when the request asked for them
  std::optional<ToolCall> tool_call;                      // chat: message.tool_calls (content null)
};

nlohmann::ordered_json usage_json(const Usage& usage);

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}], "refusal": null}.
nlohmann::ordered_json chat_logprobs_json(const std::vector<PositionLogprobs>& positions);
// Completions: {"tokens", "token_logprobs", "top_logprobs": [{piece: logprob}], "text_offset"};
// offsets count bytes from `text_offset` (the choice's text emitted before these positions).
nlohmann::ordered_json completion_logprobs_json(const std::vector<PositionLogprobs>& positions, int64_t text_offset);

// Non-streamed bodies.
nlohmann::ordered_json chat_completion_json(const ResponseHeader& h, const std::vector<Choice>& choices,
                                            const Usage& usage);
nlohmann::ordered_json completion_json(const ResponseHeader& h, const std::vector<Choice>& choices, const Usage& usage);

// Stream chunks. A chat chunk's delta holds the role (the choice's first chunk), content, or
// nothing (the chunk with the finish reason). `with_usage`: the request asked for a usage chunk,
// so every other chunk carries "usage": null (OpenAI's shape).
struct ChunkDelta {
  int32_t index = 0;
  bool role = false;  // first chunk of the choice: "role": "assistant"
  std::optional<std::string> content;
  std::string finish_reason;  // "" for none
  std::optional<std::vector<PositionLogprobs>> logprobs;
  int64_t text_offset = 0;  // completions: bytes of this choice sent before this chunk
  // chat: delta.tool_calls [{index: 0, ...}]. The call's first chunk carries its id, type and
  // name (and "arguments": ""), later ones {"function": {"arguments": fragment}}.
  struct ToolCallDelta {
    bool head = false;
    std::string id, name, arguments;
  };
  std::optional<ToolCallDelta> tool_call;
};
nlohmann::ordered_json chat_chunk_json(const ResponseHeader& h, const ChunkDelta& delta, bool with_usage);
nlohmann::ordered_json completion_chunk_json(const ResponseHeader& h, const ChunkDelta& delta, bool with_usage);
// The last chunk before [DONE] when stream_options.include_usage: no choices, the usage.
nlohmann::ordered_json usage_chunk_json(const ResponseHeader& h, bool chat, const Usage& usage);

}  // namespace fragua::serve
