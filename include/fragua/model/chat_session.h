// SPDX-License-Identifier: Apache-2.0
// A conversation with a model through its chat template: the messages so far, the template,
// sampling and stop handling, and the KV cache reused across turns. `fragua chat` drives one turn
// by turn; the server's chat endpoint sets the whole message list of each request
// (set_messages), and a request that extends the previous conversation reuses its cache.
//
// Each reply renders the whole conversation (tokenize::encode_chat: only the template's markers
// become control tokens, never text inside a message) and evaluates only what follows the
// longest prefix of those tokens already in the cache. When the conversation no longer fits the
// context, the oldest whole turns after the system message are dropped from the conversation
// (never the system message, never the message being answered) until the prompt and `reserve`
// tokens for the reply fit; ChatUsage::n_dropped_turns reports it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/model/generate.h"
#include "fragua/model/loaded_model.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::model {

struct ChatParams {
  std::string system;         // the system message ("": none)
  std::string chat_template;  // a template name or Jinja text ("": the tokenizer's own)
  // Sampling, max_tokens and stop strings. The tokenizer's end-of-generation ids are added to
  // eog_ids by create().
  GenerateParams gen;
  // Tokens kept free for the reply when fitting the conversation into the context;
  // -1: min(gen.max_tokens, n_ctx / 4).
  int64_t reserve = -1;
};

// What one reply cost, as the server reports usage.
struct ChatUsage {
  int64_t n_prompt = 0;     // tokens of the rendered conversation
  int64_t n_reused = 0;     // of those, already in the KV cache
  int64_t n_evaluated = 0;  // of those, run through the model (n_prompt - n_reused)
  int64_t n_generated = 0;
  int64_t n_dropped_turns = 0;  // oldest turns dropped so that the conversation fits
};

struct ChatTurn {
  GenerateResult generation;  // the reply's text, tokens, stop reason and timings
  ChatUsage usage;
};

class ChatSession {
 public:
  // `ctx` and `tok` must outlive the session, and nothing else may decode into `ctx` between
  // its calls (the session remembers which tokens the cache holds). The template is resolved
  // and checked here (tokenize::detect_chat_template).
  static Result<ChatSession> create(Context& ctx, const tokenize::Tokenizer& tok, ChatParams params);
  // The model's context and tokenizer; errors name the model file.
  static Result<ChatSession> create(LoadedModel& model, ChatParams params);
  // Movable, not copyable: two sessions would each believe they own the context's cache.
  ChatSession(ChatSession&&) noexcept = default;
  ChatSession& operator=(ChatSession&&) noexcept = default;
  ChatSession(const ChatSession&) = delete;
  ChatSession& operator=(const ChatSession&) = delete;

  // Appends `user_text` as a user message and answers it (respond()). On error the conversation
  // is as it was before the call.
  Result<ChatTurn> reply(std::string_view user_text, const TextFn& on_text = nullptr);
  // Answers the conversation as it stands (its last message is normally the user's) and appends
  // the reply as an assistant message. on_text receives the reply as it becomes final; returning
  // false stops it (stop reason "callback"). On error the conversation is unchanged.
  Result<ChatTurn> respond(const TextFn& on_text = nullptr);

  // Replaces the conversation (a system message, if any, first). The cache is kept: the next
  // reply reuses the tokens this list shares with what was evaluated before.
  void set_messages(std::vector<tokenize::ChatMessage> messages);
  // Forgets the turns and keeps the system message (and the cache, for its prefix).
  void reset();

  std::span<const tokenize::ChatMessage> messages() const { return messages_; }
  const ChatUsage& last_usage() const { return last_usage_; }
  GenerateParams& generate_params() { return params_.gen; }
  const std::string& chat_template() const { return params_.chat_template; }
  // The tokens whose keys and values the cache holds, as far as the session knows.
  std::span<const int32_t> cached_tokens() const { return cached_; }

 private:
  ChatSession(Context& ctx, const tokenize::Tokenizer& tok, ChatParams params);
  // Renders messages, dropping the oldest turns while the prompt and the reserve exceed the
  // context; returns the prompt's tokens and counts the dropped turns.
  Result<std::vector<int32_t>> fit_prompt(std::vector<tokenize::ChatMessage>& messages, int64_t* n_dropped) const;

  Context* ctx_;
  const tokenize::Tokenizer* tok_;
  ChatParams params_;
  std::vector<tokenize::ChatMessage> messages_;
  std::vector<int32_t> cached_;
  ChatUsage last_usage_;
};

}  // namespace fragua::model
