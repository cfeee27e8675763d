// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the If-None-Match parser of the chat page (serve/web.h, etag_matches), which
// reads a header any client sends. Input: byte 0 = length n of the entity tag, then the tag
// (n bytes), then the header. What must hold: no crash or sanitizer report; an empty header
// matches nothing; "*" matches everything; and a header that lists the tag after anything else
// matches it (when the tag itself holds no comma, blank or weak prefix to be cut).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "serve/web.h"

namespace {

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t n = data[0] < in.size() ? data[0] : in.size();
  const std::string_view etag = in.substr(0, n), header = in.substr(n);
  using fragua::serve::etag_matches;
  (void)etag_matches(header, etag);
  check(!etag_matches("", etag));
  check(etag_matches("*", etag));
  const bool plain = !etag.empty() && etag.find_first_of(", \t") == std::string_view::npos && !etag.starts_with("W/");
  if (plain) check(etag_matches(std::string(header) + "," + std::string(etag), etag));
  return 0;
}
