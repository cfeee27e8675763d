// SPDX-License-Identifier: Apache-2.0
// Splitting raw text at special tokens written in it (llama.cpp's tokenizer_st_partition order):
// tokens are tried longest text first; each one splits every remaining text fragment at all of
// its non-overlapping occurrences. A token with lstrip/rstrip eats the whitespace beside it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

namespace fragua::tokenize {

struct Fragment {
  int32_t token = -1;  // >= 0: a special token; -1: text
  std::string_view text;
};

struct SpecialMatcher {
  // (id, text, lstrip, rstrip), longest text first.
  struct Entry {
    int32_t id;
    std::string_view text;
    bool lstrip, rstrip;
  };
  std::vector<Entry> entries;
  std::array<std::vector<uint32_t>, 256> by_first_byte;  // entry indices by their first byte
  void build();
  void partition(std::string_view text, bool (*skip)(const void*, int32_t), const void* ctx,
                 std::vector<Fragment>& out) const;
};

}  // namespace fragua::tokenize
