// SPDX-License-Identifier: Apache-2.0
// Fuzzes every corpus source parser: the first byte picks the format, the rest is the input.
#include <cstddef>
#include <cstdint>

#include "fragua/data/source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::data;
  if (size == 0) return 0;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  SourceStats stats;
  size_t total = 0;
  DocumentSink sink = [&total](Document&& d) { total += d.text.size(); };
  switch (data[0] % 5) {
    case 0:
      parse_text(in, "fuzz", sink, stats);
      break;
    case 1:
      parse_jsonl(in, "fuzz", sink, stats);
      break;
    case 2:
      parse_html(in, "fuzz", sink, stats);
      break;
    case 3:
      parse_warc(in, "fuzz", sink, stats);
      break;
    case 4:
      (void)parse_mo(in, "fuzz");
      break;
  }
  return 0;
}
