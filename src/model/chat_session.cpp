// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/chat_session.h"

#include <algorithm>

namespace fragua::model {
namespace {

size_t common_prefix(std::span<const int32_t> a, std::span<const int32_t> b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

ChatSession::ChatSession(Context& ctx, const tokenize::Tokenizer& tok, ChatParams params)
    : ctx_(&ctx), tok_(&tok), params_(std::move(params)) {}

Result<ChatSession> ChatSession::create(Context& ctx, const tokenize::Tokenizer& tok, ChatParams params) {
  if (params.chat_template.empty()) params.chat_template = tok.spec().chat_template;
  if (params.chat_template.empty())
    return invalid_argument_error(
        "the tokenizer has no chat template: give one by name (chatml, llama3, granite, llama2) or as Jinja text");
  FRAGUA_TRY(tokenize::detect_chat_template(params.chat_template));
  FRAGUA_TRY(check_tokenizer_fits(tok, ctx.model()));
  FRAGUA_TRY(params.gen.sampler.validate());
  if (params.reserve < -1) return invalid_argument_error("chat: reserve {} is negative", params.reserve);
  for (int32_t id : end_of_generation_ids(tok))
    if (std::find(params.gen.eog_ids.begin(), params.gen.eog_ids.end(), id) == params.gen.eog_ids.end())
      params.gen.eog_ids.push_back(id);
  ChatSession s(ctx, tok, std::move(params));
  if (!s.params_.system.empty()) s.messages_.push_back({"system", s.params_.system});
  return s;
}

Result<ChatSession> ChatSession::create(LoadedModel& model, ChatParams params) {
  if (!model.tokenizer) return invalid_argument_error("{} has no tokenizer (tokenizer.ggml.model)", model.path);
  if (params.chat_template.empty() && model.tokenizer->spec().chat_template.empty())
    return invalid_argument_error(
        "{} has no chat template: give one by name (chatml, llama3, granite, llama2) or as Jinja text", model.path);
  return create(*model.context, *model.tokenizer, std::move(params));
}

Result<std::vector<int32_t>> ChatSession::fit_prompt(std::vector<tokenize::ChatMessage>& messages,
                                                     int64_t* n_dropped) const {
  const int64_t n_ctx = ctx_->n_ctx();
  const int64_t reserve = params_.reserve >= 0 ? params_.reserve : std::min<int64_t>(params_.gen.max_tokens, n_ctx / 4);
  *n_dropped = 0;
  for (;;) {
    auto prompt = FRAGUA_TRY(tokenize::encode_chat(*tok_, params_.chat_template, messages, true));
    const auto n_prompt = static_cast<int64_t>(prompt.size());
    if (n_prompt + reserve <= n_ctx) return prompt;
    // The oldest turn: the first message after the system message(s) up to the next user message,
    // which stays. The last message is the one being answered and is never dropped.
    size_t first = 0;
    while (first < messages.size() && messages[first].role == "system") ++first;
    size_t next = first + 1;
    while (next < messages.size() && messages[next].role != "user") ++next;
    if (next >= messages.size()) {
      const bool only_last = first + 1 == messages.size();
      const char* what = !only_last  ? "the messages that cannot be dropped"
                         : first > 0 ? "the system message and the last message"
                                     : "the last message";
      return resource_exhausted_error(
          "the conversation does not fit the context: {} tokens for {} and {} kept for the reply exceed the context "
          "size {}",
          n_prompt, what, reserve, n_ctx);
    }
    messages.erase(messages.begin() + static_cast<std::ptrdiff_t>(first),
                   messages.begin() + static_cast<std::ptrdiff_t>(next));
    ++*n_dropped;
  }
}

Result<ChatTurn> ChatSession::respond(const TextFn& on_text) {
  if (messages_.empty()) return invalid_argument_error("chat: no messages to reply to");
  std::vector<tokenize::ChatMessage> messages = messages_;
  ChatTurn turn;
  auto prompt = FRAGUA_TRY(fit_prompt(messages, &turn.usage.n_dropped_turns));
  if (prompt.empty()) return invalid_argument_error("chat: the rendered conversation has no tokens");

  // Whatever else shortened the cache, the session's record never claims more than it holds.
  cached_.resize(std::min<size_t>(cached_.size(), static_cast<size_t>(ctx_->n_past())));
  size_t keep = common_prefix(cached_, prompt);
  if (keep == prompt.size()) --keep;  // at least one token is evaluated: generation needs its logits
  ctx_->truncate(static_cast<int64_t>(keep));
  keep = static_cast<size_t>(ctx_->n_past());  // a recurrent model keeps all or nothing
  cached_.resize(keep);

  const tokenize::Tokenizer* tok = tok_;
  std::span<const int32_t> rest(prompt.data() + keep, prompt.size() - keep);
  auto r = generate(
      *ctx_, rest, params_.gen, [tok](int32_t id) { return tok->token_piece(id); }, on_text);
  if (!r.ok()) {
    ctx_->truncate(static_cast<int64_t>(keep));  // a failed decode may have appended part of `rest`
    return std::move(r).error();
  }
  turn.usage.n_prompt = static_cast<int64_t>(prompt.size());
  turn.usage.n_reused = static_cast<int64_t>(keep);
  turn.usage.n_evaluated = static_cast<int64_t>(prompt.size() - keep);
  turn.usage.n_generated = static_cast<int64_t>(r->tokens.size());
  // The cache holds the prompt and the generated tokens up to n_past: every sampled token but the
  // last is evaluated, and the last too when generation went on to sample end-of-generation.
  cached_ = std::move(prompt);
  cached_.insert(cached_.end(), r->tokens.begin(), r->tokens.end());
  cached_.resize(std::min<size_t>(cached_.size(), static_cast<size_t>(ctx_->n_past())));
  messages.push_back({"assistant", r->text});
  messages_ = std::move(messages);
  turn.generation = std::move(*r);
  last_usage_ = turn.usage;
  return turn;
}

Result<ChatTurn> ChatSession::reply(std::string_view user_text, const TextFn& on_text) {
  messages_.push_back({"user", std::string(user_text)});
  auto r = respond(on_text);
  if (!r.ok()) messages_.pop_back();
  return r;
}

void ChatSession::set_messages(std::vector<tokenize::ChatMessage> messages) { messages_ = std::move(messages); }

void ChatSession::reset() { messages_.resize(!messages_.empty() && messages_[0].role == "system" ? 1 : 0); }

}  // namespace fragua::model
