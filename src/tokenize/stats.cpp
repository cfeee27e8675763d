// SPDX-License-Identifier: Apache-2.0
// Tokenizer measurements per language: fertility (tokens per whitespace-separated word, the
// usual cross-lingual cost measure, Rust et al. 2021), bytes per token, and the share of tokens
// that fall back to bytes or <unk>.
#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "fragua/base/thread_pool.h"
#include "fragua/base/utf8.h"
#include "fragua/tokenize/trainer.h"

namespace fragua::tokenize {

Result<TokenStats> measure(const Tokenizer& tok, std::string_view text, int threads) {
  std::vector<uint8_t> fallback(static_cast<size_t>(tok.n_vocab()), 0);
  for (int32_t id = 0; id < tok.n_vocab(); ++id) {
    std::string p = tok.token_piece(id);
    TokenType t = tok.token_type(id);
    fallback[static_cast<size_t>(id)] =
        t == TokenType::unknown || t == TokenType::byte || (!p.empty() && !utf8::is_valid(p));
  }
  std::vector<std::string_view> lines;
  for (size_t p = 0; p < text.size();) {
    size_t nl = text.find('\n', p);
    size_t e = nl == std::string_view::npos ? text.size() : nl;
    if (e > p) lines.push_back(text.substr(p, e - p));
    p = e + 1;
  }
  ThreadPool pool(threads);
  std::vector<TokenStats> part(static_cast<size_t>(pool.size()));
  std::vector<std::optional<Error>> failed(static_cast<size_t>(pool.size()));
  pool.run([&](int ith, int nth) {
    size_t b, e;
    split_range(lines.size(), ith, nth, b, e);
    TokenStats& st = part[static_cast<size_t>(ith)];
    for (size_t i = b; i < e; ++i) {
      std::string_view line = lines[i];
      st.bytes += line.size();
      bool in_word = false;
      for (char c : line) {
        bool space = c == ' ' || c == '\t' || c == '\r';
        if (!space && !in_word) ++st.words;
        in_word = !space;
      }
      auto ids = tok.try_encode(line, false, false);
      if (!ids.ok()) {
        failed[static_cast<size_t>(ith)] = std::move(ids).error().with_context(fmt::format("line {}", i + 1));
        return;
      }
      for (int32_t id : *ids) {
        ++st.tokens;
        st.fallback_tokens += fallback[static_cast<size_t>(id)];
      }
    }
  });
  for (auto& f : failed)
    if (f) return std::move(*f);
  TokenStats all;
  for (const auto& p : part) {
    all.bytes += p.bytes;
    all.words += p.words;
    all.tokens += p.tokens;
    all.fallback_tokens += p.fallback_tokens;
  }
  return all;
}

std::string format_stats_table(const std::vector<TokenStats>& stats) {
  std::vector<std::string> toks, langs;
  std::map<std::pair<std::string, std::string>, const TokenStats*> at;
  for (const auto& s : stats) {
    if (std::find(toks.begin(), toks.end(), s.tokenizer) == toks.end()) toks.push_back(s.tokenizer);
    if (std::find(langs.begin(), langs.end(), s.lang) == langs.end()) langs.push_back(s.lang);
    at[{s.lang, s.tokenizer}] = &s;
  }
  std::string out = fmt::format("{:<8}", "lang");
  for (const auto& t : toks) out += fmt::format(" | {:^26}", t.size() > 26 ? t.substr(t.size() - 26) : t);
  out += '\n';
  out += fmt::format("{:<8}", "");
  for (size_t i = 0; i < toks.size(); ++i) out += fmt::format(" | {:>8} {:>8} {:>8}", "tok/word", "B/tok", "fallback");
  out += '\n';
  out.append(8 + toks.size() * 29, '-');
  out += '\n';
  for (const auto& l : langs) {
    out += fmt::format("{:<8}", l);
    for (const auto& t : toks) {
      auto it = at.find({l, t});
      if (it == at.end()) {
        out += fmt::format(" | {:>26}", "-");
        continue;
      }
      const TokenStats& s = *it->second;
      out += fmt::format(" | {:>8.3f} {:>8.2f} {:>7.2f}%", s.fertility(), s.bytes_per_token(), 100 * s.fallback_rate());
    }
    out += "\n";
  }
  return out;
}

}  // namespace fragua::tokenize
