// SPDX-License-Identifier: Apache-2.0
// Language identification with a model of our own: multinomial naive Bayes over hashed byte
// n-grams (1..5) and whole words of lightly normalized text (Cavnar & Trenkle 1994 for n-gram
// profiles; Lui & Baldwin 2012, langid.py, for hashed multinomial NB), refined by a few passes of
// discriminative (averaged perceptron) updates on the training sentences, which separate the
// close pairs es/gl/pt and ca/oc. Catalan's Valencian standard is a class of its own in the
// model and is reported as the variant "ca-valencia" of "ca".
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::data {

struct LangGuess {
  // "es", "ca", "ca-valencia", "eu", ...; "und" for empty text, and for text the model cannot
  // place: the calibrated confidence of its best class is below the model's unknown_below
  // ("Hello world" is too short to tell English from Italian). `best` keeps that class.
  std::string lang;
  std::string base_lang;  // lang with the variant dropped: "ca" for "ca-valencia"
  double confidence = 0;  // calibrated posterior of the best base language, in [0, 1]
  std::string second;     // runner-up class
  std::string best;       // the best class even when lang is "und" ("" for empty text)
};

// One length bucket of the calibration: texts of up to max_words words (0: any longer text)
// have their temperature multiplied by scale.
struct LangIdLengthBucket {
  uint32_t max_words = 0;
  double scale = 1;
};

// Calibration of the posterior: naive Bayes treats overlapping n-grams as independent evidence,
// so its log-likelihoods are divided by a temperature that grows with the number of features,
// T = (t0 + t_per_feature * n) * s_b (temperature scaling, Guo et al. 2017, with the temperature
// a function of the length), where s_b is the scale of the text's length bucket in words: one
// global fit is dominated by long sentences and is over-confident on two-word lines. All fitted
// on unseen documents by fit_langid_calibration.
struct LangIdCalibration {
  double t0 = 1.0, t_per_feature = 1.0 / 16;
  double unknown_below = 0.5;  // calibrated confidence under which the answer is "und"
  // Ascending max_words, the last one 0 (open-ended); empty: every scale is 1 (models written
  // before format version 2).
  std::vector<LangIdLengthBucket> buckets;
  double scale_for(size_t words) const;
};
// The bucket bounds fit_langid_calibration fits: 1, 2, 3, 4, 5-7, 8-12, 13+ words.
std::vector<LangIdLengthBucket> default_langid_length_buckets();
// Words as the calibration counts them: runs of letters (ASCII letters or any non-ASCII byte).
// A text with none ("12345", "--") is answered "und" with confidence 0.
size_t count_langid_words(std::string_view text);

struct SentenceGuess {
  size_t offset = 0, length = 0;  // bytes of the sentence in the document
  LangGuess guess;
};

struct DocumentGuess {
  LangGuess guess;                       // over the whole document
  std::vector<SentenceGuess> sentences;  // when asked for
};

struct LabeledText {
  std::string text, lang;
  std::string domain;  // "catalog", "help", "bible", "fortune", ... (the corpus record's kind)
};

struct LangIdTrainOptions {
  int n_buckets_log2 = 18;
  double alpha = 0.05;  // additive smoothing of the n-gram counts
  int perceptron_epochs = 3;
  // Label noise (English left untranslated inside a Spanish help page): train, drop training
  // sentences of 3+ words the model confidently assigns to another language, train again.
  int clean_passes = 1;
  double clean_confidence = 0.9;
  uint64_t seed = 1;
  std::string provenance;  // recorded in the model file
};

class LangIdModel {
 public:
  LangIdModel();
  ~LangIdModel();
  LangIdModel(LangIdModel&&) noexcept;
  LangIdModel& operator=(LangIdModel&&) noexcept;

  static Result<LangIdModel> train(const std::vector<LabeledText>& data, const LangIdTrainOptions& options);
  static Result<LangIdModel> load(const std::string& path);
  static Result<LangIdModel> from_bytes(std::string_view bytes, const std::string& name);
  // The model shipped in data/langid/ (source tree), or $FRAGUA_LANGID_MODEL.
  static Result<LangIdModel> load_default();
  Status save(const std::string& path) const;
  std::string to_bytes() const;

  const std::vector<std::string>& languages() const;
  const LangIdCalibration& calibration() const;
  void set_calibration(const LangIdCalibration& c);
  // Text is brought to Unicode NFC first (decomposed "è" and composed "è" read the same).
  LangGuess identify(std::string_view text) const;
  // Sentence splitting on . ! ? and line breaks; each sentence identified on its own, the
  // document from all of its features.
  DocumentGuess identify_document(std::string_view text, bool sentences) const;

 private:
  friend LangIdCalibration fit_langid_calibration(const LangIdModel& model, const std::vector<LabeledText>& heldout);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Splits text into sentences: byte ranges ending at '.', '!', '?', '…' followed by white space,
// or at a line break.
std::vector<std::pair<size_t, size_t>> split_sentences(std::string_view text);
size_t count_words(std::string_view text);

}  // namespace fragua::data

namespace fragua::data {

// Training and evaluation material from corpus JSONL files (fields text, lang, path/id): the
// documents are cut into sentences; a sentence found in more than one language (English left
// untranslated in a help page, product names) is dropped, and so are manual pages (they keep
// English paragraphs and code); documents are held out whole, by a
// hash of their path with the language directory masked, so the held-out sentences of every
// language come from pages the model never saw in any language.
// A second slice of documents of the same size, `calibration`, is held out for
// fit_langid_calibration, so that the held-out evaluation never sees documents the calibration
// was fitted on.
struct LangIdSplit {
  std::vector<LabeledText> train, heldout, calibration;
};
Result<LangIdSplit> prepare_langid_data(const std::vector<std::string>& jsonl_paths, double heldout_fraction);

// Expected calibration error (Naeini et al. 2015): predictions binned by confidence into `bins`
// equal-width bins, the bins' |accuracy - mean confidence| averaged weighted by their sizes.
double expected_calibration_error(const std::vector<std::pair<double, bool>>& confidence_correct, int bins = 10);

// Fits t0 and t_per_feature by minimizing the negative log-likelihood of the gold base language
// on `heldout` (sentences of any length), then each length bucket's scale by the same criterion
// on that bucket's sentences alone, plus, for the buckets of 1-4 words, runs of 1-4 consecutive
// words cut from every fourth sentence of 5+ words (a bucket with fewer than 30 sentences of its
// own keeps scale 1); keeps unknown_below. Sentences whose language is not a class of the model
// are skipped.
LangIdCalibration fit_langid_calibration(const LangIdModel& model, const std::vector<LabeledText>& heldout);

struct LangIdEval {
  std::vector<std::string> langs;                // base languages, rows/columns of the matrix
  std::vector<std::vector<uint64_t>> confusion;  // [gold][predicted]
  std::vector<double> precision, recall, f1;
  double macro_f1_core = 0;  // over es, ca, eu, gl, pt, en
  uint64_t n = 0;
  double seconds = 0;
  std::vector<std::string> errors;  // the first misclassified sentences
  // Over all held-out sentences of 1-4 words (whatever min_words): expected calibration error
  // of the best class's confidence, and the share answered "und".
  double ece_short = 0, unknown_short = 0;
  uint64_t n_short = 0;
  // The same per word count: [0] one word ... [3] four words.
  double ece_by_words[4] = {};
  uint64_t n_by_words[4] = {};
  // Accuracy (base language) per domain of the sentences counted in the matrix.
  std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> domain_correct_total;
};
// Sentences with at least `min_words` words; variants count as their base language.
LangIdEval evaluate_langid(const LangIdModel& model, const std::vector<LabeledText>& heldout, size_t min_words);
std::string format_langid_eval(const LangIdEval& e);

}  // namespace fragua::data
