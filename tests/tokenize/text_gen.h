// SPDX-License-Identifier: Apache-2.0
// Deterministic pseudo-text for tests: words built from Iberian-looking syllables with accents,
// digits, punctuation and, on request, rare characters (emoji, CJK) that force byte fallback.
#pragma once

#include <random>
#include <string>
#include <vector>

namespace fragua::tokenize::test {

inline std::string make_text(uint32_t seed, size_t n_lines, bool rare) {
  static const std::vector<std::string> syl = {"la",  "de", "que", "el",  "en",  "ción", "ta",  "ri",  "ko",  "tza",
                                               "ba",  "gu", "na",  "ll",  "ny",  "ñe",   "xa",  "ção", "és",  "à",
                                               "ò",   "ü",  "txe", "rre", "mos", "ar",   "ak",  "eta", "ren", "oa",
                                               "ais", "ía", "pro", "es",  "ti",  "men",  "te",  "ge",  "lo",  "cia",
                                               "ze",  "bi", "ho",  "ja",  "uy",  "ción", "dad", "ei",  "ou",  "ña"};
  static const std::vector<std::string> punct = {",", ".", ";", ":", "?", "!", " -", "(", ")", "«", "»", "¿", "¡"};
  static const std::vector<std::string> rares = {"🙂", "漢字", "Ω", "ŋ", "ß", "€", "ﬁ", "Ａ", "½", "\t"};
  std::mt19937 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::string out;
  for (size_t l = 0; l < n_lines; ++l) {
    size_t n_words = 3 + pick(14);
    for (size_t w = 0; w < n_words; ++w) {
      if (w) out += ' ';
      if (pick(23) == 0) {
        out += std::to_string(rng() % 100000);
      } else {
        // Zipf-ish: short common words most of the time.
        size_t n_syl = 1 + pick(pick(4) + 1);
        std::string word;
        for (size_t s = 0; s < n_syl; ++s) word += syl[pick(std::min(syl.size(), size_t{8} + pick(syl.size())))];
        if (pick(9) == 0 && word[0] >= 'a' && word[0] <= 'z') word[0] = static_cast<char>(word[0] - 32);
        out += word;
      }
      if (pick(8) == 0) out += punct[pick(punct.size())];
      if (rare && pick(30) == 0) out += rares[pick(rares.size())];
      if (rare && pick(40) == 0) out += "  ";
    }
    out += '\n';
  }
  return out;
}

}  // namespace fragua::tokenize::test
