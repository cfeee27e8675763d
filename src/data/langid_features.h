// SPDX-License-Identifier: Apache-2.0
// Feature extraction shared by the language-id model and its trainer (internal header).
#pragma once

#include <cstdint>
#include <string_view>

namespace fragua::data::langid_detail {

inline constexpr int kMaxN = 5;
inline constexpr int kStride = 16;  // classes per bucket row, padded: one 16-byte load

// Calls f(bucket) for every feature of `text`: byte n-grams n = 1..5 and whole words of the
// normalized text (ASCII letters lower-cased, Latin-1 capitals in UTF-8 lower-cased, ASCII
// digits/punctuation/space collapsed to one space, text padded with spaces).
template <typename F>
inline void for_each_feature(std::string_view text, int bits, F&& f) {
  const uint64_t kMul = 0x9E3779B97F4A7C15ull;
  const int shift = 64 - bits;
  uint64_t window = ' ';
  int filled = 1;
  uint64_t word = 0xcbf29ce484222325ull;
  int word_len = 0;
  unsigned char prev_raw = 0;
  auto push = [&](unsigned char c) {
    if (c == ' ' && (window & 0xff) == ' ') return;  // collapse
    window = (window << 8) | c;
    if (filled < kMaxN) ++filled;
    for (int n = 1; n <= filled; ++n) {
      uint64_t key = (n == 8 ? window : (window & ((uint64_t{1} << (8 * n)) - 1))) ^ (uint64_t(n) << 56);
      f(static_cast<uint32_t>((key * kMul) >> shift));
    }
    if (c == ' ') {
      if (word_len > 0 && word_len <= 24) f(static_cast<uint32_t>(((word ^ 0x5bd1e995ull) * kMul) >> shift));
      word = 0xcbf29ce484222325ull;
      word_len = 0;
    } else {
      word = (word ^ c) * 0x100000001b3ull;
      ++word_len;
    }
  };
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c >= 'A' && c <= 'Z')
        c = static_cast<unsigned char>(c + 32);
      else if (!(c >= 'a' && c <= 'z'))
        c = ' ';
    } else if (prev_raw == 0xC3 && c >= 0x80 && c <= 0x9E && c != 0x97) {
      c = static_cast<unsigned char>(c + 0x20);  // U+00C0..U+00DE -> U+00E0..U+00FE
    }
    prev_raw = static_cast<unsigned char>(text[i]);
    push(c);
  }
  push(' ');
}

}  // namespace fragua::data::langid_detail
