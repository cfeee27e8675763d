// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/multiple_choice.h"

#include <algorithm>
#include <cmath>

#include "eval/log_prob.h"
#include "fragua/base/thread_pool.h"
#include "fragua/model/batch.h"
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

namespace {

// A question's choices encoded, and the context tokens the model reads before them: the input is
// context + continuation minus its last token, so the context keeps its last window - longest + 1
// tokens (the harness's left truncation).
struct McPreparedChoices {
  std::vector<int32_t> prefix;
  std::vector<EncodedPair> pairs;
};

Result<McPreparedChoices> prepare_mc_choices(const tokenize::Tokenizer& tok, std::string_view context,
                                             const std::vector<std::string>& continuations, bool add_bos,
                                             size_t window) {
  McPreparedChoices p;
  size_t longest = 0;
  for (const auto& c : continuations) {
    p.pairs.push_back(FRAGUA_TRY(encode_pair(tok, context, c, add_bos)));
    if (p.pairs.back().continuation.empty())
      return invalid_argument_error("multiple choice: choice {} ('{}') encodes to no tokens", p.pairs.size() - 1, c);
    longest = std::max(longest, p.pairs.back().continuation.size());
  }
  if (longest == 0) return invalid_argument_error("multiple choice: a question has no choices");
  if (longest >= window)
    return invalid_argument_error("multiple choice: a continuation of {} tokens does not fit the {}-token window",
                                  longest, window);
  p.prefix = p.pairs[0].context;
  if (p.prefix.size() + longest - 1 > window)
    p.prefix.erase(p.prefix.begin(), p.prefix.end() - static_cast<ptrdiff_t>(window - longest + 1));
  return p;
}

// Adds log p(target) under `logits` to a choice's score.
void add_mc_choice_token(ChoiceScore& s, std::span<const float> logits, int32_t target) {
  const double nats = token_nats(logits, target);
  s.loglikelihood -= nats;
  s.token_logprobs.push_back(-nats);
  const auto best = std::max_element(logits.begin(), logits.end()) - logits.begin();
  if (best != target) s.greedy = false;
}

// One continuation token scored from its row of logits: -log p(target) and whether the target is
// the row's argmax.
struct McRowScore {
  size_t row = 0;
  int32_t target = 0;
  double nats = 0;
  bool argmax = false;
};

// Fills each job's nats and argmax; the rows are independent, so they run on the backend's
// threads (a 32k-token vocabulary makes the log-softmax cost as much as a small model's forward
// pass). Each row's value is the one a single thread computes.
void score_mc_rows(ThreadPool& pool, std::span<const float> logits, size_t vocab, std::vector<McRowScore>& jobs) {
  pool.parallel_for_dynamic(jobs.size(), 2, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const auto row = logits.subspan(jobs[i].row * vocab, vocab);
      jobs[i].nats = token_nats(row, jobs[i].target);
      jobs[i].argmax = std::max_element(row.begin(), row.end()) - row.begin() == jobs[i].target;
    }
  });
}

void add_mc_row_score(ChoiceScore& s, const McRowScore& r) {
  s.loglikelihood -= r.nats;
  s.token_logprobs.push_back(-r.nats);
  if (!r.argmax) s.greedy = false;
}

}  // namespace

Result<std::vector<ChoiceScore>> score_continuations(model::Context& ctx, const tokenize::Tokenizer& tok,
                                                     std::string_view context,
                                                     const std::vector<std::string>& continuations, bool add_bos) {
  const McPreparedChoices p = FRAGUA_TRY(prepare_mc_choices(tok, context, continuations, add_bos,
                                                            static_cast<size_t>(ctx.n_ctx())));
  const auto n_prefix = static_cast<int64_t>(p.prefix.size());
  ctx.truncate(0);
  auto last = ctx.decode(p.prefix);
  if (!last.ok()) return std::move(last).error().with_context("multiple choice context");
  const std::vector<float> first_logits(last->begin(), last->end());
  const size_t vocab = first_logits.size();

  std::vector<ChoiceScore> out;
  for (const auto& pair : p.pairs) {
    ChoiceScore s{.n_tokens = pair.continuation.size(), .greedy = true, .tokens = pair.continuation};
    add_mc_choice_token(s, first_logits, pair.continuation[0]);
    if (pair.continuation.size() > 1) {
      ctx.truncate(n_prefix);
      if (ctx.n_past() != n_prefix) {
        // A model with recurrent layers cannot roll back: the context is decoded again.
        ctx.truncate(0);
        auto again = ctx.decode(p.prefix);
        if (!again.ok()) return std::move(again).error().with_context("multiple choice context");
      }
      const std::span<const int32_t> feed(pair.continuation.data(), pair.continuation.size() - 1);
      auto logits = ctx.decode(feed, /*all_logits=*/true);
      if (!logits.ok()) return std::move(logits).error().with_context("multiple choice continuation");
      for (size_t i = 1; i < pair.continuation.size(); ++i)
        add_mc_choice_token(s, logits->subspan((i - 1) * vocab, vocab), pair.continuation[i]);
    }
    out.push_back(s);
  }
  ctx.truncate(0);
  return out;
}

Result<std::vector<std::vector<ChoiceScore>>> score_continuations_batched(model::BatchContext& batch,
                                                                          const tokenize::Tokenizer& tok,
                                                                          std::span<const ChoiceRequest> requests,
                                                                          bool add_bos) {
  const auto window = static_cast<size_t>(batch.n_ctx_per_seq());
  const auto n_seq = static_cast<size_t>(batch.n_seq());
  const auto vocab = static_cast<size_t>(batch.model().config().n_vocab);
  std::vector<std::vector<ChoiceScore>> out(requests.size());
  std::vector<McPreparedChoices> group;
  std::vector<model::BatchItem> items;
  std::vector<McRowScore> jobs;
  ThreadPool& pool = batch.backend().pool();
  auto clear_slots = [&] {
    for (size_t s = 0; s < n_seq; ++s) (void)batch.truncate(static_cast<int32_t>(s), 0);
  };
  for (size_t g0 = 0; g0 < requests.size(); g0 += n_seq) {
    const size_t g1 = std::min(requests.size(), g0 + n_seq);
    group.clear();
    for (size_t q = g0; q < g1; ++q) {
      auto p = prepare_mc_choices(tok, requests[q].context, requests[q].continuations, add_bos, window);
      if (!p.ok()) return std::move(p).error().with_context(fmt::format("question {}", q));
      group.push_back(std::move(*p));
    }
    // Pass 0: each context in its own slot, followed by its first continuation (all but the last
    // token): the context's last row scores every choice's first token, the rows after it the
    // first continuation's later tokens. (One pass fewer than decoding the contexts alone: each
    // pass reads all the weights, and with a few dozen rows that is most of its cost.)
    clear_slots();
    items.clear();
    jobs.clear();
    size_t max_choices = 0, n_rows = 0;
    for (size_t q = 0; q < group.size(); ++q) {
      const size_t ctx_row = n_rows;
      for (size_t i = 0; i < group[q].prefix.size(); ++i)
        items.push_back({group[q].prefix[i], static_cast<int32_t>(q), i + 1 == group[q].prefix.size()});
      const auto& first = group[q].pairs[0].continuation;
      for (size_t i = 0; i + 1 < first.size(); ++i) items.push_back({first[i], static_cast<int32_t>(q), true});
      for (const auto& pair : group[q].pairs) jobs.push_back({.row = ctx_row, .target = pair.continuation[0]});
      for (size_t i = 1; i < first.size(); ++i) jobs.push_back({.row = ctx_row + i, .target = first[i]});
      n_rows += first.size();  // the context's last row and one per fed continuation token
    }
    auto first_pass = batch.decode(items);
    if (!first_pass.ok()) {
      clear_slots();
      return std::move(first_pass).error().with_context("multiple choice contexts");
    }
    score_mc_rows(pool, *first_pass, vocab, jobs);
    for (size_t q = 0, j = 0; q < group.size(); ++q) {
      out[g0 + q].resize(group[q].pairs.size());
      max_choices = std::max(max_choices, group[q].pairs.size());
      for (size_t c = 0; c < group[q].pairs.size(); ++c, ++j) {
        const auto& cont = group[q].pairs[c].continuation;
        ChoiceScore& s = out[g0 + q][c];
        s = {.n_tokens = cont.size(), .greedy = true, .tokens = cont};
        add_mc_row_score(s, jobs[j]);
      }
      for (size_t i = 1; i < group[q].pairs[0].continuation.size(); ++i, ++j) add_mc_row_score(out[g0 + q][0], jobs[j]);
    }
    // Pass c >= 1: the c-th continuation of every question that has one of more than one token.
    for (size_t c = 1; c < max_choices; ++c) {
      items.clear();
      jobs.clear();
      for (size_t q = 0; q < group.size(); ++q) {
        if (c >= group[q].pairs.size() || group[q].pairs[c].continuation.size() < 2) continue;
        const auto seq = static_cast<int32_t>(q);
        const auto n_prefix = static_cast<int64_t>(group[q].prefix.size());
        FRAGUA_TRY(batch.truncate(seq, n_prefix));
        if (batch.n_past(seq) != n_prefix) {
          // A model with recurrent layers cannot roll back: the context is decoded again.
          FRAGUA_TRY(batch.truncate(seq, 0));
          for (int32_t t : group[q].prefix) items.push_back({t, seq, false});
        }
        const auto& cont = group[q].pairs[c].continuation;
        for (size_t i = 0; i + 1 < cont.size(); ++i) {
          items.push_back({cont[i], seq, true});
          jobs.push_back({.row = jobs.size(), .target = cont[i + 1]});
        }
      }
      if (items.empty()) continue;
      auto logits = batch.decode(items);
      if (!logits.ok()) {
        clear_slots();
        return std::move(logits).error().with_context("multiple choice continuations");
      }
      score_mc_rows(pool, *logits, vocab, jobs);
      size_t row = 0;
      for (size_t q = 0; q < group.size(); ++q) {
        if (c >= group[q].pairs.size() || group[q].pairs[c].continuation.size() < 2) continue;
        for (size_t i = 1; i < group[q].pairs[c].continuation.size(); ++i, ++row) add_mc_row_score(out[g0 + q][c], jobs[row]);
      }
    }
  }
  clear_slots();
  return out;
}

Result<std::vector<PromptTokenLogprob>> prompt_logprobs(model::Context& ctx, std::span<const int32_t> tokens,
                                                        int top_n, bool greedy_next) {
  std::vector<PromptTokenLogprob> out(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) out[i].token = tokens[i];
  // Rows of logits: each predicts the token after it; the last prompt token's only for greedy_next.
  const size_t n_rows = tokens.size() - (greedy_next ? 0 : 1);
  if (tokens.empty() || n_rows == 0) return out;
  ctx.truncate(0);
  auto logits = ctx.decode(tokens.first(n_rows), /*all_logits=*/true);
  if (!logits.ok()) return std::move(logits).error().with_context("prompt log-probabilities");
  const size_t vocab = logits->size() / n_rows;
  if (greedy_next) out.emplace_back();
  std::vector<int32_t> order(vocab);
  for (size_t i = 1; i < out.size(); ++i) {
    const auto row = logits->subspan((i - 1) * vocab, vocab);
    if (i == tokens.size())
      out[i].token = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
    const double lse = log_sum_exp(row);
    auto lp = [&](int32_t t) { return static_cast<double>(row[static_cast<size_t>(t)]) - lse; };
    out[i].logprob = lp(out[i].token);
    const auto k = static_cast<size_t>(std::clamp<int64_t>(top_n, 0, static_cast<int64_t>(vocab)));
    if (k == 0) continue;
    for (size_t v = 0; v < vocab; ++v) order[v] = static_cast<int32_t>(v);
    std::partial_sort(order.begin(), order.begin() + static_cast<ptrdiff_t>(k), order.end(),
                      [&](int32_t a, int32_t b) { return row[static_cast<size_t>(a)] > row[static_cast<size_t>(b)]; });
    for (size_t j = 0; j < k; ++j) out[i].top.emplace_back(order[j], lp(order[j]));
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
