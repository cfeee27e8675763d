// SPDX-License-Identifier: Apache-2.0
#include "serve/constrained_output.h"

#include <limits>
#include <random>

#include <fmt/format.h>

#include "fragua/base/utf8.h"
#include "fragua/model/loaded_model.h"
#include "serve/server_impl.h"

namespace fragua::serve {

ChoiceConstraint::ChoiceConstraint(std::shared_ptr<const CompiledSchema> schema, std::shared_ptr<const TokenTrie> trie)
    : rec_(std::move(schema)), masker_(std::move(trie)) {}

void ChoiceConstraint::filter(std::span<float> logits) { masker_.apply(rec_, logits); }

bool ChoiceConstraint::accept(std::string_view piece) {
  rec_.feed(piece);
  return rec_.is_complete() && !rec_.can_continue();
}

LogitsFilter constraint_filter(std::shared_ptr<ChoiceConstraint> c) {
  return [c = std::move(c)](std::span<float> logits) { c->filter(logits); };
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

ToolCallText::Part ToolCallText::push(std::string_view text) {
  text_.append(text);
  return take(false);
}

ToolCallText::Part ToolCallText::finish() { return take(true); }

ToolCallText::Part ToolCallText::take(bool final) {
  Part part;
  // The wrapper before the arguments holds no escapes (function names are [A-Za-z0-9_-]), so its
  // strings are found by their quotes: "name", the name, "arguments".
  if (args_begin_ == std::string::npos) {
    size_t q[6];
    size_t n = 0;
    for (size_t i = 0; i < text_.size() && n < 6; ++i)
      if (text_[i] == '"') q[n++] = i;
    if (n >= 4 && !named_) {
      named_ = true;
      name_ = text_.substr(q[2] + 1, q[3] - q[2] - 1);
      part.name = name_;
    }
    if (n == 6) {
      size_t i = text_.find(':', q[5]);
      if (i != std::string::npos) {
        ++i;
        while (i < text_.size() && is_space(text_[i])) ++i;
        if (i < text_.size()) args_begin_ = i;
      }
    }
  }
  if (args_begin_ == std::string::npos) return part;
  // After the arguments come only whitespace and the wrapper's '}': hold back a tail of those
  // until something else follows (then it was the arguments'), and at the end drop the last '}'.
  size_t end = text_.size();
  if (final) {
    const size_t close = text_.rfind('}');
    if (close != std::string::npos && close >= args_begin_) end = close;
    while (end > args_begin_ && is_space(text_[end - 1])) --end;
  } else {
    while (end > args_begin_ && (is_space(text_[end - 1]) || text_[end - 1] == '}')) --end;
    end -= utf8::incomplete_suffix(std::string_view(text_).substr(args_begin_, end - args_begin_));
  }
  const size_t from = args_begin_ + sent_.size();
  if (end > from) {
    part.arguments = text_.substr(from, end - from);
    sent_ += part.arguments;
  }
  return part;
}

std::shared_ptr<const TokenTrie> Server::Impl::constraint_tokens() {
  std::call_once(constraint_tokens_once, [this] {
    constraint_tokens_trie = TokenTrie::build(*model->tokenizer, scheduler->params().eog_ids);
  });
  return constraint_tokens_trie;
}

std::string new_tool_call_id() {
  std::random_device rd;
  return fmt::format("call_{:08x}{:08x}{:08x}", rd(), rd(), rd());
}

}  // namespace fragua::serve
