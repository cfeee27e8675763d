#include "fragua/data/quality.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <xxhash.h>

namespace fragua::data {
namespace {

// Frequent function words per language (a few dozen each, from general knowledge of the
// languages: articles, prepositions, conjunctions, pronouns, copulas).
const char* const* stop_words(std::string_view lang) {
  static const char* es[] = {"de", "la", "que", "el", "en", "y", "los", "del", "se", "las", "por", "un", "para", "con", "no", "una", "su", "al", "es", "lo", "como", "más", "pero", "sus", "le", "ya", "o", "este", "si", "porque", "esta", "entre", "cuando", "muy", "sin", "sobre", nullptr};
  static const char* ca[] = {"de", "la", "que", "el", "i", "en", "a", "els", "les", "del", "es", "per", "un", "una", "amb", "no", "al", "com", "més", "però", "seu", "ha", "o", "aquest", "aquesta", "si", "quan", "molt", "sense", "sobre", "és", "pel", "dels", "hi", "ho", "són", nullptr};
  static const char* eu[] = {"eta", "da", "ez", "ere", "bat", "du", "dira", "edo", "baina", "hau", "hori", "dute", "zen", "izan", "egin", "behar", "bere", "dago", "dela", "baino", "gehiago", "beste", "nola", "zer", "non", "ditu", "dituzte", "daude", "honen", "bezala", "bai", "horrela", "dute", "den", "duen", nullptr};
  static const char* gl[] = {"de", "a", "o", "que", "e", "do", "da", "en", "un", "unha", "para", "con", "non", "os", "as", "no", "na", "se", "por", "máis", "pero", "dos", "das", "como", "ao", "é", "ou", "este", "esta", "cando", "moi", "sen", "sobre", "tamén", "seu", "súa", nullptr};
  static const char* pt[] = {"de", "a", "o", "que", "e", "do", "da", "em", "um", "uma", "para", "com", "não", "os", "as", "no", "na", "se", "por", "mais", "mas", "dos", "das", "como", "ao", "é", "ou", "este", "esta", "quando", "muito", "sem", "sobre", "também", "seu", "sua", nullptr};
  static const char* en[] = {"the", "be", "to", "of", "and", "that", "have", "with", "a", "in", "is", "it", "for", "not", "on", "as", "you", "this", "by", "from", "or", "are", "an", "can", "if", "will", "which", "when", "there", "their", nullptr};
  static const char* fr[] = {"de", "la", "le", "et", "les", "des", "en", "un", "une", "du", "que", "est", "pour", "qui", "dans", "par", "sur", "pas", "au", "avec", "ce", "il", "sont", "ou", "mais", "plus", "se", "ne", "vous", "si", nullptr};
  static const char* it[] = {"di", "e", "il", "la", "che", "in", "a", "per", "un", "una", "del", "della", "non", "con", "le", "si", "da", "sono", "è", "dei", "al", "come", "più", "ma", "anche", "se", "questo", "nel", "o", "gli", nullptr};
  static const char* oc[] = {"de", "la", "e", "lo", "que", "en", "los", "las", "per", "un", "una", "del", "amb", "pas", "es", "a", "o", "se", "son", "sa", "coma", "mai", "mas", "aquel", "aquela", "sus", "dins", "sens", "quand", "fòrça", nullptr};
  static const char* ast[] = {"de", "la", "el", "que", "y", "en", "los", "les", "del", "pa", "un", "una", "con", "nun", "ye", "al", "como", "más", "pero", "so", "o", "esti", "esta", "si", "cuando", "mui", "ensin", "sobre", "tamién", "per", nullptr};
  if (lang == "es") return es;
  if (lang == "ca" || lang == "ca-valencia") return ca;
  if (lang == "eu") return eu;
  if (lang == "gl") return gl;
  if (lang == "pt") return pt;
  if (lang == "en") return en;
  if (lang == "fr") return fr;
  if (lang == "it") return it;
  if (lang == "oc") return oc;
  if (lang == "ast") return ast;
  return nullptr;
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
  for (size_t p = text.find("\xE2\x80\xA6"); p != std::string_view::npos; p = text.find("\xE2\x80\xA6", p + 3)) ++symbols;
  if (words.size() < o.min_words) return drop("too_few_words");
  if (words.size() > o.max_words) return drop("too_many_words");
  double mean = static_cast<double>(word_chars) / static_cast<double>(words.size());
  if (mean < o.min_mean_word_len || mean > o.max_mean_word_len) return drop("mean_word_length");
  if (static_cast<double>(symbols) / static_cast<double>(words.size()) > o.max_symbol_word_ratio) return drop("symbol_ratio");
  if (non_space && static_cast<double>(digits) / static_cast<double>(non_space) > o.max_digit_ratio) return drop("digit_ratio");
  if (static_cast<double>(alpha_words) / static_cast<double>(words.size()) < o.min_alpha_words) return drop("alpha_words");

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

  if (const char* const* sw = stop_words(lang); sw && o.min_stop_words > 0) {
    std::unordered_set<std::string> found;
    for (auto w : words) {
      std::string lw = lower_word(w);
      for (const char* const* s = sw; *s; ++s)
        if (lw == *s) {
          found.insert(lw);
          break;
        }
      if (found.size() >= o.min_stop_words) break;
    }
    if (found.size() < o.min_stop_words) return drop("no_stop_words");
  }
  return {};
}

}  // namespace fragua::data
