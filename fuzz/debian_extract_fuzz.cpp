// SPDX-License-Identifier: Apache-2.0
// The Debian extraction helpers that take bytes (data/mo_catalog.cpp, debian_convert.cpp,
// debian_contents.cpp): the first byte picks the helper, the rest is its input.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "fragua/data/debian.h"
#include "fragua/data/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::data;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      (void)parse_mo(in, "fuzz.mo");
      break;
    case 1:
      (void)roff_to_text(in);
      break;
    case 2:
      (void)split_fortunes(in);
      break;
    case 3: {
      std::map<std::string, int> counts;
      scan_contents_lines(in, {"es", "ca", "ca@valencia", "eu", "gl"}, counts);
      (void)contents_urls(in);
      break;
    }
    case 4:
      (void)zlib_inflate(in, "fuzz.bzz", 1 << 20);
      break;
    default: {
      // A SWORD zText module: the input split in three at its first two bytes.
      if (in.size() < 2) break;
      size_t a = std::min<size_t>(static_cast<uint8_t>(in[0]) * 4, in.size() - 2);
      size_t b = std::min<size_t>(static_cast<uint8_t>(in[1]) * 4, in.size() - 2 - a);
      std::string_view rest = in.substr(2);
      (void)read_sword_ztext(rest.substr(0, a), rest.substr(a, b), rest.substr(a + b), "fuzz");
      (void)debian_lang(rest.substr(0, 16));
      break;
    }
  }
  return 0;
}
