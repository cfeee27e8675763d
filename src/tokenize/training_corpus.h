// SPDX-License-Identifier: Apache-2.0
// Reading a training corpus into weighted word counts: the trainer never holds the text, only
// its distinct words, which bounds memory by vocabulary rather than corpus size.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <xxhash.h>

#include "fragua/tokenize/trainer.h"

namespace fragua::tokenize {

struct WordHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return XXH3_64bits(s.data(), s.size()); }
};
using WordMap = std::unordered_map<std::string, uint64_t, WordHash, std::equal_to<>>;

struct LangCounts {
  WordMap words;
  uint64_t bytes = 0, docs = 0;
};

// Cuts normalized text into training words: a word is a run of one character class (letters
// with marks, digits, other symbols); a space becomes U+2581 at the front of the next word;
// runs of spaces keep all but the last as a word of markers; other whitespace (newline, tab)
// is a word of its own; with split_digits every digit is a word and a space before a digit is
// a lone marker. fn(word) is called with each word (a view into a scratch buffer).
template <typename Fn>
void for_each_training_word(std::string_view text, bool split_digits, Fn&& fn);

Result<std::map<std::string, LangCounts>> count_corpus(const TrainOptions& options);

}  // namespace fragua::tokenize

#include "tokenize/training_words.inl"
