// SPDX-License-Identifier: Apache-2.0
#include "tokenize/special_tokens.h"

#include <cctype>

namespace fragua::tokenize {

namespace {
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
}  // namespace

void SpecialMatcher::build() {
  for (auto& v : by_first_byte) v.clear();
  for (size_t k = 0; k < entries.size(); ++k)
    if (!entries[k].text.empty())
      by_first_byte[static_cast<uint8_t>(entries[k].text[0])].push_back(static_cast<uint32_t>(k));
}

void SpecialMatcher::partition(std::string_view text, bool (*skip)(const void*, int32_t), const void* ctx,
                               std::vector<Fragment>& out) const {
  out.clear();
  if (text.empty()) return;
  out.push_back({-1, text});
  // One scan finds which tokens occur at all, so the per-token passes below (whose order gives
  // llama.cpp's precedence) only run for those.
  std::vector<uint8_t> present(entries.size(), 0);
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    for (uint32_t k : by_first_byte[static_cast<uint8_t>(text[i])]) {
      if (present[k]) continue;
      const Entry& e = entries[k];
      if (text.compare(i, e.text.size(), e.text) == 0 && !(skip && skip(ctx, e.id))) present[k] = any = true;
    }
  }
  if (!any) return;
  std::vector<Fragment> next;
  for (size_t k = 0; k < entries.size(); ++k) {
    if (!present[k]) continue;
    const Entry& e = entries[k];
    next.clear();
    for (const Fragment& f : out) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      for (;;) {
        size_t at = rest.find(e.text);
        if (at == std::string_view::npos) {
          if (!rest.empty()) next.push_back({-1, rest});
          break;
        }
        std::string_view left = rest.substr(0, at);
        if (e.lstrip)
          while (!left.empty() && is_space(left.back())) left.remove_suffix(1);
        if (!left.empty()) next.push_back({-1, left});
        next.push_back({e.id, e.text});
        rest = rest.substr(at + e.text.size());
        if (e.rstrip)
          while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
      }
    }
    out.swap(next);
  }
}

}  // namespace fragua::tokenize
