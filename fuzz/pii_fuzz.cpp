// Fuzzes the PII scanner: matches must lie inside the input, in order, without overlap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fragua/data/pii.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t prev_end = 0;
  for (const auto& m : fragua::data::find_pii(in)) {
    if (m.offset < prev_end || m.length == 0 || m.offset + m.length > size) std::abort();
    prev_end = m.offset + m.length;
  }
  (void)fragua::data::redact_pii(in);
  return 0;
}
