// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/generate.h"

#include <algorithm>

#include "eval/log_prob.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

namespace {

int32_t argmax_token(std::span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

bool contains_stop(std::string_view text, const std::vector<std::string>& until) {
  for (const auto& u : until)
    if (!u.empty() && text.find(u) != std::string_view::npos) return true;
  return false;
}

}  // namespace

namespace {

Status check_generation_window(const GenerationOptions& o, int64_t window) {
  if (o.max_gen_toks < 1) return invalid_argument_error("generate_until: max_gen_toks must be at least 1");
  if (o.max_gen_toks >= window)
    return invalid_argument_error("generate_until: max_gen_toks {} leaves no room for the context in a {}-token window",
                                  o.max_gen_toks, window);
  return ok_status();
}

// The context's tokens, left-truncated to window - max_gen_toks as the harness does.
Result<std::vector<int32_t>> generation_prompt(const tokenize::Tokenizer& tok, std::string_view context,
                                               const GenerationOptions& o, int64_t window) {
  std::vector<int32_t> prompt = FRAGUA_TRY(tok.try_encode(context, false, false));
  if (o.add_bos && tok.bos_id() >= 0) prompt.insert(prompt.begin(), tok.bos_id());
  const auto keep = static_cast<size_t>(window - o.max_gen_toks);
  if (prompt.size() > keep) prompt.erase(prompt.begin(), prompt.end() - static_cast<ptrdiff_t>(keep));
  if (prompt.empty()) prompt.push_back(tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id());
  return prompt;
}

// The generated text cut at each `until` string in turn (s.split(term)[0]).
std::string cut_generation(const tokenize::Tokenizer& tok, const std::vector<int32_t>& out,
                           const std::vector<std::string>& until) {
  std::string text = tok.decode(out);
  for (const auto& u : until)
    if (!u.empty()) text = text.substr(0, std::min(text.find(u), text.size()));
  return text;
}

}  // namespace

Result<std::string> generate_until(model::Context& ctx, const tokenize::Tokenizer& tok, std::string_view context,
                                   const GenerationOptions& o) {
  const int64_t window = ctx.n_ctx();
  FRAGUA_TRY(check_generation_window(o, window));
  const std::vector<int32_t> prompt = FRAGUA_TRY(generation_prompt(tok, context, o, window));

  ctx.truncate(0);
  auto logits = ctx.decode(prompt);
  if (!logits.ok()) return std::move(logits).error().with_context("generate_until context");
  std::vector<int32_t> out;
  for (int i = 0; i < o.max_gen_toks; ++i) {
    const int32_t next = argmax_token(*logits);
    if (tok.is_eog(next)) break;
    out.push_back(next);
    if (contains_stop(tok.decode(out), o.until) || ctx.n_past() >= window) break;
    const int32_t feed[1] = {next};
    logits = ctx.decode(feed);
    if (!logits.ok()) return std::move(logits).error().with_context("generate_until");
  }
  ctx.truncate(0);
  return cut_generation(tok, out, o.until);
}

Result<std::vector<std::string>> generate_until_batched(model::BatchContext& batch, const tokenize::Tokenizer& tok,
                                                        std::span<const std::string> contexts,
                                                        const GenerationOptions& o) {
  const int64_t window = batch.n_ctx_per_seq();
  FRAGUA_TRY(check_generation_window(o, window));
  const auto n_seq = static_cast<size_t>(batch.n_seq());
  const auto vocab = static_cast<size_t>(batch.model().config().n_vocab);
  std::vector<std::string> result(contexts.size());
  std::vector<model::BatchItem> items;
  auto clear_slots = [&] {
    for (size_t s = 0; s < n_seq; ++s) (void)batch.truncate(static_cast<int32_t>(s), 0);
  };
  for (size_t g0 = 0; g0 < contexts.size(); g0 += n_seq) {
    const size_t n = std::min(contexts.size() - g0, n_seq);
    clear_slots();
    items.clear();
    for (size_t q = 0; q < n; ++q) {
      const std::vector<int32_t> prompt = FRAGUA_TRY(generation_prompt(tok, contexts[g0 + q], o, window));
      for (size_t i = 0; i < prompt.size(); ++i)
        items.push_back({prompt[i], static_cast<int32_t>(q), i + 1 == prompt.size()});
    }
    std::vector<std::vector<int32_t>> out(n);
    std::vector<size_t> running(n);  // the slots still generating, each with its logits row
    for (size_t q = 0; q < n; ++q) running[q] = q;
    auto logits = batch.decode(items);
    for (int step = 0; step < o.max_gen_toks && !running.empty(); ++step) {
      if (!logits.ok()) {
        clear_slots();
        return std::move(logits).error().with_context(step == 0 ? "generate_until contexts" : "generate_until");
      }
      items.clear();
      std::vector<size_t> still;
      for (size_t r = 0; r < running.size(); ++r) {
        const size_t q = running[r];
        const int32_t next = argmax_token(logits->subspan(r * vocab, vocab));
        if (tok.is_eog(next)) continue;
        out[q].push_back(next);
        if (contains_stop(tok.decode(out[q]), o.until) || batch.n_past(static_cast<int32_t>(q)) >= window) continue;
        items.push_back({next, static_cast<int32_t>(q), true});
        still.push_back(q);
      }
      running = std::move(still);
      if (step + 1 < o.max_gen_toks && !items.empty()) logits = batch.decode(items);
    }
    for (size_t q = 0; q < n; ++q) result[g0 + q] = cut_generation(tok, out[q], o.until);
  }
  clear_slots();
  return result;
}

std::vector<RollingWindow> rolling_windows(size_t n, size_t max_len) {
  std::vector<RollingWindow> out;
  if (n == 0 || max_len < 1) return out;
  // The first window: [prefix] + tokens[:first - 1] predicting tokens[:first].
  const size_t first = std::min(max_len, n);
  out.push_back({0, first, 1});
  for (size_t predicted = first; predicted < n;) {
    const size_t len = std::min(n - predicted, max_len);
    const size_t end = predicted + len;  // tokens [predicted, end) are scored
    // Reads tokens[end - max_len - 1, end - 1), which is sequence [end - max_len, end).
    out.push_back({end - max_len, end, predicted + 1});
    predicted = end;
  }
  return out;
}

Result<RollingScore> loglikelihood_rolling(model::Context& ctx, const tokenize::Tokenizer& tok,
                                           std::string_view text) {
  const int64_t window = ctx.n_ctx();
  if (window < 2) return invalid_argument_error("loglikelihood_rolling: a window of {} tokens", window);
  std::vector<int32_t> seq = FRAGUA_TRY(tok.try_encode(text, false, false));
  RollingScore r;
  r.n_tokens = seq.size();
  seq.insert(seq.begin(), tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id());
  for (const auto& w : rolling_windows(r.n_tokens, static_cast<size_t>(window))) {
    ctx.truncate(0);
    const std::span<const int32_t> input(seq.data() + w.input_begin, w.input_end - w.input_begin);
    auto logits = ctx.decode(input, /*all_logits=*/true);
    if (!logits.ok()) return std::move(logits).error().with_context("loglikelihood_rolling");
    const size_t vocab = logits->size() / input.size();
    for (size_t t = w.score_begin; t <= w.input_end; ++t)
      r.loglikelihood -= token_nats(logits->subspan((t - 1 - w.input_begin) * vocab, vocab), seq[t]);
    ++r.n_windows;
  }
  ctx.truncate(0);
  return r;
}

}  // namespace fragua::eval
