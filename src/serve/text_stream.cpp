// SPDX-License-Identifier: Apache-2.0
#include "fragua/serve/text_stream.h"

#include "fragua/base/utf8.h"
#include "fragua/model/generate.h"

namespace fragua::serve {

std::string TextStream::push(std::string_view piece) {
  if (stopped_) return {};
  pending_.append(piece);
  size_t safe = 0, stop_len = 0;
  if (model::find_stop(pending_, stop_, &safe, &stop_len) != std::string_view::npos) {
    stopped_ = true;
    std::string out = utf8::sanitize(std::string_view(pending_).substr(0, safe));
    pending_.clear();
    return out;
  }
  safe -= utf8::incomplete_suffix(std::string_view(pending_).substr(0, safe));
  // Invalid bytes (not a character still arriving) are replaced: the text goes into JSON.
  std::string out = utf8::sanitize(std::string_view(pending_).substr(0, safe));
  pending_.erase(0, safe);
  return out;
}

std::string TextStream::finish() {
  if (stopped_) return {};
  std::string out = utf8::sanitize(pending_);
  pending_.clear();
  return out;
}

}  // namespace fragua::serve
