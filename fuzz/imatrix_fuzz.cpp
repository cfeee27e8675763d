// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: llama.cpp's imatrix.dat reader (model::parse_imatrix), which `fragua quantize
// --imatrix` runs on a downloaded file. What must hold: no crash or out-of-bounds read; an accepted
// file holds only finite, non-negative values, and an error names the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/model/quantize.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto m = fragua::model::parse_imatrix(bytes, "fuzz.dat");
  if (!m.ok()) {
    if (m.error().message().find("fuzz.dat") == std::string::npos) __builtin_trap();
    return 0;
  }
  for (const auto& [name, values] : *m)
    for (float v : values)
      if (!std::isfinite(v) || v < 0) __builtin_trap();
  return 0;
}
