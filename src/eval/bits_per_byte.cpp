// SPDX-License-Identifier: Apache-2.0
#include "fragua/eval/bits_per_byte.h"

#include <algorithm>
#include <cmath>
#include <span>

#include "eval/log_prob.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::eval {

double LanguageLoss::mean_loss() const { return nats / static_cast<double>(scored); }

double LanguageLoss::bits_per_byte() const {
  return mean_loss() / std::log(2.0) * static_cast<double>(tokens) / static_cast<double>(bytes);
}

nlohmann::json to_json(const LanguageLosses& losses) {
  nlohmann::json loss = nlohmann::json::object(), bpb = nlohmann::json::object();
  for (const auto& [lang, l] : losses) {
    if (l.empty()) continue;
    loss[lang] = l.mean_loss();
    bpb[lang] = l.bits_per_byte();
  }
  return {{"val_loss", loss}, {"val_bpb", bpb}};
}

Result<LanguageLosses> bits_per_byte(model::Context& ctx, const tokenize::Tokenizer& tokenizer,
                                     const Documents& documents) {
  const auto window = static_cast<size_t>(ctx.n_ctx());
  if (window == 0) return invalid_argument_error("bits per byte: the context holds no tokens");
  LanguageLosses out;
  for (const auto& [lang, docs] : documents) {
    LanguageLoss& l = out[lang];
    for (size_t d = 0; d < docs.size(); ++d) {
      auto encoded = tokenizer.try_encode(docs[d], /*add_special=*/false, /*parse_special=*/false);
      if (!encoded.ok()) return std::move(encoded).error().with_context(fmt::format("{} document {}", lang, d));
      const std::vector<int32_t>& t = *encoded;
      l.tokens += t.size();
      l.bytes += docs[d].size();
      for (size_t s = 0; s + 1 < t.size(); s += window) {
        const size_t n = std::min(window, t.size() - 1 - s);
        ctx.truncate(0);
        auto logits = ctx.decode(std::span<const int32_t>(t.data() + s, n), /*all_logits=*/true);
        if (!logits.ok()) return std::move(logits).error().with_context(fmt::format("{} document {}", lang, d));
        const size_t vocab = logits->size() / n;
        double nats = 0;
        for (size_t i = 0; i < n; ++i) {
          const int32_t target = t[s + i + 1];
          if (target < 0 || static_cast<size_t>(target) >= vocab)
            return invalid_argument_error("{} document {}: token {} is outside the model's {} logits", lang, d, target,
                                          vocab);
          nats += token_nats(logits->subspan(i * vocab, vocab), target);
        }
        l.add(nats, n);
      }
    }
    if (l.bytes == 0) return invalid_argument_error("bits per byte: no text for language '{}'", lang);
  }
  ctx.truncate(0);
  return out;
}

}  // namespace fragua::eval
