// SPDX-License-Identifier: Apache-2.0
// A model behind an OpenAI-compatible /v1/completions endpoint (fragua serve, vLLM, OpenAI's
// legacy models) scored as lm-evaluation-harness's `local-completions` model scores it
// (models/openai_completions.py, api_models.py):
//
//  - loglikelihood: one request per (context, continuation) with the prompt context +
//    continuation, echo: true, logprobs: 1, max_tokens: 0, temperature 0. The answer's
//    logprobs.token_logprobs are summed over the continuation's tokens: those from the token that
//    holds the first byte after the context onwards (the context's trailing whitespace moved to
//    the continuation first, as _encode_pair does), up to the end of the prompt (a token the server
//    generated anyway is left out). A choice is greedy when each of those tokens is the most
//    likely one of its top_logprobs. Token positions come from logprobs.text_offset, read as
//    byte or code-point offsets, whichever matches the echoed text (fragua serve counts bytes,
//    Python servers count characters).
//  - generate_until: an ordinary completion of the context with stop = until, max_tokens =
//    max_gen_toks, temperature 0, then cut at each until string as the harness does.
//
// The server tokenizes, so the split between context and continuation tokens can differ from a
// local run by the token that straddles the boundary; with fragua serve on the same model and a
// delimiter that starts a token (the usual " "), scores equal the local ones (tests/eval).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/eval/generate.h"
#include "fragua/eval/multiple_choice.h"
#include "fragua/eval/openai_client.h"

namespace fragua::eval {

class RemoteModel {
 public:
  explicit RemoteModel(OpenAIClientOptions options) : client_(std::move(options)) {}

  // As score_continuations (multiple_choice.h), one request per continuation. Errors name the URL:
  // a server that does not return echoed logprobs, a continuation with a token the server gave no
  // log-probability (the prompt's first token).
  Result<std::vector<ChoiceScore>> score_continuations(std::string_view context,
                                                       const std::vector<std::string>& continuations) const;
  Result<std::string> generate_until(std::string_view context, const GenerationOptions& options) const;

  const OpenAIClient& client() const { return client_; }

 private:
  OpenAIClient client_;
};

// The scoring of one echoed answer (exposed for tests): the continuation's summed log-probability
// where the prompt is `prompt` and the continuation starts at byte `boundary`.
Result<ChoiceScore> score_echoed_answer(const CompletionChoice& choice, std::string_view prompt, size_t boundary,
                                        std::string_view origin);

}  // namespace fragua::eval
