// SPDX-License-Identifier: Apache-2.0
// Training a SentencePiece-style BPE tokenizer with byte fallback for a mixture of languages,
// and measuring tokenizers per language.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::tokenize {

// One input: a plain-text file (one document per line) of language `lang`, or a JSONL file
// whose objects carry the text in `text_field` and the language in `lang_field` (`lang` is then
// the fallback for lines without it).
struct TrainInput {
  std::string path;
  std::string lang;
};

// A Hunspell dictionary used as a word-coverage prior: every word it yields (read_hunspell) is
// counted `weight` times, in the units of the mixed corpus counts (1: as if seen once), so that
// inflected forms the corpus lacks still get pieces without outweighing real text.
struct DictionaryInput {
  std::string path;  // the .dic file; the .aff file beside it (same stem) gives the affixes
  double weight = 1.0;
};

// Parses "FILE[:weight]".
Result<DictionaryInput> parse_dictionary_arg(std::string_view arg);

struct HunspellWords {
  std::vector<std::string> words;  // distinct, in dictionary order
  uint64_t stems = 0;
  bool expanded = false;  // false: the .aff was absent or too complex (AF aliases): stems only
};

// The words of a Hunspell dictionary held in memory (hunspell(5)): stems (those carrying the
// NEEDAFFIX flag left out) and one level of prefix/suffix forms with their cross product;
// continuation classes and compounding are not applied. At most max_words words. Errors name
// `name` with .dic/.aff and the line.
Result<HunspellWords> read_hunspell(std::string_view dic, std::string_view aff, const std::string& name,
                                    size_t max_words = 4'000'000);

// Letters and punctuation of Spanish, Catalan/Valencian, Basque and Galician that the trainer
// keeps as single tokens whatever their corpus counts (TrainOptions::required_characters).
const std::vector<std::string>& iberian_required_characters();

struct TrainOptions {
  std::vector<TrainInput> inputs;
  std::string text_field = "text", lang_field = "lang";
  // Language -> share of the training signal ("es=0.3,ca=0.25,eu=0.25,gl=0.2"). Each language's
  // word counts are scaled so that its bytes weigh its share, whatever its corpus size; so a
  // small language is not drowned. Empty: every language as it comes. Languages not listed are
  // left out.
  std::vector<std::pair<std::string, double>> mix;
  int32_t vocab_size = 32000;
  std::vector<std::string> special_tokens;           // reserved control tokens after <unk>, <s>, </s>
  bool split_digits = true;                          // numbers are written digit by digit
  Normalization normalization = Normalization::nfc;  // applied to training text
  double character_coverage = 0.9995;                // rarer characters are left to byte fallback
  // Characters in the alphabet whatever their counts (so each is one token, never byte fallback).
  std::vector<std::string> required_characters = iberian_required_characters();
  std::vector<DictionaryInput> dictionaries;  // word-coverage priors
  int max_piece_chars = 16;
  uint64_t max_input_bytes = 0;           // 0: all input
  size_t max_words_per_lang = 8'000'000;  // distinct words kept in memory per language
  int threads = 0;                        // 0: all cores
  std::string metrics_path;               // JSON-lines progress of the merges, optional
  std::string command_line;               // recorded as provenance
};

// Parses "es=0.3,ca=0.25" (weights are normalized to sum to 1).
Result<std::vector<std::pair<std::string, double>>> parse_mix(std::string_view text);

Result<Tokenizer> train_bpe(const TrainOptions& options);

// Per-language measurements of one tokenizer on one text.
struct TokenStats {
  std::string tokenizer, lang;
  uint64_t bytes = 0, words = 0, tokens = 0, fallback_tokens = 0;
  double fertility() const { return words ? static_cast<double>(tokens) / static_cast<double>(words) : 0; }
  double bytes_per_token() const { return tokens ? static_cast<double>(bytes) / static_cast<double>(tokens) : 0; }
  double fallback_rate() const {
    return tokens ? static_cast<double>(fallback_tokens) / static_cast<double>(tokens) : 0;
  }
};

// Encodes `text` line by line (no BOS). Words are whitespace-separated runs; a fallback token
// is <unk> or a token whose bytes are not whole UTF-8 characters (byte fallback, or a lone byte
// of a byte-level vocabulary).
Result<TokenStats> measure(const Tokenizer& tok, std::string_view text, int threads = 1);

// The side-by-side table: one row per language, a column group per tokenizer.
std::string format_stats_table(const std::vector<TokenStats>& stats);

}  // namespace fragua::tokenize
