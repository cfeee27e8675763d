// SPDX-License-Identifier: Apache-2.0
#include "tokenize/byte_unicode.h"

#include "fragua/base/utf8.h"

namespace fragua::tokenize {

namespace {
bool printable(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }
}  // namespace

const ByteUnicode& ByteUnicode::get() {
  static const ByteUnicode table = [] {
    ByteUnicode t;
    t.cp_to_byte.fill(-1);
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted++);
      t.byte_to_utf8[static_cast<size_t>(b)] = utf8::encode(cp);
      t.cp_to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return table;
}

std::string ByteUnicode::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out += byte_to_utf8[c];
  return out;
}

std::string ByteUnicode::decode(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t start = pos;
    char32_t cp = utf8::decode(text, pos);
    if (cp < cp_to_byte.size() && cp_to_byte[cp] >= 0 && pos - start == utf8::encode(cp).size())
      out.push_back(static_cast<char>(cp_to_byte[cp]));
    else
      out.append(text.substr(start, pos - start));
  }
  return out;
}

}  // namespace fragua::tokenize
