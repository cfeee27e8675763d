// SPDX-License-Identifier: Apache-2.0
// The text of one choice as its tokens arrive. Two things are held back from the client until
// they are settled: a tail that may be the start of a stop string (model::find_stop, so that no
// part of a stop string is ever sent, even when it spans tokens), and the bytes of a UTF-8
// character that a token ended in the middle of (byte-fallback tokens split characters; JSON can
// only carry whole ones).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace fragua::serve {

class TextStream {
 public:
  explicit TextStream(std::vector<std::string> stop = {}) : stop_(std::move(stop)) {}

  // Adds a token's piece; returns the text that became final (often empty). Once a stop string
  // is found, the text before it is returned, stopped() turns true and later pieces are ignored.
  std::string push(std::string_view piece);
  // End of the generation: what is still held (a character left incomplete becomes U+FFFD).
  std::string finish();
  bool stopped() const { return stopped_; }
  // Bytes held back so far.
  size_t held() const { return pending_.size(); }

 private:
  std::vector<std::string> stop_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace fragua::serve
