// SPDX-License-Identifier: Apache-2.0
// chrF, BLEU and exact match against sacreBLEU's documented example (its README: BLEU = 48.53
// 82.4/50.0/45.5/37.5, BP = 0.943, ratio = 0.944, hyp_len = 17, ref_len = 18; chrF2 = 59.73) and
// hand-computed vectors; the bootstrap's resampling against values CPython prints. Debian 12 has
// no python3-sacrebleu, so there is no reference script to run.
#include "fragua/eval/text_metrics.h"

#include <cmath>

#include <gtest/gtest.h>

#include "fragua/eval/fewshot.h"

namespace fragua::eval {
namespace {

// sacreBLEU README, "Using the Python API": two reference streams for three hypotheses.
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."};
const std::vector<std::vector<std::string>> kRefs = {{"The dog bit the man.", "The dog had bit the man."},
                                                     {"It was not unexpected.", "No one was surprised."},
                                                     {"The man bit him first.", "The man had bitten the dog."}};

TEST(Bleu, SacrebleuReadmeExample) {
  BleuStats s;
  for (size_t i = 0; i < kHyps.size(); ++i) s += bleu_stats(kHyps[i], kRefs[i]);
  EXPECT_EQ(s.sys_len, 17);
  EXPECT_EQ(s.ref_len, 18);
  // 82.4/50.0/45.5/37.5 = 14/17, 7/14, 5/11, 3/8.
  EXPECT_EQ(s.correct, (std::array<int64_t, 4>{14, 7, 5, 3}));
  EXPECT_EQ(s.total, (std::array<int64_t, 4>{17, 14, 11, 8}));
  EXPECT_NEAR(bleu_score(s), 48.53, 0.005);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs), 48.53, 0.005);
}

TEST(Bleu, ExpSmoothingAndBrevity) {
  // Hypothesis "a b c", reference "a b d e": 1-grams 2/3, 2-grams 1/2, 3-grams 0/1 -> smoothed
  // 100 / (2 * 1) = 50, 4-grams none at all (total 0: the loop stops, precision stays 0, my_log
  // gives -9999999999): the score is 0, as sacreBLEU's corpus BLEU of a 3-word hypothesis.
  const auto s = bleu_stats("a b c", {"a b d e"});
  EXPECT_EQ(s.correct, (std::array<int64_t, 4>{2, 1, 0, 0}));
  EXPECT_EQ(s.total, (std::array<int64_t, 4>{3, 2, 1, 0}));
  EXPECT_EQ(bleu_score(s), 0.0);
  // "a b c d" against "a b c e f": p = 3/4, 2/3, 1/2, then 0/1 smoothed to 100/2 = 50;
  // BP = exp(1 - 5/4). Hand: exp((ln 75 + ln 66.667 + ln 50 + ln 50)/4) * exp(-0.25).
  const auto t = bleu_stats("a b c d", {"a b c e f"});
  const double want = std::exp((std::log(75.0) + std::log(200.0 / 3) + std::log(50.0) + std::log(50.0)) / 4) *
                      std::exp(1 - 5.0 / 4);
  EXPECT_NEAR(bleu_score(t), want, 1e-9);
  // The closest reference length, the shorter one on a tie (|4 - 3| = |4 - 5|).
  EXPECT_EQ(bleu_stats("a b c d", {"x y z w v", "x y z"}).ref_len, 3);
}

TEST(Bleu, Tokenize13a) {
  EXPECT_EQ(tokenize_13a("Hello, world!"), "Hello , world !");
  EXPECT_EQ(tokenize_13a("Pi is 3.14 and 1,000 people."), "Pi is 3.14 and 1,000 people .");
  EXPECT_EQ(tokenize_13a("pages 2-3, well-known"), "pages 2 - 3 , well-known");
  EXPECT_EQ(tokenize_13a("&quot;Hola&quot; (dijo) l'home"), "\" Hola \" ( dijo ) l'home");
  EXPECT_EQ(tokenize_13a("línea\npartida-\nda  <skipped>fin"), "línea partidada fin");
  EXPECT_EQ(tokenize_13a("Etxean.Kalean"), "Etxean . Kalean");
  EXPECT_EQ(tokenize_13a("   "), "");
}

TEST(Chrf, SacrebleuReadmeExample) {
  ChrfStats s;
  for (size_t i = 0; i < kHyps.size(); ++i) s += chrf_stats(kHyps[i], kRefs[i]);
  EXPECT_NEAR(chrf_score(s), 59.73, 0.005);
  EXPECT_NEAR(corpus_chrf(kHyps, kRefs), 59.73, 0.005);
}

TEST(Chrf, HandComputed) {
  // "abc" vs "abd": 1-grams 2/3 both ways, 2-grams 1/2, 3-grams 0/1, orders 4-6 have no n-gram
  // and are not averaged: P = R = (2/3 + 1/2 + 0) / 3 = 7/18, F2 = P.
  EXPECT_NEAR(chrf_score(chrf_stats("abc", {"abd"})), 100.0 * 7 / 18, 1e-9);
  // Whitespace is removed, characters are code points: "a ñ" equals "añ".
  EXPECT_NEAR(chrf_score(chrf_stats("a ñ", {"añ"})), 100.0, 1e-9);
  // The reference with the best sentence chrF is kept.
  const auto s = chrf_stats("gato", {"perro", "gato"});
  EXPECT_EQ(s.v[0], 4);
  EXPECT_EQ(s.v[2], 4);
  EXPECT_EQ(chrf_score(chrf_stats("", {"algo"})), 0.0);
  // Recall weighs 4 times precision: "ab" against "abcd" (P = 1, R = 1/2 and 1/3 over orders
  // 1-2): P = 1, R = 5/12, F2 = 5 * P * R / (4 * P + R).
  const double p = 1, r = (0.5 + 1.0 / 3) / 2;
  EXPECT_NEAR(chrf_score(chrf_stats("ab", {"abcd"})), 100 * 5 * p * r / (4 * p + r), 1e-9);
}

TEST(TextMetrics, ExactMatch) {
  EXPECT_EQ(exact_match("12", "12"), 1.0);
  EXPECT_EQ(exact_match(" 12", "12"), 0.0);  // the harness's default: no stripping
}

TEST(TextMetrics, BootstrapDrawsAsCPython) {
  // random.Random(0).random() twice, and Random(0).choices(range(7), k=10).
  PyRandom r(0);
  EXPECT_DOUBLE_EQ(r.random(), 0.8444218515250481);
  EXPECT_DOUBLE_EQ(r.random(), 0.7579544029403025);
  PyRandom c(0);
  EXPECT_EQ(c.choices(7, 10), (std::vector<size_t>{5, 5, 2, 1, 3, 2, 5, 2, 3, 4}));
  // Identical items: every resample scores the same, so the stderr is 0; distinct items: not.
  std::vector<ChrfStats> same(5, chrf_stats("abc", {"abd"}));
  EXPECT_NEAR(bootstrap_stderr_chrf(same), 0.0, 1e-9);
  std::vector<BleuStats> mixed;
  for (size_t i = 0; i < kHyps.size(); ++i) mixed.push_back(bleu_stats(kHyps[i], kRefs[i]));
  EXPECT_GT(bootstrap_stderr_bleu(mixed), 0.0);
}

}  // namespace
}  // namespace fragua::eval
