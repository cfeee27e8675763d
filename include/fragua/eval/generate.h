// SPDX-License-Identifier: Apache-2.0
// The two request types of lm-evaluation-harness besides loglikelihood, as its Hugging Face
// model runs them (models/huggingface.py, utils.py):
//
//  - generate_until: greedy decoding of the context (encoded without special tokens unless
//    add_bos, left-truncated to n_ctx - max_gen_toks), stopped by the end-of-generation token, by
//    max_gen_toks tokens or once an `until` string appears; the decoded continuation is then cut
//    at the first occurrence of each `until` string in turn (s.split(term)[0]).
//  - loglikelihood_rolling: the text encoded without special tokens, cut by
//    get_rolling_token_windows(tokens, prefix_token, max_seq_len = n_ctx, context_len = 1) and
//    make_disjoint_window: the first window reads the prefix token (BOS, else EOS) and the first
//    n_ctx - 1 tokens and predicts the first n_ctx; each later one predicts the next up to n_ctx
//    tokens, reading the n_ctx tokens before its last one. Every token is predicted exactly
//    once; the result is the summed log-probability.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::model {
class Context;
class BatchContext;
}
namespace fragua::tokenize {
class Tokenizer;
}

namespace fragua::eval {

struct GenerationOptions {
  std::vector<std::string> until;  // stop strings (empty ones are ignored)
  int max_gen_toks = 256;          // the harness's default
  bool add_bos = false;
};

// Greedy continuation of `context`. The model context is left cleared.
Result<std::string> generate_until(model::Context& ctx, const tokenize::Tokenizer& tok, std::string_view context,
                                   const GenerationOptions& options);

// generate_until for each context, batch.n_seq() sequences decoded together (one slot each: the
// prompts in one forward pass, then one pass per generated token over the sequences still
// running). The window is batch.n_ctx_per_seq(). Each continuation is the one generate_until
// gives on a Context of that window, unless a float reassociation from the different split into
// forward passes turns a near-tie of the argmax. Every slot is left cleared.
Result<std::vector<std::string>> generate_until_batched(model::BatchContext& batch, const tokenize::Tokenizer& tok,
                                                        std::span<const std::string> contexts,
                                                        const GenerationOptions& options);

// One rolling window, in indices of the sequence [prefix] + tokens (so token t is at t + 1): the
// model reads [input_begin, input_end) and the window scores the tokens at
// [score_begin, input_end + 1), each predicted by the logits of the position before it.
struct RollingWindow {
  size_t input_begin = 0, input_end = 0, score_begin = 0;
};
std::vector<RollingWindow> rolling_windows(size_t n_tokens, size_t max_seq_len);

struct RollingScore {
  double loglikelihood = 0;  // summed log-probability of every token
  size_t n_tokens = 0, n_windows = 0;
};
// Errors: an n_ctx below 2, a failed decode. An empty text scores 0 over 0 tokens (the harness
// yields no window). The model context is left cleared.
Result<RollingScore> loglikelihood_rolling(model::Context& ctx, const tokenize::Tokenizer& tok, std::string_view text);

}  // namespace fragua::eval
