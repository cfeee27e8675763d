// SPDX-License-Identifier: Apache-2.0
// The extremely-randomized-trees binary form (materials/extra_trees.cpp, ExtraTreesClassifier::parse):
// magic, feature and tree counts, the column means, then each tree's node arrays. What parses must
// predict without reading out of bounds and write back the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/materials/extra_trees.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto m = fragua::materials::ExtraTreesClassifier::parse(bytes, "fuzz");
  if (!m.ok()) return 0;
  if (m->to_bytes() != bytes) std::abort();
  std::vector<float> row(m->n_features(), 0.5f);
  row[0] = __builtin_nanf("");
  auto p = m->predict_proba(row, m->n_features(), 1);
  if (!p.ok() || !((*p)[0] >= 0 && (*p)[0] <= 1)) std::abort();
  return 0;
}
