// SPDX-License-Identifier: Apache-2.0
// Test fixture shared by the data tests: a gettext .mo catalog built in memory.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fragua::test {

// A little-endian .mo with the given (msgid, msgstr) pairs, laid out as the gettext manual says.
inline std::string make_mo(const std::vector<std::pair<std::string, std::string>>& pairs) {
  uint32_t n = static_cast<uint32_t>(pairs.size());
  std::string strings;
  uint32_t base = 28 + 16 * n;
  std::vector<uint32_t> ot, tt;
  for (int pass = 0; pass < 2; ++pass)
    for (const auto& p : pairs) {
      const std::string& s = pass == 0 ? p.first : p.second;
      (pass == 0 ? ot : tt).push_back(static_cast<uint32_t>(s.size()));
      (pass == 0 ? ot : tt).push_back(base + static_cast<uint32_t>(strings.size()));
      strings += s;
      strings.push_back('\0');
    }
  std::string out;
  auto put = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  for (uint32_t v : {0x950412deu, 0u, n, 28u, 28 + 8 * n, 0u, 0u}) put(v);
  for (uint32_t v : ot) put(v);
  for (uint32_t v : tt) put(v);
  return out + strings;
}

}  // namespace fragua::test
