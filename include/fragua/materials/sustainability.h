// SPDX-License-Identifier: Apache-2.0
// Per-element sustainability data for screening (data/materials/sustainability.csv, sources
// cited in its header lines and in data/materials/README.md): the EU critical raw material flag
// (CRMA 2023 list), RoHS restriction, a toxic flag, and cradle-to-gate greenhouse-gas emissions
// per kg of the element (Nuss & Eckelman 2014).
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/composition.h"

namespace fragua::materials {

struct ElementSustainability {
  bool critical = false, rohs = false, toxic = false;
  double ghg_kg_co2e_per_kg = std::nan("");  // NaN: the inventory has no figure
};

class SustainabilityTable {
 public:
  // Rows by element symbol, every symbol known to `table`; errors name the line and column.
  static Result<SustainabilityTable> parse(std::string_view text, const std::string& source, const ElementTable& table);
  // data/materials/sustainability.csv with the builtin element table; loaded once.
  static Result<const SustainabilityTable*> builtin();

  // Elements without a row have no flags and no figure.
  const ElementSustainability& at(int z) const;
  // The header's '#' lines (sources).
  const std::string& provenance() const { return provenance_; }

 private:
  std::vector<ElementSustainability> by_z_;  // index z - 1
  std::string provenance_;
};

// Cradle-to-gate GHG of one kg of a compound made of its elements: the mass-fraction-weighted sum
// of the elements' figures, a lower bound when some element has none (they are listed in
// `missing`, ';'-separated, and counted as 0). NaN when no element has a figure.
double compound_ghg_per_kg(const Composition& c, const ElementTable& table, const SustainabilityTable& s,
                           std::string* missing = nullptr);

}  // namespace fragua::materials
