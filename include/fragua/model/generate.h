// SPDX-License-Identifier: Apache-2.0
// Text generation: prompt processing, then sample-decode until a stop condition. Stop strings
// are matched on the decoded text; text that could be the start of a stop string is held back
// until it is known not to be one, so a caller never prints part of a stop string.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/model/model.h"
#include "fragua/model/sampler.h"

namespace fragua::model {

struct GenerateParams {
  int32_t max_tokens = 128;
  SamplerParams sampler;
  std::vector<std::string> stop;  // stop strings
  std::vector<int32_t> eog_ids;   // end-of-generation tokens (EOS, <|im_end|>, ...)
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (without the prompt)
  std::string text;             // emitted text (stop string excluded)
  std::string stop_reason;      // "eog", "stop", "length", "callback", "context"
  int64_t n_prompt = 0;
  double prompt_seconds = 0, gen_seconds = 0;
};

// piece(id): the bytes a token adds to the text (may be empty, or part of a UTF-8 sequence).
// on_text(chunk): called with text as it becomes final; return false to stop.
using PieceFn = std::function<std::string(int32_t)>;
using TextFn = std::function<bool(std::string_view)>;

Result<GenerateResult> generate(Context& ctx, std::span<const int32_t> prompt, const GenerateParams& params,
                                const PieceFn& piece, const TextFn& on_text = nullptr);

// Splits `pending` into text that is final and a held-back tail that may begin a stop string.
// Returns the index of the first stop match in `pending` (npos if none) and sets *safe_len.
size_t find_stop(std::string_view pending, const std::vector<std::string>& stop, size_t* safe_len, size_t* stop_len);

}  // namespace fragua::model
