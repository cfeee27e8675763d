// Language identification with a model of our own: multinomial naive Bayes over hashed byte
// n-grams (1..5) and whole words of lightly normalized text (Cavnar & Trenkle 1994 for n-gram
// profiles; Lui & Baldwin 2012, langid.py, for hashed multinomial NB), refined by a few passes of
// discriminative (averaged perceptron) updates on the training sentences, which separate the
// close pairs es/gl/pt and ca/oc. Catalan's Valencian standard is a class of its own in the
// model and is reported as the variant "ca-valencia" of "ca".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::data {

struct LangGuess {
  std::string lang;       // "es", "ca", "ca-valencia", "eu", ... ("und" for empty text)
  std::string base_lang;  // lang with the variant dropped: "ca" for "ca-valencia"
  double confidence = 0;  // posterior of the winner in [0, 1]
  std::string second;     // runner-up class
};

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
  LangGuess identify(std::string_view text) const;
  // Sentence splitting on . ! ? and line breaks; each sentence identified on its own, the
  // document from all of its features.
  DocumentGuess identify_document(std::string_view text, bool sentences) const;

 private:
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
struct LangIdSplit {
  std::vector<LabeledText> train, heldout;
};
Result<LangIdSplit> prepare_langid_data(const std::vector<std::string>& jsonl_paths, double heldout_fraction);

struct LangIdEval {
  std::vector<std::string> langs;                // base languages, rows/columns of the matrix
  std::vector<std::vector<uint64_t>> confusion;  // [gold][predicted]
  std::vector<double> precision, recall, f1;
  double macro_f1_core = 0;  // over es, ca, eu, gl, pt, en
  uint64_t n = 0;
  double seconds = 0;
  std::vector<std::string> errors;  // the first misclassified sentences
};
// Sentences with at least `min_words` words; variants count as their base language.
LangIdEval evaluate_langid(const LangIdModel& model, const std::vector<LabeledText>& heldout, size_t min_words);
std::string format_langid_eval(const LangIdEval& e);

}  // namespace fragua::data
