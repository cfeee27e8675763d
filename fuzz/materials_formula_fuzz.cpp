// SPDX-License-Identifier: Apache-2.0
// Formula parser on arbitrary bytes: must return a value or an Error, never crash or hang; a
// parsed composition must featurize (element-fraction slots indexed by Z) without faults.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <vector>

#include "fragua/materials/composition.h"
#include "fragua/materials/features.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = fragua::materials::ElementTable::builtin();
  if (!table.ok()) return 0;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto c = fragua::materials::parse_formula(s, **table);
  if (c.ok()) {
    (void)c->reduced_formula(**table);
    (void)fragua::materials::compound_hhi(*c, **table);
    static const fragua::materials::Featurizer fz(**table);
    std::vector<float> x(fz.size());
    fz.featurize(*c, x.data());
  }
  return 0;
}
