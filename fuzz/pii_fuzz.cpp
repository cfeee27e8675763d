// SPDX-License-Identifier: Apache-2.0
// Fuzzes the PII scanner: matches must lie inside the input, in order, without overlap; and the
// streaming redactor (PiiStream, what `fragua serve` runs on answers) must give the whole-text
// redaction however the text is cut into pieces (the cut sizes come from the input's first byte).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fragua/data/pii.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t prev_end = 0;
  for (const auto& m : fragua::data::find_pii(in)) {
    if (m.offset < prev_end || m.length == 0 || m.offset + m.length > size) std::abort();
    prev_end = m.offset + m.length;
  }
  const fragua::data::RedactResult whole = fragua::data::redact_pii(in);

  if (size == 0) return 0;
  uint32_t state = data[0] | 1u;
  std::string_view text = in.substr(1);
  fragua::data::PiiStream stream;
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    state = state * 1103515245u + 12345u;  // cut sizes 1..16
    const size_t n = std::min<size_t>(text.size() - pos, 1 + (state >> 16) % 16);
    out += stream.push(text.substr(pos, n));
    if (stream.held() > 2 * fragua::data::kPiiMaxLookahead + 16) std::abort();
    pos += n;
  }
  out += stream.finish();
  if (stream.inexact_cuts() == 0) {
    const fragua::data::RedactResult want = fragua::data::redact_pii(text);
    if (out != want.text || stream.total() != want.total()) std::abort();
  }
  (void)whole;
  return 0;
}
