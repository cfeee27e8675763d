// SPDX-License-Identifier: Apache-2.0
// The SWORD zText reader (data/debian_convert.cpp, read_sword_ztext): a module's three files
// from one input. Byte 0 gives the number of 12-byte .bzs block records, byte 1 the number of
// 10-byte .bzv verse records (so that most inputs have whole records and reach the blocks), the
// .bzz data is the rest. Checks what the reader promises of its output: verses are valid UTF-8,
// one line each, neither empty nor padded with spaces.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fragua/base/utf8.h"
#include "fragua/data/debian.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 2, size - 2);
  size_t nbzs = std::min<size_t>(size_t{data[0]} * 12, rest.size());
  std::string_view bzs = rest.substr(0, nbzs);
  rest.remove_prefix(nbzs);
  size_t nbzv = std::min<size_t>(size_t{data[1]} * 10, rest.size());
  std::string_view bzv = rest.substr(0, nbzv);
  std::string_view bzz = rest.substr(nbzv);
  auto verses = fragua::data::read_sword_ztext(bzs, bzz, bzv, "fuzz");
  if (!verses.ok()) return 0;
  for (const std::string& v : *verses) {
    if (v.empty() || v.front() == ' ' || v.back() == ' ' || v.find('\n') != std::string::npos ||
        !fragua::utf8::is_valid(v))
      std::abort();
  }
  return 0;
}
