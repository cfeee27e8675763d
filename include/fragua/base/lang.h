// SPDX-License-Identifier: Apache-2.0
// Language tags as the corpus pipeline writes them: "es", "ca", "eu", "gl", and variants such as
// "ca-valencia" (Valencian, a variant of Catalan).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fragua {

// "ca-valencia" -> "ca"; "es" -> "es".
inline std::string_view base_language(std::string_view tag) { return tag.substr(0, tag.find('-')); }

// Which entry of a language mixture covers `tag`: the entry that names it exactly, else the entry
// that names its base language (so `--mix ca=0.25` covers both "ca" and "ca-valencia" unless
// "ca-valencia" has an entry of its own). Returns -1 when none does.
inline int mixture_entry(std::string_view tag, const std::vector<std::string>& entries) {
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i] == tag) return static_cast<int>(i);
  std::string_view base = base_language(tag);
  if (base.size() == tag.size()) return -1;
  for (size_t i = 0; i < entries.size(); ++i)
    if (entries[i] == base) return static_cast<int>(i);
  return -1;
}

}  // namespace fragua
