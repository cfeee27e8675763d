// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the GGUF reader must reject any malformed input with an Error, never crash
// or read out of bounds (ASan). A parsed file's tensors are read end to end.
#include <cstdint>
#include <string_view>

#include "fragua/format/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = fragua::format::GgufFile::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!f.ok()) return 0;
  volatile uint8_t sink = 0;
  for (const auto& t : f->tensors())
    for (uint64_t i = 0; i < t.n_bytes; i += 64) sink = sink ^ t.data[i];
  for (const auto& kv : f->metadata()) (void)kv.value.to_string();
  return 0;
}
