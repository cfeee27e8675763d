// SPDX-License-Identifier: Apache-2.0
// The `corpus build` YAML config (data/build_config.cpp) from arbitrary text.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fragua/data/pipeline.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto c = fragua::data::parse_build_config(text, "fuzz.yaml");
  // A config that parses must be usable: its sizes are in range.
  if (c.ok() && c->dedup && (c->dedup_options.bands * c->dedup_options.rows > 1024 || c->dedup_options.memory_mb < 1))
    __builtin_trap();
  return 0;
}
