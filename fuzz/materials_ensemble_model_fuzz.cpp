// SPDX-License-Identifier: Apache-2.0
// The family ensemble file (materials/ensemble_model.cpp, load_family_ensemble): magic,
// JSON header with the calibration and the models' sizes, then a tree-ensemble file, a
// safetensors attention file and, with a third gate, the extremely randomized trees. The loader reads a path, so the bytes go through a temporary file.
#include <cstddef>
#include <cstdint>

#include "fuzz_temp_file.h"
#include "fragua/materials/ensemble_model.h"
#include "fragua/materials/property_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fragua::fuzz::TempFile tmp("fragua-ensemble-fuzz");
  if (!tmp.write(data, size)) return 0;
  (void)fragua::materials::load_family_ensemble(tmp.path());
  return 0;
}
