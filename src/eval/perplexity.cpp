// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/perplexity.h"

#include <cmath>
#include <optional>

#include "eval/log_prob.h"
#include "fragua/base/progress.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

Result<std::vector<PerplexityWindow>> perplexity_windows(int64_t n_tokens, int64_t n_ctx, int64_t stride) {
  if (n_ctx < 2) return invalid_argument_error("perplexity: a window of {} tokens predicts nothing (at least 2)", n_ctx);
  if (stride < 0 || stride >= n_ctx)
    return invalid_argument_error("perplexity: stride {} is outside [1, {}) (the window is {} tokens)", stride, n_ctx,
                                  n_ctx);
  std::vector<PerplexityWindow> out;
  if (stride == 0) {
    if (n_tokens < n_ctx)
      return invalid_argument_error("perplexity: the text gives {} tokens, less than one chunk of {}", n_tokens, n_ctx);
    for (int64_t i = 0; i < n_tokens / n_ctx; ++i) out.push_back({i * n_ctx, n_ctx, n_ctx / 2});
    return out;
  }
  if (n_tokens < 2) return invalid_argument_error("perplexity: the text gives {} tokens, nothing to predict", n_tokens);
  // `last`: the last token index scored so far (token 0 is never predicted).
  int64_t last = 0;
  for (int64_t start = 0; last < n_tokens - 1; start += stride) {
    const int64_t size = std::min(n_ctx, n_tokens - start);
    out.push_back({start, size, std::max<int64_t>(0, last - start)});
    last = start + size - 1;
  }
  return out;
}

double PerplexityResult::ppl() const { return std::exp(loss.nats / static_cast<double>(loss.scored)); }

double PerplexityResult::ppl_error() const {
  const auto n = static_cast<double>(loss.scored);
  if (loss.scored < 2) return 0;
  const double mean = loss.nats / n, var = nats2 / n - mean * mean;
  return var > 0 ? std::sqrt(var / (n - 1)) * ppl() : 0.0;
}

void PerplexityResult::add(const PerplexityResult& o) {
  loss.add(o.loss.nats, o.loss.scored);
  loss.tokens += o.loss.tokens;
  loss.bytes += o.loss.bytes;
  nats2 += o.nats2;
  n_windows += o.n_windows;
}

Result<PerplexityResult> perplexity(const model::Model& model, const tokenize::Tokenizer& tokenizer,
                                    std::string_view text, const PerplexityOptions& o) {
  const std::vector<int32_t> tokens = FRAGUA_TRY(tokenizer.try_encode(text, /*add_special=*/true, false));
  const bool add_bos = tokenizer.spec().add_bos && tokenizer.bos_id() >= 0;
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  const std::vector<PerplexityWindow> windows = FRAGUA_TRY(perplexity_windows(n_tokens, o.n_ctx, o.stride));

  PerplexityResult r;
  r.loss.bytes = text.size();
  r.loss.tokens = tokens.size() - (add_bos && !tokens.empty() && tokens[0] == tokenizer.bos_id() ? 1 : 0);
  const auto n_seq = static_cast<int32_t>(std::min<size_t>(std::max(1, o.n_parallel), windows.size()));
  auto batch = FRAGUA_TRY(model::BatchContext::create(
      model, {.n_seq = n_seq, .n_ctx_per_seq = o.n_ctx, .n_batch = std::max<int64_t>(512, o.n_ctx), .n_threads = o.n_threads}));
  std::optional<ProgressBar> bar;
  if (!o.progress.empty()) bar.emplace(o.progress, windows.size(), "win");

  std::vector<model::BatchItem> items;
  for (size_t w0 = 0; w0 < windows.size(); w0 += static_cast<size_t>(n_seq)) {
    const size_t w1 = std::min(windows.size(), w0 + static_cast<size_t>(n_seq));
    items.clear();
    for (size_t w = w0; w < w1; ++w) {
      const auto seq = static_cast<int32_t>(w - w0);
      FRAGUA_TRY(batch->truncate(seq, 0));
      const PerplexityWindow& win = windows[w];
      for (int64_t p = 0; p < win.size; ++p) {
        const int32_t t = p == 0 && add_bos ? tokenizer.bos_id() : tokens[static_cast<size_t>(win.start + p)];
        items.push_back({t, seq, p >= win.score_from && p < win.size - 1});
      }
    }
    auto logits = batch->decode(items);
    if (!logits.ok()) return std::move(logits).error().with_context(fmt::format("perplexity window {}", w0));
    const size_t vocab = static_cast<size_t>(model.config().n_vocab);
    size_t row = 0;
    for (size_t w = w0; w < w1; ++w) {
      const PerplexityWindow& win = windows[w];
      for (int64_t p = win.score_from; p < win.size - 1; ++p, ++row) {
        const int32_t target = tokens[static_cast<size_t>(win.start + p + 1)];
        const double v = token_nats(logits->subspan(row * vocab, vocab), target);
        r.loss.add(v, 1);
        r.nats2 += v * v;
      }
      ++r.n_windows;
      r.running_ppl.push_back(r.ppl());
    }
    if (bar) {
      bar->set_postfix(fmt::format("ppl {:.4f}", r.ppl()));
      bar->add(w1 - w0);
    }
  }
  return r;
}

}  // namespace fragua::eval
