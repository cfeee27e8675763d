// SPDX-License-Identifier: Apache-2.0
// Template body of for_each_training_word (see training_corpus.h).
#pragma once

#include <utf8proc.h>

#include "fragua/base/utf8.h"

namespace fragua::tokenize {

namespace detail {
// 0: space, 1: letter/mark, 2: digit, 3: other symbol, 4: other whitespace (own word)
inline int char_class(char32_t cp) {
  if (cp == ' ') return 0;
  if (cp == '\n' || cp == '\t' || cp == '\r' || cp == '\v' || cp == '\f') return 4;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return 1;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return 2;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
    case UTF8PROC_CATEGORY_CC:
      return 4;
    default:
      return 3;
  }
}
}  // namespace detail

template <typename Fn>
void for_each_training_word(std::string_view text, bool split_digits, Fn&& fn) {
  static constexpr std::string_view kMarker = "\xE2\x96\x81";
  std::string word;
  int word_class = -1;
  size_t pending_spaces = 0;
  auto flush = [&] {
    if (!word.empty()) fn(std::string_view(word));
    word.clear();
    word_class = -1;
  };
  auto emit_markers = [&](size_t n) {
    if (n == 0) return;
    std::string m;
    for (size_t i = 0; i < n; ++i) m += kMarker;
    fn(std::string_view(m));
  };
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    char32_t cp = utf8::decode(text, pos);
    std::string_view ch = text.substr(start, pos - start);
    int c = detail::char_class(cp);
    if (c == 0) {
      flush();
      ++pending_spaces;
      continue;
    }
    if (c == 4) {
      flush();
      emit_markers(pending_spaces);
      pending_spaces = 0;
      fn(ch);
      continue;
    }
    if (!word.empty() && (c != word_class || (c == 2 && split_digits))) flush();
    if (word.empty()) {
      if (pending_spaces > 0) {
        emit_markers(pending_spaces - 1);
        if (c == 2 && split_digits) {
          emit_markers(1);
        } else {
          word += kMarker;
        }
        pending_spaces = 0;
      }
      word_class = c;
    }
    word += ch;
  }
  flush();
  emit_markers(pending_spaces);
}

}  // namespace fragua::tokenize
