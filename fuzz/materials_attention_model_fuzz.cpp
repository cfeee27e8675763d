// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: an attention materials model file (safetensors with JSON metadata) must
// load or fail with an error for any bytes, without over-allocating; a loaded model predicts.
#include <cstdint>
#include <string>

#include "fragua/materials/attention_model.h"
#include "fragua/materials/composition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace fragua::materials;
  std::string bytes(reinterpret_cast<const char*>(data), size);
  auto m = AttentionModel::parse(bytes, "fuzz");
  if (!m.ok()) return 0;
  auto table = ElementTable::builtin();
  if (!table.ok()) return 0;
  auto c = parse_formula("GaAs", **table);
  if (c.ok()) (void)m->predict({*c}, **table, 1);
  return 0;
}
