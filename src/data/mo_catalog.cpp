// SPDX-License-Identifier: Apache-2.0
// GNU gettext .mo reader (gettext manual, "The Format of GNU MO Files"): magic 0x950412de in the
// file's byte order, revision, N strings, offset of the original-string table, offset of the
// translation table; each table is N (length, offset) pairs. Every offset is checked against
// the file size, so a damaged catalog is an error naming the entry, never a crash.
#include <cstring>

#include "fragua/data/source.h"

namespace fragua::data {

Result<std::vector<MoEntry>> parse_mo(std::string_view d, const std::string& name) {
  if (d.size() < 28) return corruption_error("{}: offset 0: too short for a .mo header ({} bytes)", name, d.size());
  auto u32 = [&d](size_t off, bool swap) {
    uint32_t v;
    std::memcpy(&v, d.data() + off, 4);
    return swap ? __builtin_bswap32(v) : v;
  };
  bool swap = false;
  uint32_t magic = u32(0, false);
  if (magic == 0xde120495u) {
    swap = true;
  } else if (magic != 0x950412deu) {
    return corruption_error("{}: offset 0: bad .mo magic 0x{:08x}", name, magic);
  }
  uint32_t revision = u32(4, swap) >> 16;
  if (revision > 1) return unsupported_error("{}: offset 4: .mo major revision {}", name, revision);
  uint64_t n = u32(8, swap), orig = u32(12, swap), trans = u32(16, swap);
  if (orig + n * 8 > d.size() || trans + n * 8 > d.size())
    return corruption_error("{}: offset 12: string tables ({} entries) run past the end", name, n);
  auto str = [&](uint64_t table, uint64_t i, std::string_view* out) {
    uint64_t len = u32(table + i * 8, swap), off = u32(table + i * 8 + 4, swap);
    if (off + len > d.size()) return false;
    *out = d.substr(off, len);
    return true;
  };
  std::vector<MoEntry> entries;
  entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id, tr;
    if (!str(orig, i, &id) || !str(trans, i, &tr))
      return corruption_error("{}: offset {}: entry {} points past the end", name, orig + i * 8, i);
    if (id.empty()) continue;  // the header entry
    MoEntry e;
    size_t eot = id.find('\x04');  // msgctxt EOT msgid
    if (eot != std::string_view::npos) {
      e.context.assign(id.substr(0, eot));
      id.remove_prefix(eot + 1);
    }
    e.msgid.assign(id.substr(0, id.find('\0')));
    e.msgstr.assign(tr.substr(0, tr.find('\0')));
    entries.push_back(std::move(e));
  }
  return entries;
}

}  // namespace fragua::data
