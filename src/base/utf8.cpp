// SPDX-License-Identifier: Apache-2.0
#include "fragua/base/utf8.h"

namespace fragua::utf8 {

size_t sequence_length(std::string_view s) {
  if (s.empty()) return 0;
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
  uint8_t c = b(0);
  if (c < 0x80) return 1;
  auto cont = [&](size_t i) { return i < s.size() && (b(i) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

std::optional<size_t> find_invalid(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = sequence_length(s.substr(i));
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

Status validate(std::string_view s, std::string_view where) {
  if (auto bad = find_invalid(s))
    return invalid_argument_error("{}: invalid UTF-8 at byte offset {} (byte 0x{:02X})", where, *bad,
                                  static_cast<uint8_t>(s[*bad]));
  return {};
}

char32_t decode(std::string_view s, size_t& pos) {
  auto rest = s.substr(pos);
  size_t n = sequence_length(rest);
  auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<uint8_t>(rest[i])); };
  switch (n) {
    case 1:
      pos += 1;
      return b(0);
    case 2:
      pos += 2;
      return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3:
      pos += 3;
      return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    case 4:
      pos += 4;
      return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    default:
      pos += 1;
      return 0xFFFD;
  }
}

void append(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode(char32_t cp) {
  std::string s;
  append(s, cp);
  return s;
}

size_t incomplete_suffix(std::string_view s) {
  for (size_t k = 1; k <= 3 && k <= s.size(); ++k) {
    const auto c = static_cast<uint8_t>(s[s.size() - k]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: the lead is further back
    if (c < 0xC2 || c > 0xF4) return 0;  // ASCII, or a byte that never leads a valid sequence
    const size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return need > k ? k : 0;
  }
  return 0;
}

std::string sanitize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    size_t n = sequence_length(s.substr(pos));
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++pos;
    } else {
      out.append(s.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

}  // namespace fragua::utf8

namespace fragua {

std::string terminal_safe(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    const auto c = static_cast<uint8_t>(s[pos]);
    if (c < 0x80) {
      if (keep_newlines && (c == '\n' || c == '\t'))
        out.push_back(static_cast<char>(c));
      else if (c < 0x20 || c == 0x7F)
        out += fmt::format("\\x{:02x}", c);
      else
        out.push_back(static_cast<char>(c));
      ++pos;
      continue;
    }
    const size_t n = utf8::sequence_length(s.substr(pos));
    if (n == 0) {
      out += fmt::format("\\x{:02x}", c);
      ++pos;
    } else if (n == 2 && c == 0xC2 && static_cast<uint8_t>(s[pos + 1]) < 0xA0) {
      out += fmt::format("\\u{{{:02x}}}", static_cast<uint8_t>(s[pos + 1]));  // C2 80..C2 9F encode U+0080..U+009F
      pos += 2;
    } else {
      out.append(s.substr(pos, n));
      pos += n;
    }
  }
  return out;
}

}  // namespace fragua
