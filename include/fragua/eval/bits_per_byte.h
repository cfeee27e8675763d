// SPDX-License-Identifier: Apache-2.0
// Bits per byte per language: the one measure of held-out text that compares models with
// different tokenizers (a tokenizer with longer pieces has a higher loss per token but fewer
// tokens). The trainer's validation and the scoring of a GGUF model share this accounting.
//
//   mean loss = nats / scored                     (natural-log cross-entropy per scored token)
//   bpb       = mean loss / ln 2 * tokens / bytes (tokens and bytes of the whole held-out text)
//
// `bytes` are those of the original UTF-8 text, before any normalization; `tokens` are the
// tokens it encodes to without BOS/EOS. Scoring may cover only part of the text (the trainer
// scores a budget of windows): the mean loss of the scored tokens then stands for all of them.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"

namespace fragua::model {
class Context;
}
namespace fragua::tokenize {
class Tokenizer;
}

namespace fragua::eval {

struct LanguageLoss {
  double nats = 0;      // summed negative log-likelihood of the scored tokens
  uint64_t scored = 0;  // tokens whose loss is in `nats`
  uint64_t tokens = 0;  // tokens of the held-out text
  uint64_t bytes = 0;   // bytes of its original UTF-8

  void add(double window_nats, uint64_t window_tokens) { nats += window_nats, scored += window_tokens; }
  bool empty() const { return scored == 0 || bytes == 0; }
  double mean_loss() const;      // nats / scored
  double bits_per_byte() const;  // mean_loss() / ln 2 * tokens / bytes
};

// Language tag -> its loss. Languages with nothing scored are left out of the JSON.
using LanguageLosses = std::map<std::string, LanguageLoss>;

// {"val_loss": {lang: mean loss}, "val_bpb": {lang: bpb}}, the fields of a metrics "val" record.
nlohmann::json to_json(const LanguageLosses& losses);

// Held-out documents per language tag, each the original UTF-8 text.
using Documents = std::map<std::string, std::vector<std::string>>;

// Scores a model on held-out text: each document is encoded without BOS/EOS and cut into windows
// of ctx.n_ctx() + 1 tokens that overlap by one, so every token but the document's first is
// predicted exactly once, from at most n_ctx() tokens of the same document before it. The
// cross-entropy comes from the logits of Context::decode through a log-softmax in double. The
// context is cleared before each window and left cleared. Errors: a language without text, a
// document the tokenizer refuses (named by language and index), a failed decode.
Result<LanguageLosses> bits_per_byte(model::Context& ctx, const tokenize::Tokenizer& tokenizer,
                                     const Documents& documents);

}  // namespace fragua::eval
