// SPDX-License-Identifier: Apache-2.0
// Visible text of HTML/XML. A forgiving tokenizer, not a validating parser: it walks tags and
// text; elements whose content is never body text (script, style, head, nav, header, footer,
// aside...) are skipped with their content; block-level elements become line breaks; character
// references are decoded (HTML Living Standard, "Named character references" for the subset
// that occurs in our languages' text).
#include <cstring>

#include "fragua/base/ascii.h"
#include "fragua/base/utf8.h"
#include "fragua/data/source.h"

namespace fragua::data {
namespace {

struct Entity {
  const char* name;
  char32_t cp;
};
constexpr Entity kEntities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},     {"apos", '\''},    {"nbsp", 0xA0},
    {"iexcl", 0xA1},   {"cent", 0xA2},    {"pound", 0xA3},   {"euro", 0x20AC},  {"yen", 0xA5},     {"sect", 0xA7},
    {"copy", 0xA9},    {"ordf", 0xAA},    {"laquo", 0xAB},   {"reg", 0xAE},     {"deg", 0xB0},     {"plusmn", 0xB1},
    {"middot", 0xB7},  {"ordm", 0xBA},    {"raquo", 0xBB},   {"iquest", 0xBF},  {"times", 0xD7},   {"divide", 0xF7},
    {"Agrave", 0xC0},  {"Aacute", 0xC1},  {"Acirc", 0xC2},   {"Atilde", 0xC3},  {"Auml", 0xC4},    {"Ccedil", 0xC7},
    {"Egrave", 0xC8},  {"Eacute", 0xC9},  {"Ecirc", 0xCA},   {"Euml", 0xCB},    {"Igrave", 0xCC},  {"Iacute", 0xCD},
    {"Icirc", 0xCE},   {"Iuml", 0xCF},    {"Ntilde", 0xD1},  {"Ograve", 0xD2},  {"Oacute", 0xD3},  {"Ocirc", 0xD4},
    {"Otilde", 0xD5},  {"Ouml", 0xD6},    {"Ugrave", 0xD9},  {"Uacute", 0xDA},  {"Ucirc", 0xDB},   {"Uuml", 0xDC},
    {"agrave", 0xE0},  {"aacute", 0xE1},  {"acirc", 0xE2},   {"atilde", 0xE3},  {"auml", 0xE4},    {"ccedil", 0xE7},
    {"egrave", 0xE8},  {"eacute", 0xE9},  {"ecirc", 0xEA},   {"euml", 0xEB},    {"igrave", 0xEC},  {"iacute", 0xED},
    {"icirc", 0xEE},   {"iuml", 0xEF},    {"ntilde", 0xF1},  {"ograve", 0xF2},  {"oacute", 0xF3},  {"ocirc", 0xF4},
    {"otilde", 0xF5},  {"ouml", 0xF6},    {"ugrave", 0xF9},  {"uacute", 0xFA},  {"ucirc", 0xFB},   {"uuml", 0xFC},
    {"szlig", 0xDF},   {"oelig", 0x153},  {"OElig", 0x152},  {"ndash", 0x2013}, {"mdash", 0x2014}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"sbquo", 0x201A}, {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"bdquo", 0x201E}, {"hellip", 0x2026},
    {"bull", 0x2022},  {"trade", 0x2122}, {"larr", 0x2190},  {"rarr", 0x2192},  {"shy", 0xAD},     {"thinsp", 0x2009},
    {"ensp", 0x2002},  {"emsp", 0x2003},  {"zwnj", 0x200C},  {"zwj", 0x200D},   {"para", 0xB6},    {"micro", 0xB5},
    {"acute", 0xB4},   {"cedil", 0xB8},
};

using ascii::is_alnum;

// Decodes the reference at s[i] == '&'; returns bytes consumed (0: not a reference).
size_t decode_one(std::string_view s, size_t i, std::string& out) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    ++j;
    bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
    if (hex) ++j;
    uint32_t cp = 0;
    size_t digits = 0;
    while (j < s.size() && digits < 8) {
      char c = s[j];
      int v = c >= '0' && c <= '9'          ? c - '0'
              : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                            : -1;
      if (v < 0) break;
      cp = cp * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      ++digits;
      ++j;
    }
    if (digits == 0) return 0;
    if (j < s.size() && s[j] == ';') ++j;
    // Invalid code points become U+FFFD, as the standard's "numeric character reference end state".
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    utf8::append(out, static_cast<char32_t>(cp));
    return j - i;
  }
  size_t k = j;
  while (k < s.size() && k - j < 10 && is_alnum(s[k])) ++k;
  if (k == j || k >= s.size() || s[k] != ';') return 0;
  std::string_view name = s.substr(j, k - j);
  for (const auto& e : kEntities) {
    if (name == e.name) {
      utf8::append(out, e.cp == 0xA0 ? U' ' : e.cp);
      return k + 1 - i;
    }
  }
  return 0;
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

bool name_is(std::string_view name, const char* const* list) {
  for (; *list; ++list)
    if (name == *list) return true;
  return false;
}

constexpr const char* kSkip[] = {"script",   "style", "head",   "nav",    "header", "footer", "aside", "noscript",
                                 "template", "svg",   "button", "select", "iframe", "object", "math",  nullptr};
constexpr const char* kBlock[] = {
    "p",         "div",       "br",      "li",         "ul",         "ol",   "h1",   "h2",
    "h3",        "h4",        "h5",      "h6",         "tr",         "td",   "th",   "table",
    "section",   "article",   "title",   "pre",        "blockquote", "dd",   "dt",   "dl",
    "hr",        "paragraph", "caption", "figcaption", "main",       "body", "html", "bookmark_value",
    "tablecell", "listitem",  nullptr};

}  // namespace

std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      size_t n = decode_one(s, i, out);
      if (n) {
        i += n;
        continue;
      }
    }
    out.push_back(s[i++]);
  }
  return out;
}

std::string html_to_text(std::string_view s) {
  std::string out;
  out.reserve(s.size() / 2);
  std::string skip_until;  // name of the element whose content is being skipped
  int skip_depth = 0;
  size_t i = 0;
  auto newline = [&out] {
    if (!out.empty() && out.back() != '\n') out.push_back('\n');
  };
  while (i < s.size()) {
    char c = s[i];
    if (c != '<') {
      size_t lt = s.find('<', i);
      if (lt == std::string_view::npos) lt = s.size();
      if (skip_depth == 0) out += decode_entities(s.substr(i, lt - i));
      i = lt;
      continue;
    }
    if (s.substr(i, 4) == "<!--") {
      size_t e = s.find("-->", i + 4);
      i = e == std::string_view::npos ? s.size() : e + 3;
      continue;
    }
    if (s.substr(i, 9) == "<![CDATA[") {
      size_t e = s.find("]]>", i + 9);
      size_t end = e == std::string_view::npos ? s.size() : e;
      if (skip_depth == 0) out.append(s.substr(i + 9, end - i - 9));
      i = e == std::string_view::npos ? s.size() : e + 3;
      continue;
    }
    if (i + 1 < s.size() && (s[i + 1] == '!' || s[i + 1] == '?')) {
      size_t e = s.find('>', i);
      i = e == std::string_view::npos ? s.size() : e + 1;
      continue;
    }
    // A tag: <name ...>, </name>, <name/>; attribute values may hold '>' inside quotes.
    size_t j = i + 1;
    bool closing = j < s.size() && s[j] == '/';
    if (closing) ++j;
    size_t name_start = j;
    while (j < s.size() && (is_alnum(s[j]) || s[j] == '_' || s[j] == '-' || s[j] == ':')) ++j;
    if (j == name_start) {  // a lone '<' in text
      if (skip_depth == 0) out.push_back('<');
      ++i;
      continue;
    }
    std::string name(s.substr(name_start, j - name_start));
    for (char& ch : name) ch = lower(ch);
    char quote = 0;
    bool self_closing = false;
    while (j < s.size()) {
      char ch = s[j];
      if (quote) {
        if (ch == quote) quote = 0;
      } else if (ch == '"' || ch == '\'') {
        quote = ch;
      } else if (ch == '>') {
        self_closing = j > 0 && s[j - 1] == '/';
        break;
      }
      ++j;
    }
    i = j < s.size() ? j + 1 : s.size();
    if (skip_depth > 0) {
      if (name == skip_until) skip_depth += closing ? -1 : (self_closing ? 0 : 1);
      continue;
    }
    if (!closing && !self_closing && name_is(name, kSkip)) {
      skip_until = name;
      skip_depth = 1;
      continue;
    }
    if (name_is(name, kBlock)) newline();
  }
  return out;
}

void parse_html(std::string_view data, const std::string& name, const DocumentSink& sink, SourceStats& stats) {
  if (auto bad = utf8::find_invalid(data)) {
    // Legacy-encoded or damaged pages: keep the valid text, say where it broke.
    stats.warn(fmt::format("{}: offset {}: invalid UTF-8, bytes replaced", name, *bad));
    ++stats.bad_records;
    stats.bad_bytes += 1;
  }
  std::string text = html_to_text(utf8::is_valid(data) ? data : std::string_view(utf8::sanitize(data)));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return;
  Document d;
  d.text = std::move(text);
  d.id = name;
  d.source = name;
  stats.documents++;
  stats.bytes += d.text.size();
  sink(std::move(d));
}

}  // namespace fragua::data
