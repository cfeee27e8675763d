// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/ascii.h"
#include "fragua/data/clean.h"

#include <utf8proc.h>

#include <cstdlib>
#include <cstring>

#include "fragua/base/utf8.h"

namespace fragua::data {
namespace {

using ascii::is_alpha;
using ascii::is_digit;
bool is_word_byte(char c) { return is_alpha(c) || is_digit(c) || static_cast<unsigned char>(c) >= 0x80; }

// Code points below U+0300 are all NFC_Quick_Check=Yes with combining class 0 (UCD
// DerivedNormalizationProps), so text made only of them is already NFC. Checked against
// utf8proc in the tests.
bool below_combining(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) continue;
    if (c >= 0xCC) return false;  // a lead byte of U+0300 or above
  }
  return true;
}

// printf conversion: %[n$][flags][width][.prec][length]conv (C17 7.21.6.1), or %%.
size_t printf_spec(std::string_view s, size_t i) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '%') return 2;
  size_t k = j;
  while (k < s.size() && is_digit(s[k])) ++k;
  if (k < s.size() && s[k] == '$' && k > j) j = k + 1;
  while (j < s.size() && std::strchr("-+ #0'", s[j]) && s[j]) ++j;
  while (j < s.size() && (is_digit(s[j]) || s[j] == '*')) ++j;
  if (j < s.size() && s[j] == '.') {
    ++j;
    while (j < s.size() && (is_digit(s[j]) || s[j] == '*')) ++j;
  }
  while (j < s.size() && std::strchr("hlLqjzt", s[j]) && s[j]) ++j;
  if (j < s.size() && std::strchr("diouxXeEfFgGaAcspnSCm", s[j]) && s[j]) {
    // "%s" glued to letters ("10%sobre") is rare; a conversion must end the word.
    if (j + 1 < s.size() && is_alpha(s[j + 1])) return 0;
    return j + 1 - i;
  }
  return 0;
}

// {0}, {name}, {1:d}, ${var}, $(var), $var$ as in LibreOffice strings.
size_t brace_spec(std::string_view s, size_t i) {
  size_t j = i;
  char open = s[j];
  if (open == '$') {
    if (j + 1 >= s.size()) return 0;
    if (s[j + 1] == '{' || s[j + 1] == '(') {
      open = s[++j];
    } else {
      size_t k = j + 1;
      while (k < s.size() && (is_alpha(s[k]) || s[k] == '_' || is_digit(s[k]))) ++k;
      return k > j + 1 && k < s.size() && s[k] == '$' ? k + 1 - i : 0;
    }
  }
  char close = open == '{' ? '}' : ')';
  size_t k = j + 1;
  while (k < s.size() && k - j < 40 && (is_alpha(s[k]) || is_digit(s[k]) || s[k] == '_' || s[k] == ':' || s[k] == '.'))
    ++k;
  if (k == j + 1 || k >= s.size() || s[k] != close) return 0;
  if (open == '(' && s[i] != '$') return 0;
  return k + 1 - i;
}

bool is_menu_path_line(std::string_view line) {
  // Segments joined by " > ", " ▸ " or " → ", each of at most four words.
  static constexpr const char* kSeps[] = {" > ", " \xE2\x96\xB8 ", " \xE2\x86\x92 "};
  int seps = 0;
  size_t words = 0, start = 0;
  for (size_t i = 0; i < line.size();) {
    bool sep = false;
    for (const char* s : kSeps) {
      size_t n = std::strlen(s);
      if (line.substr(i, n) == s) {
        ++seps;
        if (words > 4) return false;
        words = 0;
        i += n;
        start = i;
        sep = true;
        break;
      }
    }
    if (sep) continue;
    if (line[i] == ' ' && i > start) ++words;
    ++i;
  }
  return seps >= 1 && words <= 3;
}

}  // namespace

std::string normalize_nfc(std::string_view text) {
  if (below_combining(text)) return std::string(text);
  utf8proc_uint8_t* out = nullptr;
  std::string src = utf8::is_valid(text) ? std::string(text) : utf8::sanitize(text);
  utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(src.data()), static_cast<utf8proc_ssize_t>(src.size()),
                   &out, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) return src;
  std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

std::string strip_software_markup(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    size_t n = 0;
    if (c == '%') {
      n = printf_spec(s, i);
    } else if (c == '{' || c == '$') {
      n = brace_spec(s, i);
    } else if ((c == '&' || c == '_' || c == '~') && i + 1 < s.size() && is_word_byte(s[i + 1])) {
      // Accelerator marker: at a word start ("&File", "_Open"), or inside a word for '~' and
      // before a lower-case letter for '&' ("Fi&le", not "R&D"); '_' inside a word is a name.
      bool word_start = i == 0 || !is_word_byte(s[i - 1]);
      bool inside_ok = c == '~' || (c == '&' && s[i + 1] >= 'a' && s[i + 1] <= 'z');
      if (word_start || inside_ok) {
        ++i;
        continue;
      }
    }
    if (n) {
      i += n;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  // Lines that are only a menu path.
  std::string kept;
  kept.reserve(out.size());
  size_t pos = 0;
  while (pos <= out.size()) {
    size_t nl = out.find('\n', pos);
    size_t end = nl == std::string::npos ? out.size() : nl;
    std::string_view line(out.data() + pos, end - pos);
    if (!is_menu_path_line(line)) {
      kept.append(line);
      if (nl != std::string::npos) kept.push_back('\n');
    }
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return kept;
}

std::string collapse_whitespace(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  int pending_newlines = 0;
  bool pending_space = false;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    bool nbsp =
        static_cast<unsigned char>(c) == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xA0;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v' || nbsp) {
      pending_space = true;
      i += nbsp ? 2 : 1;
      continue;
    }
    if (c == '\n') {
      ++pending_newlines;
      pending_space = false;
      ++i;
      continue;
    }
    if (!out.empty()) {
      if (pending_newlines) {
        out.append(pending_newlines >= 2 ? "\n\n" : "\n");
      } else if (pending_space) {
        out.push_back(' ');
      }
    }
    pending_newlines = 0;
    pending_space = false;
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string clean_text(std::string_view text, const CleanOptions& o) {
  std::string s = o.nfc ? normalize_nfc(text) : std::string(text);
  if (o.software_strings) s = strip_software_markup(s);
  if (o.collapse_whitespace) s = collapse_whitespace(s);
  return s;
}

bool is_untranslated(std::string_view translation, std::string_view original) {
  CleanOptions o;
  o.software_strings = true;
  std::string a = clean_text(translation, o), b = clean_text(original, o);
  bool has_letter = false;
  for (char c : a) has_letter |= is_alpha(c) || static_cast<unsigned char>(c) >= 0x80;
  if (!has_letter) return true;
  auto fold = [](std::string& x) {
    for (char& c : x)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  };
  fold(a);
  fold(b);
  return a == b;
}

}  // namespace fragua::data
