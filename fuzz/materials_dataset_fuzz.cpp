// SPDX-License-Identifier: Apache-2.0
// Matbench JSON and CSV dataset readers on arbitrary bytes (first byte picks the reader).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fragua/base/decompress.h"
#include "fragua/materials/dataset.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto table = fragua::materials::ElementTable::builtin();
  if (!table.ok() || size == 0) return 0;
  std::string_view s(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      (void)fragua::materials::parse_matbench_json(s, "fuzz.json", **table);
      break;
    case 1:
      (void)fragua::materials::parse_dataset_csv(s, "fuzz.csv", **table);
      break;
    case 2:
      (void)fragua::decompress_all(s, "fuzz.gz", {}, fragua::Compression::gzip);
      break;
    default:
      (void)fragua::decompress_all(s, "fuzz.bz2", {}, fragua::Compression::bzip2);
      break;
  }
  return 0;
}
