// SPDX-License-Identifier: Apache-2.0
#include "fragua/serve/response.h"

#include "fragua/base/utf8.h"

namespace fragua::serve {
namespace {

using nlohmann::ordered_json;

ordered_json bytes_json(const std::string& piece) {
  ordered_json b = ordered_json::array();
  for (unsigned char c : piece) b.push_back(static_cast<int>(c));
  return b;
}

// OpenAI's "token" is text; a piece that is part of a character shows its U+FFFD and the exact
// bytes travel in "bytes".
ordered_json chat_piece_json(const PieceLogprob& p) {
  ordered_json o;
  o["token"] = utf8::sanitize(p.piece);
  o["logprob"] = p.logprob;
  o["bytes"] = bytes_json(p.piece);
  return o;
}

ordered_json finish_json(const std::string& reason) { return reason.empty() ? ordered_json() : ordered_json(reason); }

ordered_json header_json(const ResponseHeader& h, const char* object) {
  ordered_json o;
  o["id"] = h.id;
  o["object"] = object;
  o["created"] = h.created;
  o["model"] = h.model;
  return o;
}

}  // namespace

ordered_json usage_json(const Usage& u) {
  ordered_json o;
  o["prompt_tokens"] = u.prompt_tokens;
  o["completion_tokens"] = u.completion_tokens;
  o["total_tokens"] = u.prompt_tokens + u.completion_tokens;
  o["prompt_tokens_details"]["cached_tokens"] = u.cached_tokens;
  return o;
}

ordered_json chat_logprobs_json(const std::vector<PositionLogprobs>& positions) {
  ordered_json content = ordered_json::array();
  for (const auto& pos : positions) {
    ordered_json e = chat_piece_json(pos.sampled);
    e["top_logprobs"] = ordered_json::array();
    for (const auto& t : pos.top) e["top_logprobs"].push_back(chat_piece_json(t));
    content.push_back(std::move(e));
  }
  ordered_json o;
  o["content"] = std::move(content);
  o["refusal"] = nullptr;
  return o;
}

ordered_json completion_logprobs_json(const std::vector<PositionLogprobs>& positions, int64_t text_offset) {
  ordered_json o;
  o["tokens"] = ordered_json::array();
  o["token_logprobs"] = ordered_json::array();
  o["top_logprobs"] = ordered_json::array();
  o["text_offset"] = ordered_json::array();
  int64_t offset = text_offset;
  for (const auto& pos : positions) {
    o["tokens"].push_back(utf8::sanitize(pos.sampled.piece));
    o["token_logprobs"].push_back(pos.sampled.logprob);
    ordered_json top = ordered_json::object();
    for (const auto& t : pos.top) top[utf8::sanitize(t.piece)] = t.logprob;
    o["top_logprobs"].push_back(std::move(top));
    o["text_offset"].push_back(offset);
    offset += static_cast<int64_t>(pos.sampled.piece.size());
  }
  return o;
}

ordered_json chat_completion_json(const ResponseHeader& h, const std::vector<Choice>& choices, const Usage& usage) {
  ordered_json o = header_json(h, "chat.completion");
  o["choices"] = ordered_json::array();
  for (const auto& c : choices) {
    ordered_json ch;
    ch["index"] = c.index;
    ch["message"]["role"] = "assistant";
    ch["message"]["content"] = c.tool_call ? ordered_json() : ordered_json(c.text);
    ch["message"]["refusal"] = nullptr;
    if (c.tool_call) {
      ordered_json call;
      call["id"] = c.tool_call->id;
      call["type"] = "function";
      call["function"]["name"] = c.tool_call->name;
      call["function"]["arguments"] = c.tool_call->arguments;
      ch["message"]["tool_calls"] = ordered_json::array({std::move(call)});
    }
    ch["logprobs"] = c.logprobs ? chat_logprobs_json(*c.logprobs) : ordered_json();
    ch["finish_reason"] = finish_json(c.finish_reason);
    o["choices"].push_back(std::move(ch));
  }
  o["usage"] = usage_json(usage);
  return o;
}

ordered_json completion_json(const ResponseHeader& h, const std::vector<Choice>& choices, const Usage& usage) {
  ordered_json o = header_json(h, "text_completion");
  o["choices"] = ordered_json::array();
  for (const auto& c : choices) {
    ordered_json ch;
    ch["text"] = c.text;
    ch["index"] = c.index;
    ch["logprobs"] = c.logprobs ? completion_logprobs_json(*c.logprobs, 0) : ordered_json();
    ch["finish_reason"] = finish_json(c.finish_reason);
    o["choices"].push_back(std::move(ch));
  }
  o["usage"] = usage_json(usage);
  return o;
}

ordered_json chat_chunk_json(const ResponseHeader& h, const ChunkDelta& d, bool with_usage) {
  ordered_json o = header_json(h, "chat.completion.chunk");
  ordered_json ch;
  ch["index"] = d.index;
  ch["delta"] = ordered_json::object();
  if (d.role) ch["delta"]["role"] = "assistant";
  if (d.content) ch["delta"]["content"] = *d.content;
  if (d.tool_call) {
    ordered_json call;
    call["index"] = 0;
    if (d.tool_call->head) {
      if (!d.content) ch["delta"]["content"] = nullptr;
      call["id"] = d.tool_call->id;
      call["type"] = "function";
      call["function"]["name"] = d.tool_call->name;
    }
    call["function"]["arguments"] = d.tool_call->arguments;
    ch["delta"]["tool_calls"] = ordered_json::array({std::move(call)});
  }
  ch["logprobs"] = d.logprobs ? chat_logprobs_json(*d.logprobs) : ordered_json();
  ch["finish_reason"] = finish_json(d.finish_reason);
  o["choices"] = ordered_json::array({std::move(ch)});
  if (with_usage) o["usage"] = nullptr;
  return o;
}

ordered_json completion_chunk_json(const ResponseHeader& h, const ChunkDelta& d, bool with_usage) {
  ordered_json o = header_json(h, "text_completion");
  ordered_json ch;
  ch["text"] = d.content.value_or("");
  ch["index"] = d.index;
  ch["logprobs"] = d.logprobs ? completion_logprobs_json(*d.logprobs, d.text_offset) : ordered_json();
  ch["finish_reason"] = finish_json(d.finish_reason);
  o["choices"] = ordered_json::array({std::move(ch)});
  if (with_usage) o["usage"] = nullptr;
  return o;
}

ordered_json usage_chunk_json(const ResponseHeader& h, bool chat, const Usage& usage) {
  ordered_json o = header_json(h, chat ? "chat.completion.chunk" : "text_completion");
  o["choices"] = ordered_json::array();
  o["usage"] = usage_json(usage);
  return o;
}

}  // namespace fragua::serve
