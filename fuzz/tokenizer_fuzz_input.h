// SPDX-License-Identifier: Apache-2.0
// Shared by the tokenizer fuzz targets: an input is a text and a tokenizer file, so arbitrary text
// is encoded with arbitrary tokenizers. Layout: 2 bytes (little-endian) = text length n, then n
// bytes of text, then the tokenizer file (as long as the rest of the input, so the file can reach
// the nesting depths of a -max_len of 300000). A short input is all text, with no tokenizer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::fuzz {

struct TokenizerInput {
  std::string_view text, file;
};

inline TokenizerInput split_tokenizer_input(const uint8_t* data, size_t size) {
  std::string_view all(reinterpret_cast<const char*>(data), size);
  if (size < 2) return {all, {}};
  size_t n = static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8;
  if (n > size - 2) n = size - 2;
  return {all.substr(2, n), all.substr(2 + n)};
}

// What must hold for any tokenizer that loaded and any text; a violation traps.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

inline void check_ids(const tokenize::Tokenizer& tok, const std::vector<int32_t>& ids) {
  for (int32_t id : ids) check(id >= 0 && id < tok.n_vocab());
}

// The same vocabulary and the same tokens for `text` (compared where both encodings finished
// within the regex budget, which is a time budget and so may run out in one and not the other).
inline void check_same(const tokenize::Tokenizer& a, const tokenize::Tokenizer& b, std::string_view text) {
  check(a.n_vocab() == b.n_vocab());
  for (int32_t i = 0; i < a.n_vocab(); ++i)
    check(a.token_text(i) == b.token_text(i) && a.token_type(i) == b.token_type(i));
  for (bool special : {false, true}) {
    auto x = a.try_encode(text, special, special), y = b.try_encode(text, special, special);
    if (x.ok() && y.ok()) check(*x == *y);
  }
}

// Encodes and decodes `text` every way, and checks that both files Fragua writes for the
// tokenizer load back to the same tokenizer (issue 12, defect 18).
inline void exercise(const tokenize::Tokenizer& tok, std::string_view text) {
  for (bool add_special : {false, true})
    for (bool parse_special : {false, true}) {
      auto ids = tok.try_encode(text, add_special, parse_special);
      if (!ids.ok()) continue;  // a regex over its budget
      check_ids(tok, *ids);
      (void)tok.decode(*ids, parse_special);
      for (int32_t id : *ids) (void)tok.token_piece(id);
    }
  auto lenient = tok.encode(text, true, true);
  check_ids(tok, lenient);

  auto json = tok.to_hf_json();
  if (json.ok()) {
    auto back = tokenize::Tokenizer::from_hf_json_text(*json, "written.json");
    check(back.ok());
    check_same(tok, *back, text);
  }
  format::GgufWriter w;
  tok.write_gguf_metadata(w);
  std::string bytes = w.to_bytes();
  auto file = format::GgufFile::parse(bytes, "written.gguf");
  check(file.ok());
  auto back = tokenize::Tokenizer::from_gguf(*file);
  check(back.ok());
  check_same(tok, *back, text);
}

}  // namespace fragua::fuzz
