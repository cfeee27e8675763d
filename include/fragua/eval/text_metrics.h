// SPDX-License-Identifier: Apache-2.0
// Scores of generated text against references, as lm-evaluation-harness computes them for
// generate_until tasks (api/metrics.py): exact_match, and corpus-level chrF and BLEU through
// sacreBLEU 2.x with its defaults (metrics/chrf.py, metrics/bleu.py, tokenizers/tokenizer_13a.py):
//
//  - chrF2: character n-grams of orders 1..6 of the text with all whitespace removed (Python's
//    ''.join(s.split())); per sentence, the statistics of the reference with the best sentence
//    chrF; summed over the corpus; precision and recall are averaged over the orders that have
//    n-grams in both hypothesis and reference (sacreBLEU's effective order), then F-beta with
//    beta = 2, times 100;
//  - BLEU: the 13a tokenization (mteval-v13a's), n-grams of orders 1..4 clipped by the maximum
//    count over the references, the closest reference length (the shorter on a tie), summed over
//    the corpus, "exp" smoothing (an order with no match gets 100 / (2^k × total), k counting
//    such orders), the brevity penalty, geometric mean; times 100.
//
// Their standard errors are the harness's bootstrap_stderr with min(bootstrap_iters, 100) = 100
// resamples: random.Random(0), rnd.choices(items, k=n) per resample, sample standard deviation
// of the 100 corpus scores. Characters are Unicode code points, as Python's str counts them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fragua::eval {

// The harness's exact_match with its defaults: 1 when the two strings are equal.
double exact_match(std::string_view prediction, std::string_view reference);

// sacreBLEU's 13a tokenization: tokens joined by single spaces.
std::string tokenize_13a(std::string_view text);

// BLEU statistics of one sentence or a corpus (their sum).
struct BleuStats {
  int64_t sys_len = 0, ref_len = 0;
  std::array<int64_t, 4> correct{}, total{};
  BleuStats& operator+=(const BleuStats& o);
};
BleuStats bleu_stats(std::string_view hypothesis, const std::vector<std::string>& references);
double bleu_score(const BleuStats& stats);  // 0..100

// chrF statistics: for each order 1..6, hypothesis n-grams, reference n-grams, matches.
struct ChrfStats {
  std::array<int64_t, 18> v{};
  ChrfStats& operator+=(const ChrfStats& o);
};
ChrfStats chrf_stats(std::string_view hypothesis, const std::vector<std::string>& references);
double chrf_score(const ChrfStats& stats);  // 0..100

// Corpus scores: references[i] are the references of hypotheses[i].
double corpus_bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references);
double corpus_chrf(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references);

// The harness's bootstrap_stderr for a corpus metric given per-item statistics: 100 resamples
// drawn by random.Random(0).choices, each scored as a corpus.
double bootstrap_stderr_bleu(const std::vector<BleuStats>& items, int iters = 100);
double bootstrap_stderr_chrf(const std::vector<ChrfStats>& items, int iters = 100);

}  // namespace fragua::eval
