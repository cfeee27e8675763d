// SPDX-License-Identifier: Apache-2.0
#include "fragua/data/quality.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <xxhash.h>

namespace fragua::data {
namespace {

// Frequent function words per language (data/stopwords/<lang>.txt, embedded at build time).
using StopWords = std::unordered_set<std::string>;

const StopWords* stop_words(std::string_view lang) {
  static const std::unordered_map<std::string, StopWords> table = [] {
    const std::pair<const char*, const char*> lists[] = {
#include "data/stop_words.inc"
    };
    std::unordered_map<std::string, StopWords> t;
    for (auto [tag, text] : lists) {
      StopWords& words = t[tag];
      std::string_view rest(text);
      while (!rest.empty()) {
        size_t nl = rest.find('\n');
        std::string_view w = rest.substr(0, nl);
        if (!w.empty()) words.emplace(w);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      }
    }
    return t;
  }();
  auto it = table.find(std::string(lang == "ca-valencia" ? "ca" : lang));
  return it == table.end() ? nullptr : &it->second;
}

bool has_letter(std::string_view w) {
  for (char c : w) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || u >= 0xC3) return true;
  }
  return false;
}

std::string lower_word(std::string_view w) {
  std::string s;
  for (char c : w) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (std::strchr(".,;:!?\"'()[]{}«»¿¡", c) && c) continue;
    s.push_back(c);
  }
  return s;
}

// Fraction of characters (in words) covered by the most frequent word n-gram.
double top_ngram_frac(const std::vector<std::string_view>& words, size_t n, size_t total_chars) {
  if (words.size() < n || total_chars == 0) return 0;
  std::unordered_map<uint64_t, std::pair<size_t, size_t>> counts;  // hash -> (count, chars)
  for (size_t i = 0; i + n <= words.size(); ++i) {
    uint64_t h = 0;
    size_t chars = 0;
    for (size_t k = 0; k < n; ++k) {
      h = XXH64(words[i + k].data(), words[i + k].size(), h);
      chars += words[i + k].size();
    }
    auto& e = counts[h];
    e.first++;
    e.second = chars;
  }
  size_t best = 0;
  for (const auto& [h, e] : counts)
    if (e.first > 1) best = std::max(best, e.first * e.second);
  return static_cast<double>(best) / static_cast<double>(total_chars);
}

// Fraction of characters in word n-grams that occur more than once (overlaps counted once).
double dup_ngram_frac(const std::vector<std::string_view>& words, size_t n, size_t total_chars) {
  if (words.size() < n || total_chars == 0) return 0;
  std::unordered_map<uint64_t, size_t> first;
  std::vector<bool> covered(words.size(), false);
  for (size_t i = 0; i + n <= words.size(); ++i) {
    uint64_t h = 0;
    for (size_t k = 0; k < n; ++k) h = XXH64(words[i + k].data(), words[i + k].size(), h);
    auto [it, fresh] = first.emplace(h, i);
    if (!fresh) {
      for (size_t k = 0; k < n; ++k) covered[i + k] = covered[it->second + k] = true;
    }
  }
  size_t dup = 0;
  for (size_t i = 0; i < words.size(); ++i)
    if (covered[i]) dup += words[i].size();
  return static_cast<double>(dup) / static_cast<double>(total_chars);
}

}  // namespace

void disable_repetition_rules(QualityOptions& o) {
  o.max_dup_line_frac = o.max_dup_line_chars = 1.0;
  for (double& v : o.max_top_ngram_frac) v = 1.0;
  for (double& v : o.max_dup_ngram_frac) v = 1.0;
}

QualityVerdict check_quality(std::string_view text, std::string_view lang, const QualityOptions& o) {
  auto drop = [](const char* r) { return QualityVerdict{false, r}; };
  std::vector<std::string_view> words;
  size_t word_chars = 0, digits = 0, non_space = 0, symbols = 0, alpha_words = 0;
  for (size_t i = 0; i < text.size();) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t b = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) {
      digits += text[i] >= '0' && text[i] <= '9';
      symbols += text[i] == '#';
      ++non_space;
      ++i;
    }
    if (i > b) {
      words.push_back(text.substr(b, i - b));
      word_chars += i - b;
      alpha_words += has_letter(words.back());
    }
  }
  for (size_t p = text.find("..."); p != std::string_view::npos; p = text.find("...", p + 3)) ++symbols;
  for (size_t p = text.find("\xE2\x80\xA6"); p != std::string_view::npos; p = text.find("\xE2\x80\xA6", p + 3))
    ++symbols;
  if (words.size() < o.min_words) return drop("too_few_words");
  if (words.size() > o.max_words) return drop("too_many_words");
  double mean = static_cast<double>(word_chars) / static_cast<double>(words.size());
  if (mean < o.min_mean_word_len || mean > o.max_mean_word_len) return drop("mean_word_length");
  if (static_cast<double>(symbols) / static_cast<double>(words.size()) > o.max_symbol_word_ratio)
    return drop("symbol_ratio");
  if (non_space && static_cast<double>(digits) / static_cast<double>(non_space) > o.max_digit_ratio)
    return drop("digit_ratio");
  if (static_cast<double>(alpha_words) / static_cast<double>(words.size()) < o.min_alpha_words)
    return drop("alpha_words");

  // Lines: bullets, ellipses, duplicates.
  size_t lines = 0, bullets = 0, ellipses = 0, dup_lines = 0, dup_chars = 0, line_chars = 0;
  std::unordered_set<uint64_t> seen;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.remove_suffix(1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) line.remove_prefix(1);
    if (line.empty()) continue;
    ++lines;
    line_chars += line.size();
    if (line.starts_with("- ") || line.starts_with("* ") || line.starts_with("\xE2\x80\xA2")) ++bullets;
    if (line.ends_with("...") || line.ends_with("\xE2\x80\xA6")) ++ellipses;
    if (!seen.insert(XXH64(line.data(), line.size(), 0)).second) {
      ++dup_lines;
      dup_chars += line.size();
    }
  }
  if (lines) {
    double nl = static_cast<double>(lines);
    if (bullets / nl > o.max_bullet_lines) return drop("bullet_lines");
    if (ellipses / nl > o.max_ellipsis_lines) return drop("ellipsis_lines");
    if (dup_lines / nl > o.max_dup_line_frac) return drop("dup_line_frac");
    if (line_chars && static_cast<double>(dup_chars) / static_cast<double>(line_chars) > o.max_dup_line_chars)
      return drop("dup_line_chars");
  }
  static const char* top_names[] = {"top_2gram", "top_3gram", "top_4gram"};
  for (size_t n = 2; n <= 4; ++n)
    if (top_ngram_frac(words, n, word_chars) > o.max_top_ngram_frac[n - 2]) return drop(top_names[n - 2]);
  static const char* dup_names[] = {"dup_5gram", "dup_6gram", "dup_7gram", "dup_8gram", "dup_9gram", "dup_10gram"};
  for (size_t n = 5; n <= 10; ++n)
    if (dup_ngram_frac(words, n, word_chars) > o.max_dup_ngram_frac[n - 5]) return drop(dup_names[n - 5]);

  if (const StopWords* sw = stop_words(lang); sw && o.min_stop_words > 0) {
    std::unordered_set<std::string> found;
    for (auto w : words) {
      std::string lw = lower_word(w);
      if (sw->count(lw)) found.insert(std::move(lw));
      if (found.size() >= o.min_stop_words) break;
    }
    if (found.size() < o.min_stop_words) return drop("no_stop_words");
  }
  return {};
}

}  // namespace fragua::data
