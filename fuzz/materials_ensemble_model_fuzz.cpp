// SPDX-License-Identifier: Apache-2.0
// The two-family ensemble file (materials/ensemble_model.cpp, load_family_ensemble): magic,
// JSON header with the calibration and the two models' sizes, then a tree-ensemble file and a
// safetensors attention file. The loader reads a path, so the bytes go through a temporary file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fragua/materials/ensemble_model.h"
#include "fragua/materials/property_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/fragua-ensemble-fuzz-" + std::to_string(::getpid()) + ".model";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  (void)fragua::materials::load_family_ensemble(path);
  return 0;
}
