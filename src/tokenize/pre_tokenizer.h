// Regex pre-tokenizers of byte-level BPE models. Each regex of the list splits every piece left
// by the previous one into its matches and the unmatched gaps between them (llama.cpp's
// unicode_regex_split semantics: a lookahead such as `\s+(?!\S)` sees only the current piece).
// PCRE2 in UTF + UCP mode gives \p{L}, \p{N} and \s their Unicode meaning; JIT-compiled.
// Invalid UTF-8 never matches (PCRE2_MATCH_INVALID_UTF) and so stays in the gaps.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::tokenize {

class PreTokenizer {
 public:
  static Result<PreTokenizer> create(const std::vector<std::string>& regexes);
  PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Appends the pieces of `text` (views into it) to `out`.
  void split(std::string_view text, std::vector<std::string_view>& out) const;
  bool empty() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The regexes llama.cpp uses for a `tokenizer.ggml.pre` name; unsupported for unknown names.
Result<std::vector<std::string>> pre_tokenizer_regexes(std::string_view pre);
// Extra per-name behaviour (Llama 3 emits a pre-token that is a whole token without merging).
bool pre_ignores_merges(std::string_view pre);

}  // namespace fragua::tokenize
