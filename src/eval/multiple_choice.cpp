// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/multiple_choice.h"

#include <algorithm>
#include <cmath>

#include "eval/log_prob.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

Result<EncodedPair> encode_pair(const tokenize::Tokenizer& tok, std::string_view context,
                                std::string_view continuation, bool add_bos) {
  // Python's str.rstrip(): trailing whitespace moves to the continuation. (ASCII whitespace; the
  // harness's rstrip also strips Unicode spaces, which task templates do not end with.)
  size_t keep = context.size();
  while (keep > 0 && std::string_view(" \t\n\r\v\f").find(context[keep - 1]) != std::string_view::npos) --keep;
  const std::string cont = std::string(context.substr(keep)) + std::string(continuation);
  const std::string_view ctx = context.substr(0, keep);
  EncodedPair p;
  p.context = FRAGUA_TRY(tok.try_encode(ctx, false, false));
  const std::vector<int32_t> whole = FRAGUA_TRY(tok.try_encode(std::string(ctx) + cont, false, false));
  if (whole.size() >= p.context.size())
    p.continuation.assign(whole.begin() + static_cast<ptrdiff_t>(p.context.size()), whole.end());
  if (ctx.empty()) {
    // loglikelihood() with an empty context: the prefix token, then the continuation alone.
    const int32_t prefix = tok.bos_id() >= 0 ? tok.bos_id() : tok.eos_id();
    p.context = {prefix};
    p.continuation = FRAGUA_TRY(tok.try_encode(cont, false, false));
  } else if (add_bos && tok.bos_id() >= 0) {
    p.context.insert(p.context.begin(), tok.bos_id());
  }
  return p;
}

Result<std::vector<ChoiceScore>> score_continuations(model::Context& ctx, const tokenize::Tokenizer& tok,
                                                     std::string_view context,
                                                     const std::vector<std::string>& continuations, bool add_bos) {
  std::vector<EncodedPair> pairs;
  size_t longest = 0;
  for (const auto& c : continuations) {
    pairs.push_back(FRAGUA_TRY(encode_pair(tok, context, c, add_bos)));
    longest = std::max(longest, pairs.back().continuation.size());
  }
  const auto window = static_cast<size_t>(ctx.n_ctx());
  if (longest == 0) return invalid_argument_error("multiple choice: a continuation encodes to no tokens");
  if (longest >= window)
    return invalid_argument_error("multiple choice: a continuation of {} tokens does not fit the {}-token window",
                                  longest, window);
  // The input is context + continuation minus its last token; keep its last `window` tokens.
  std::vector<int32_t> prefix = pairs.empty() ? std::vector<int32_t>{} : pairs[0].context;
  if (prefix.size() + longest - 1 > window) prefix.erase(prefix.begin(), prefix.end() - static_cast<ptrdiff_t>(window - longest + 1));

  ctx.truncate(0);
  auto last = ctx.decode(prefix);
  if (!last.ok()) return std::move(last).error().with_context("multiple choice context");
  const std::vector<float> first_logits(last->begin(), last->end());
  const size_t vocab = first_logits.size();

  std::vector<ChoiceScore> out;
  for (const auto& p : pairs) {
    ChoiceScore s;
    s.n_tokens = p.continuation.size();
    s.greedy = true;
    auto add = [&](std::span<const float> logits, int32_t target) {
      s.loglikelihood -= token_nats(logits, target);
      const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
      if (best != target) s.greedy = false;
    };
    add(first_logits, p.continuation[0]);
    if (p.continuation.size() > 1) {
      ctx.truncate(static_cast<int64_t>(prefix.size()));
      const std::span<const int32_t> feed(p.continuation.data(), p.continuation.size() - 1);
      auto logits = ctx.decode(feed, /*all_logits=*/true);
      if (!logits.ok()) return std::move(logits).error().with_context("multiple choice continuation");
      for (size_t i = 1; i < p.continuation.size(); ++i)
        add(logits->subspan((i - 1) * vocab, vocab), p.continuation[i]);
    }
    out.push_back(s);
  }
  ctx.truncate(0);
  return out;
}

Result<std::vector<PromptTokenLogprob>> prompt_logprobs(model::Context& ctx, std::span<const int32_t> tokens,
                                                        int top_n) {
  std::vector<PromptTokenLogprob> out(tokens.size());
  if (tokens.size() < 2) return out;
  ctx.truncate(0);
  auto logits = ctx.decode(tokens.first(tokens.size() - 1), /*all_logits=*/true);
  if (!logits.ok()) return std::move(logits).error().with_context("prompt log-probabilities");
  const size_t vocab = logits->size() / (tokens.size() - 1);
  std::vector<int32_t> order(vocab);
  for (size_t i = 1; i < tokens.size(); ++i) {
    const auto row = logits->subspan((i - 1) * vocab, vocab);
    const double lse = token_nats(row, 0) + static_cast<double>(row[0]);  // log-sum-exp of the row
    out[i].logprob = -token_nats(row, tokens[i]);
    const auto k = static_cast<size_t>(std::clamp<int64_t>(top_n, 0, static_cast<int64_t>(vocab)));
    if (k == 0) continue;
    for (size_t v = 0; v < vocab; ++v) order[v] = static_cast<int32_t>(v);
    std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k), order.end(),
                      [&](int32_t a, int32_t b) { return row[static_cast<size_t>(a)] > row[static_cast<size_t>(b)]; });
    for (size_t j = 0; j < k; ++j)
      out[i].top.emplace_back(order[j], static_cast<double>(row[static_cast<size_t>(order[j])]) - lse);
  }
  ctx.truncate(0);
  return out;
}

size_t code_points(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

McOutcome score_question(const std::vector<double>& ll, const std::vector<std::string>& choices, size_t gold) {
  McOutcome o;
  o.gold = gold;
  double best = -INFINITY, best_norm = -INFINITY;
  for (size_t i = 0; i < ll.size(); ++i) {
    const double norm = ll[i] / static_cast<double>(code_points(choices[i]));
    if (ll[i] > best) best = ll[i], o.pred = i;
    if (norm > best_norm) best_norm = norm, o.pred_norm = i;
  }
  o.acc = o.pred == gold ? 1.0 : 0.0;
  o.acc_norm = o.pred_norm == gold ? 1.0 : 0.0;
  return o;
}

MeanStderr mean_stderr(const std::vector<double>& v) {
  MeanStderr r;
  if (v.empty()) return r;
  const auto n = static_cast<double>(v.size());
  for (double x : v) r.mean += x;
  r.mean /= n;
  if (v.size() < 2) return r;
  double ss = 0;
  for (double x : v) ss += (x - r.mean) * (x - r.mean);
  r.stderr_ = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return r;
}

}  // namespace fragua::eval
