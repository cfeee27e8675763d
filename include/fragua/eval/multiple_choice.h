// SPDX-License-Identifier: Apache-2.0
// Log-likelihood multiple choice, scored as lm-evaluation-harness scores it (api/task.py,
// models/huggingface.py):
//
//  - each choice is a request (context, target_delimiter + choice); _encode_pair moves the
//    context's trailing whitespace to the front of the continuation, encodes context and
//    context + continuation without special tokens, and takes as the continuation's tokens the
//    whole encoding minus as many leading tokens as the context encodes to. The model reads the
//    context's tokens then the continuation's; an empty context is the BOS (prefix) token alone.
//  - a choice's log-likelihood is the sum over its continuation tokens of log p(token | before);
//  - acc = [argmax_i ll_i == gold]; acc_norm = [argmax_i ll_i / len(choice_i) == gold], where
//    len is Python's len() of the choice string: Unicode code points, not bytes (numpy's argmax:
//    the first maximum wins);
//  - each metric's standard error is the harness's mean_stderr: sample standard deviation (n - 1)
//    over sqrt(n).
//
// The context is decoded once per question; each choice then runs from the context's cache,
// truncated back to the context after it (prefix reuse). score_continuations_batched does the
// same for several questions at once, one slot of a model::BatchContext per question.
#pragma once

#include <cstdint>
#include <optional>
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

struct EncodedPair {
  std::vector<int32_t> context, continuation;
};

// _encode_pair. `add_bos`: prepend BOS to the context (the harness's add_bos_token=True).
Result<EncodedPair> encode_pair(const tokenize::Tokenizer& tok, std::string_view context,
                                std::string_view continuation, bool add_bos = false);

struct ChoiceScore {
  double loglikelihood = 0;  // summed log-probability of the continuation's tokens
  size_t n_tokens = 0;       // continuation tokens
  bool greedy = false;       // every continuation token is the argmax of its logits
  // Each continuation token's log-probability, in order (loglikelihood is their sum), and, from
  // a local model, the token ids (a remote model's answer carries token strings: left empty).
  // They let a caller apply another normalisation, e.g. llama-perplexity's mean per token after
  // the prefix that all choices share (bench/eval_mc.py).
  std::vector<double> token_logprobs;
  std::vector<int32_t> tokens;
};

// Scores each continuation after `context` with one shared decode of the context. Contexts that
// do not fit the window lose tokens from their start (the harness's left truncation). Errors: a
// continuation longer than the window, a failed decode. The context is left cleared.
Result<std::vector<ChoiceScore>> score_continuations(model::Context& ctx, const tokenize::Tokenizer& tok,
                                                     std::string_view context,
                                                     const std::vector<std::string>& continuations,
                                                     bool add_bos = false);

// One question: the continuations scored after its context.
struct ChoiceRequest {
  std::string context;
  std::vector<std::string> continuations;
};

// score_continuations for each request, batch.n_seq() questions at a time: one forward pass
// decodes the contexts of a group of questions, each in its own slot and followed by its first
// continuation, then pass k >= 1 decodes every question's k-th continuation from its slot
// truncated back to the context (the context's cache reused across the choices, as
// score_continuations). The window is batch.n_ctx_per_seq(). A
// question's scores equal score_continuations' on a Context of that window up to the float
// reassociation of a different split into forward passes (tests: within 1e-5 relative). Errors
// as score_continuations'; every slot is left cleared.
Result<std::vector<std::vector<ChoiceScore>>> score_continuations_batched(model::BatchContext& batch,
                                                                          const tokenize::Tokenizer& tok,
                                                                          std::span<const ChoiceRequest> requests,
                                                                          bool add_bos = false);

// Every position's log-probability of the next prompt token, from one pass with all logits (the
// `echo` of /v1/completions in fragua serve): [i] is log p(tokens[i] | tokens[0..i)) for i >= 1
// with the top_n most likely tokens there, most likely first; [0] has none (nullopt). With
// `greedy_next` the result has one entry more: the most likely token after the whole prompt
// (lm-evaluation-harness's local-completions asks for echo with one generated token). A token's
// log-probability and its entry among the top ones are the same double. The context must hold
// the tokens; it is left cleared.
struct PromptTokenLogprob {
  int32_t token = -1;  // tokens[i], or the greedy next token
  std::optional<double> logprob;
  std::vector<std::pair<int32_t, double>> top;
};
Result<std::vector<PromptTokenLogprob>> prompt_logprobs(model::Context& ctx, std::span<const int32_t> tokens,
                                                        int top_n, bool greedy_next = false);

// The per-question metrics.
struct McOutcome {
  size_t pred = 0, pred_norm = 0, gold = 0;
  double acc = 0, acc_norm = 0;
};
McOutcome score_question(const std::vector<double>& loglikelihoods, const std::vector<std::string>& choices,
                         size_t gold);

// Number of Unicode code points of UTF-8 text (Python's len(); invalid bytes count one each).
size_t code_points(std::string_view text);

struct MeanStderr {
  double mean = 0, stderr_ = 0;
};
// The mean and the harness's mean_stderr (0 with fewer than 2 values).
MeanStderr mean_stderr(const std::vector<double>& values);

}  // namespace fragua::eval
