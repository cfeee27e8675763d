// SPDX-License-Identifier: Apache-2.0
// Document quality filters after the Gopher rules (Rae et al. 2021, "Scaling Language Models",
// appendix A.1.1) and FineWeb's additions (Penedo et al. 2024): length, mean word length,
// symbol/digit ratios, bullet and ellipsis lines, repeated lines/paragraphs and n-grams, and the
// presence of the language's stop words. The first failing rule is the recorded reason.
#pragma once

#include <string>
#include <string_view>

namespace fragua::data {

struct QualityOptions {
  size_t min_words = 10, max_words = 100000;
  double min_mean_word_len = 2.5, max_mean_word_len = 12;
  double max_symbol_word_ratio = 0.1;  // '#' and '...' per word
  double max_digit_ratio = 0.25;       // digits / non-space characters
  double max_bullet_lines = 0.9, max_ellipsis_lines = 0.3;
  double min_alpha_words = 0.7;  // words holding a letter
  double max_dup_line_frac = 0.3, max_dup_line_chars = 0.2;
  double max_top_ngram_frac[3] = {0.20, 0.18, 0.16};                    // word 2-, 3-, 4-grams (characters covered)
  double max_dup_ngram_frac[6] = {0.15, 0.14, 0.13, 0.12, 0.11, 0.10};  // word 5..10-grams
  size_t min_stop_words = 2;  // distinct stop words of the document's language
};

// Turns off the Gopher repetition rules (duplicated lines, top 2-4-grams, duplicated 5-10-grams:
// every threshold set to 1, which no fraction exceeds). For sources that repeat by nature, such
// as gettext catalogs (lists of UI strings); YAML `quality: {repetition_rules: false}`.
void disable_repetition_rules(QualityOptions& o);

struct QualityVerdict {
  bool keep = true;
  std::string reason;  // "" when kept; "too_few_words", "dup_line_frac", "no_stop_words", ...
};

// `lang` selects the stop-word list (es, ca, eu, gl, pt, en, fr, it, oc, ast); other
// languages skip that rule.
QualityVerdict check_quality(std::string_view text, std::string_view lang, const QualityOptions& options = {});

}  // namespace fragua::data
