// SPDX-License-Identifier: Apache-2.0
// GPT-2's reversible byte-to-Unicode map (Radford et al. 2019, encoder.py's bytes_to_unicode):
// the 188 printable bytes '!'..'~', '¡'..'¬', '®'..'ÿ' stand for themselves, the other 68 bytes
// are shifted to U+0100.. in byte order, so a byte-level vocabulary is made of visible text.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace fragua::tokenize {

struct ByteUnicode {
  std::array<std::string, 256> byte_to_utf8;  // byte -> its UTF-8 stand-in
  std::array<int16_t, 512> cp_to_byte;        // code point (< 512) -> byte, -1 if none
  static const ByteUnicode& get();
  // Encodes raw bytes into the stand-in alphabet.
  std::string encode(std::string_view bytes) const;
  // Inverts encode; a character outside the alphabet is copied through as its UTF-8.
  std::string decode(std::string_view text) const;
};

}  // namespace fragua::tokenize
