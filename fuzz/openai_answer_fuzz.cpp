// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: answers of OpenAI-compatible servers (eval/openai_client.h,
// eval/remote_model.h), untrusted text from the network. Input: a prompt, then 0x1E, then the
// answer's JSON. What must hold: no crash, hang or sanitizer report; a parsed answer has at least
// one choice and token arrays of one length; an echoed answer scores to a finite log-likelihood
// over at most as many tokens as it has, or fails with an error.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/base/json.h"
#include "fragua/eval/openai_client.h"
#include "fragua/eval/remote_model.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::eval;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t sep = in.find('\x1e');
  if (sep == std::string_view::npos) return 0;
  const std::string_view prompt = in.substr(0, sep);
  auto j = fragua::parse_json(in.substr(sep + 1), "fuzz");
  if (!j.ok()) return 0;
  (void)parse_chat_answer(*j, "fuzz");
  auto c = parse_completion_answer(*j, "fuzz");
  if (!c.ok()) return 0;
  check(!c->choices.empty());
  for (const auto& choice : c->choices) {
    if (!choice.logprobs) continue;
    const auto& lp = *choice.logprobs;
    check(lp.token_logprobs.size() == lp.tokens.size());
    check(lp.text_offset.empty() || lp.text_offset.size() == lp.tokens.size());
    for (size_t boundary : {size_t{0}, prompt.size() / 2, prompt.size()}) {
      auto s = score_echoed_answer(choice, prompt, boundary, "fuzz");
      if (s.ok()) check(s->n_tokens <= lp.tokens.size() && !std::isnan(s->loglikelihood));
    }
  }
  return 0;
}
