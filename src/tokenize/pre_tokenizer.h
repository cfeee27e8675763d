// SPDX-License-Identifier: Apache-2.0
// Regex pre-tokenizers of byte-level BPE models. Each regex of the list splits every piece left
// by the previous one into its matches and the unmatched gaps between them (llama.cpp's
// unicode_regex_split semantics: a lookahead such as `\s+(?!\S)` sees only the current piece).
// PCRE2 in UTF + UCP mode gives \p{L}, \p{N} and \s their Unicode meaning; JIT-compiled.
// Invalid UTF-8 never matches (PCRE2_MATCH_INVALID_UTF) and so stays in the gaps.
//
// The regexes may come from a downloaded tokenizer.json, so matching runs under a budget
// (pre_tokenizer.cpp): a pattern such as `(a+)+$` that backtracks without end is stopped and
// reported instead of hanging the encoder.
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

  // Calls emit(ctx, piece) for each piece of `text` in order (views into it), without holding
  // them all. strict: a regex that exceeds its budget is a resource_exhausted error naming it.
  // Otherwise the text it could not split stays one piece, so splitting never fails.
  using EmitFn = void (*)(void* ctx, std::string_view piece);
  Status split(std::string_view text, EmitFn emit, void* ctx, bool strict) const;
  // The same, appending the pieces to `out`.
  Status split(std::string_view text, std::vector<std::string_view>& out, bool strict) const;
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
