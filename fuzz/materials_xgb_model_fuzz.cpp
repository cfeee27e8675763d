// SPDX-License-Identifier: Apache-2.0
// The XGBoost property-model file (materials/xgb_model.cpp, Model::load). The loader reads a
// path, so the bytes go through a temporary file.
#include <cstddef>
#include <cstdint>

#include "fuzz_temp_file.h"
#include "fragua/materials/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const fragua::fuzz::TempFile tmp("fragua-xgb-fuzz");
  if (!tmp.write(data, size)) return 0;
  (void)fragua::materials::Model::load(tmp.path());
  return 0;
}
