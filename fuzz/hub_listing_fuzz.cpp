// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the hub's API listing (a mirror's answer is untrusted) must be accepted or
// rejected with an error, and an accepted listing must only name paths inside the snapshot and
// carry well-formed hashes, since those become file names in the cache. A selection completes the
// parts of split GGUFs (gguf-split names) from the listing or fails; a split name read back from
// its parts formats to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/model/hub.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto split = fragua::format::parse_gguf_split_name(text)) {
    if (split->no < 1 || split->no > split->count) std::abort();
    if (fragua::format::gguf_split_path(split->prefix, split->no, split->count) != text) std::abort();
  }
  auto l = fragua::model::parse_hub_listing(text, "fuzz");
  if (!l.ok()) return 0;
  if (auto picked = fragua::model::select_hub_files("org/fuzz", *l, {"*.gguf"}); picked.ok()) {
    for (const auto& name : *picked) {
      auto split = fragua::format::parse_gguf_split_name(name);
      if (!split) continue;
      for (int k = 1; k <= split->count; ++k) {  // every sibling selected
        const std::string part = fragua::format::gguf_split_path(split->prefix, k, split->count);
        bool found = false;
        for (const auto& n : *picked) found = found || n == part;
        if (!found) std::abort();
      }
    }
  }
  if (l->commit.size() != 40) std::abort();
  for (const auto& f : l->files) {
    if (f.name.empty() || f.name.front() == '/' || f.name.back() == '/') std::abort();
    for (size_t start = 0; start <= f.name.size();) {  // every component a real name
      size_t end = f.name.find('/', start);
      if (end == std::string::npos) end = f.name.size();
      const std::string_view part = std::string_view(f.name).substr(start, end - start);
      if (part.empty() || part == "." || part == "..") std::abort();
      start = end + 1;
    }
    for (char c : f.name)
      if (static_cast<unsigned char>(c) < 0x20 || c == '\\') std::abort();
    if (!f.sha256.empty() && f.sha256.size() != 64) std::abort();
    if (f.size < -1) std::abort();
    (void)fragua::model::hub_glob_match("*.gguf", f.name);
  }
  return 0;
}
