// SPDX-License-Identifier: Apache-2.0
// The Hunspell dictionary reader of the tokenizer trainer: the input is an .aff file, a NUL byte,
// then a .dic file (no NUL: the whole input is the .dic). Checks the word cap and that every word
// is non-empty valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/base/utf8.h"
#include "fragua/tokenize/trainer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nul = in.find('\0');
  std::string_view aff = nul == std::string_view::npos ? std::string_view() : in.substr(0, nul);
  std::string_view dic = nul == std::string_view::npos ? in : in.substr(nul + 1);
  auto r = fragua::tokenize::read_hunspell(dic, aff, "fuzz", 5000);
  if (!r.ok()) return 0;
  if (r->words.size() > 5000) std::abort();
  for (const auto& w : r->words)
    if (w.empty() || !fragua::utf8::is_valid(w)) std::abort();
  return 0;
}
