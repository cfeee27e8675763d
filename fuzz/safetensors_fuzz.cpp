// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the safetensors reader must reject or accept any bytes without reading out
// of bounds; accepted files must have every tensor inside the buffer.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/format/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto f = fragua::format::SafetensorsFile::parse(bytes, "fuzz");
  if (!f.ok()) return 0;
  for (const auto& t : f->tensors()) {
    if (t.data < data || t.data + t.n_bytes > data + size) std::abort();
    volatile uint8_t sink = 0;
    for (uint64_t i = 0; i < t.n_bytes; i += 4096) sink = sink ^ t.data[i];
    (void)sink;
  }
  return 0;
}
