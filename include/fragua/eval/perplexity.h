// SPDX-License-Identifier: Apache-2.0
// Perplexity of a model on a text, as llama.cpp's llama-perplexity defines it, plus a sliding
// window and bits per byte (bits_per_byte.h's accounting).
//
// Chunks (stride 0, llama-perplexity's default): the whole text is tokenized at once with BOS as
// the tokenizer asks (tokenize(text, add_special = true)), cut into n_tokens / n_ctx
// non-overlapping chunks of n_ctx tokens (the tail shorter than a chunk is dropped), the first
// token of each chunk is replaced by BOS when the tokenizer adds one, each chunk runs alone from an
// empty cache, and only the second half of each chunk is scored: the logits at positions
// first = n_ctx / 2 .. n_ctx - 2 predict tokens first + 1 .. n_ctx - 1, so every scored token has
// at least n_ctx / 2 tokens of context. PPL = exp(mean NLL); its ± is llama-perplexity's
// sqrt((mean(NLL²) - mean(NLL)²) / (count - 1)) × PPL.
//
// Sliding window (stride S, 0 < S < n_ctx): windows of n_ctx tokens start at 0, S, 2S, ... (the
// last one may be shorter, ending at the text's end); the first scores every token it predicts,
// each later one only the tokens the previous windows did not score (its last S targets), so that
// every token but the first is scored exactly once, with n_ctx - S to n_ctx - 1 tokens before it.
// A window's first token is replaced by BOS as in the chunk mode. (llama-perplexity's --ppl-stride
// replaces it only after decoding: not the same measure; see docs/eval.md.)
//
// Several windows run in one forward pass through a model::BatchContext, one slot each; a slot's
// logits do not depend on the others (batch.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/eval/bits_per_byte.h"

namespace fragua::model {
class Model;
}
namespace fragua::tokenize {
class Tokenizer;
}

namespace fragua::eval {

struct PerplexityOptions {
  int64_t n_ctx = 512;     // tokens per window
  int64_t stride = 0;      // 0: llama-perplexity's chunks; else the sliding window's step
  int32_t n_parallel = 4;  // windows per forward pass (BatchContext slots)
  int n_threads = 0;       // 0: all cores ($FRAGUA_THREADS)
  std::string progress;    // label of a progress bar over the windows; "": none
};

// One window over the token list: tokens [start, start + size) at positions 0..size-1; the
// logits at positions score_from .. size - 2 predict tokens start + score_from + 1 ..
// start + size - 1.
struct PerplexityWindow {
  int64_t start = 0, size = 0, score_from = 0;
};

// The windows for a text of n_tokens tokens (BOS included). Errors: n_ctx < 2, a stride outside
// [0, n_ctx), fewer tokens than one chunk (stride 0) or than two (stride > 0).
Result<std::vector<PerplexityWindow>> perplexity_windows(int64_t n_tokens, int64_t n_ctx, int64_t stride);

struct PerplexityResult {
  // nats and scored: the scored tokens; tokens and bytes: the whole text (tokens without BOS),
  // so that loss.bits_per_byte() is the text's bits per byte.
  LanguageLoss loss;
  double nats2 = 0;  // sum of the squared per-token NLL (for the ± estimate)
  int64_t n_windows = 0;
  std::vector<double> running_ppl;  // exp(mean NLL) after each window, llama-perplexity's [i]ppl

  double ppl() const;        // exp(nats / scored)
  double ppl_error() const;  // llama-perplexity's ±; 0 when it cannot be estimated
  void add(const PerplexityResult& other);  // sums: a language over several files
};

// Errors: text the tokenizer refuses, too few tokens (names the count and what is needed), a
// failed decode.
Result<PerplexityResult> perplexity(const model::Model& model, const tokenize::Tokenizer& tokenizer,
                                    std::string_view text, const PerplexityOptions& options);

}  // namespace fragua::eval
