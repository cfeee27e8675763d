// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/remote_model.h"

#include <algorithm>

#include <fmt/format.h>

namespace fragua::eval {

namespace {

// Byte offsets of the answer's tokens in `text`: text_offset read as bytes or as code points,
// whichever puts more tokens at a place where `text` spells them.
Result<std::vector<size_t>> remote_token_byte_offsets(const CompletionLogprobs& lp, std::string_view text,
                                                      std::string_view origin) {
  const size_t n = lp.tokens.size();
  std::vector<size_t> bytes(n);
  if (lp.text_offset.empty()) {
    std::string spelled;
    for (size_t i = 0; i < n; ++i) {
      bytes[i] = spelled.size();
      spelled += lp.tokens[i];
    }
    if (!text.starts_with(spelled) && !std::string_view(spelled).starts_with(text))
      return corruption_error("{}: the answer has no logprobs.text_offset and its tokens do not spell its text", origin);
    return bytes;
  }
  std::vector<size_t> cp_start;  // byte offset of each code point, and one past the end
  for (size_t b = 0; b < text.size(); ++b)
    if ((static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) cp_start.push_back(b);
  cp_start.push_back(text.size());
  auto spelled_at = [&](size_t byte, const std::string& tok) {
    return byte <= text.size() && text.substr(byte, tok.size()) == tok;
  };
  size_t as_bytes = 0, as_chars = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto o = static_cast<size_t>(lp.text_offset[i]);
    as_bytes += spelled_at(o, lp.tokens[i]);
    as_chars += o < cp_start.size() && spelled_at(cp_start[o], lp.tokens[i]);
  }
  const bool chars = as_chars > as_bytes;
  for (size_t i = 0; i < n; ++i) {
    auto o = static_cast<size_t>(lp.text_offset[i]);
    if (chars) o = o < cp_start.size() ? cp_start[o] : text.size();
    bytes[i] = std::min(o, text.size());
  }
  return bytes;
}

}  // namespace

Result<ChoiceScore> score_echoed_answer(const CompletionChoice& choice, std::string_view prompt, size_t boundary,
                                        std::string_view origin) {
  if (!choice.logprobs || choice.logprobs->tokens.empty())
    return unsupported_error(
        "{}: the answer carries no log-probabilities of the prompt: the server must support 'echo': true with "
        "'logprobs' on /completions (fragua serve, vLLM do; llama-server and OpenAI's chat models do not)",
        origin);
  if (!std::string_view(choice.text).starts_with(prompt))
    return unsupported_error("{}: the answer's text does not begin with the prompt: the server ignored 'echo': true",
                             origin);
  const CompletionLogprobs& lp = *choice.logprobs;
  const auto offsets = FRAGUA_TRY(remote_token_byte_offsets(lp, choice.text, origin));
  ChoiceScore s;
  s.greedy = true;
  for (size_t i = 0; i < lp.tokens.size(); ++i) {
    const size_t begin = offsets[i];
    const size_t end = i + 1 < offsets.size() ? offsets[i + 1] : choice.text.size();
    if (begin >= prompt.size()) break;  // generated, not echoed
    // The context's; a token of no text at or after the boundary (a byte token of a character
    // that starts the continuation, a dummy-prefix space) goes with the continuation.
    if (end <= boundary && begin < boundary) continue;
    if (!lp.token_logprobs[i])
      return corruption_error("{}: token {} ('{}') of the continuation has no log-probability (null)", origin, i,
                              lp.tokens[i]);
    if (!(*lp.token_logprobs[i] <= 1e-3))  // a probability above 1: not a log-probability
      return corruption_error("{}: token {} ('{}') has the log-probability {}, above 0", origin, i, lp.tokens[i],
                              *lp.token_logprobs[i]);
    s.loglikelihood += *lp.token_logprobs[i];
    s.token_logprobs.push_back(*lp.token_logprobs[i]);
    ++s.n_tokens;
    if (i < lp.top_logprobs.size() && !lp.top_logprobs[i].empty()) {
      const auto& top = lp.top_logprobs[i];
      auto best = std::max_element(top.begin(), top.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
      if (best->first != lp.tokens[i]) s.greedy = false;
    } else {
      s.greedy = false;  // unknown
    }
  }
  if (s.n_tokens == 0 && boundary < prompt.size())
    return corruption_error("{}: no token of the answer lies in the continuation (bytes {}..{} of the prompt)", origin,
                            boundary, prompt.size());
  return s;
}

Result<std::vector<ChoiceScore>> RemoteModel::score_continuations(std::string_view context,
                                                                  const std::vector<std::string>& continuations) const {
  // _encode_pair: the context's trailing whitespace belongs to the continuation.
  size_t boundary = context.size();
  while (boundary > 0 && std::string_view(" \t\n\r\v\f").find(context[boundary - 1]) != std::string_view::npos)
    --boundary;
  std::vector<ChoiceScore> out;
  const std::string origin = client_.url("/completions");
  for (const auto& cont : continuations) {
    std::string prompt = std::string(context) + cont;
    auto r = FRAGUA_TRY(client_.completions({.prompt = prompt, .max_tokens = 0, .echo = true, .logprobs = 1}));
    out.push_back(FRAGUA_TRY(score_echoed_answer(r.choices[0], prompt, boundary, origin)));
  }
  return out;
}

Result<std::string> RemoteModel::generate_until(std::string_view context, const GenerationOptions& options) const {
  std::vector<std::string> stop;
  for (const auto& u : options.until)
    if (!u.empty()) stop.push_back(u);
  auto r = FRAGUA_TRY(client_.completions(
      {.prompt = std::string(context), .max_tokens = options.max_gen_toks, .stop = stop, .seed = 1234}));
  std::string text = r.choices[0].text;
  for (const auto& u : stop) {
    const size_t at = text.find(u);
    if (at != std::string::npos) text.resize(at);
  }
  return text;
}

}  // namespace fragua::eval
