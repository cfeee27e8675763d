// SPDX-License-Identifier: Apache-2.0
// The XGBoost property-model file (materials/xgb_model.cpp, Model::load). The loader reads a
// path, so the bytes go through a temporary file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fragua/materials/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/fragua-xgb-fuzz-" + std::to_string(::getpid()) + ".model";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  (void)fragua::materials::Model::load(path);
  return 0;
}
