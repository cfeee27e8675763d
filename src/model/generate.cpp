// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/generate.h"

#include <algorithm>
#include <array>
#include <chrono>

namespace fragua::model {

size_t find_stop(std::string_view pending, const std::vector<std::string>& stop, size_t* safe_len, size_t* stop_len) {
  size_t first = std::string_view::npos;
  *stop_len = 0;
  for (const auto& s : stop) {
    if (s.empty()) continue;
    size_t at = pending.find(s);
    if (at < first) {
      first = at;
      *stop_len = s.size();
    }
  }
  if (first != std::string_view::npos) {
    *safe_len = first;
    return first;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stop)
    for (size_t k = std::min(s.size() - 1, pending.size()); k > hold; --k)
      if (pending.substr(pending.size() - k) == std::string_view(s).substr(0, k)) {
        hold = k;
        break;
      }
  *safe_len = pending.size() - hold;
  return std::string_view::npos;
}

Result<GenerateResult> generate(Context& ctx, std::span<const int32_t> prompt, const GenerateParams& params,
                                const PieceFn& piece, const TextFn& on_text) {
  FRAGUA_TRY(params.sampler.validate());
  if (prompt.empty()) return invalid_argument_error("the prompt has no tokens");
  using clock = std::chrono::steady_clock;
  GenerateResult r;
  r.n_prompt = static_cast<int64_t>(prompt.size());
  Sampler sampler(params.sampler);
  std::vector<int32_t> history(prompt.begin(), prompt.end());

  auto t0 = clock::now();
  auto logits = FRAGUA_TRY(ctx.decode(prompt));
  r.prompt_seconds = std::chrono::duration<double>(clock::now() - t0).count();

  std::string pending;
  auto emit = [&](std::string_view s) {
    r.text += s;
    return !on_text || on_text(s);
  };
  auto t1 = clock::now();
  r.stop_reason = "length";
  for (int32_t i = 0; i < params.max_tokens; ++i) {
    int32_t tok = sampler.sample(logits, history);
    if (std::find(params.eog_ids.begin(), params.eog_ids.end(), tok) != params.eog_ids.end()) {
      r.stop_reason = "eog";
      break;
    }
    r.tokens.push_back(tok);
    history.push_back(tok);
    pending += piece ? piece(tok) : std::string();
    size_t safe = 0, stop_len = 0;
    size_t at = find_stop(pending, params.stop, &safe, &stop_len);
    if (!emit(std::string_view(pending).substr(0, safe))) {
      r.stop_reason = "callback";
      pending.clear();
      break;
    }
    pending.erase(0, safe);
    if (at != std::string_view::npos) {
      r.stop_reason = "stop";
      pending.clear();
      break;
    }
    if (i + 1 == params.max_tokens) break;
    if (ctx.n_past() >= ctx.n_ctx()) {
      r.stop_reason = "context";
      break;
    }
    std::array<int32_t, 1> one{tok};
    logits = FRAGUA_TRY(ctx.decode(one));
  }
  if (!pending.empty()) emit(pending);
  r.gen_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return r;
}

}  // namespace fragua::model
