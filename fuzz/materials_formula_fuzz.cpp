// Formula parser on arbitrary bytes: must return a value or an Error, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/materials/composition.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = fragua::materials::ElementTable::builtin();
  if (!table.ok()) return 0;
  std::string_view s(reinterpret_cast<const char*>(data), size);
  auto c = fragua::materials::parse_formula(s, **table);
  if (c.ok()) {
    (void)c->reduced_formula(**table);
    (void)fragua::materials::compound_hhi(*c, **table);
  }
  return 0;
}
