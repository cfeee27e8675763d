// SPDX-License-Identifier: Apache-2.0
// Chemical formulas and compositions. The parser accepts what people write: GaAs, Cu2ZnSnS4,
// Ag(W3Br7)2, Ag0.5Ge1Pb1.75S4, CuSO4·5H2O (also '*'), (CH3NH3)PbI3, [Co(NH3)6]Cl3; errors
// name the 1-based column (in characters) of the fault.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/elements.h"

namespace fragua::materials {

class Composition {
 public:
  Composition() = default;
  // Amounts per element (atomic number -> amount > 0); duplicates are summed.
  explicit Composition(std::vector<std::pair<int, double>> amounts);

  // (z, amount) sorted by atomic number.
  const std::vector<std::pair<int, double>>& amounts() const { return amounts_; }
  size_t num_elements() const { return amounts_.size(); }
  double total() const;
  double amount(int z) const;
  // Atomic fractions, same order as amounts().
  std::vector<double> fractions() const;
  // Weight fractions (needs atomic masses).
  std::vector<double> weight_fractions(const ElementTable& table) const;
  // Divides by the gcd when every amount is (within 1e-8) an integer; otherwise unchanged.
  Composition reduced() const;
  // Elements ordered by Pauling electronegativity then Z (pymatgen's convention), amounts
  // written without 1s and with up to 6 significant digits: "GaAs", "Ag0.5Ge1Pb1.75S4" ->
  // "Ag0.5GePb1.75S4".
  std::string formula(const ElementTable& table) const;
  std::string reduced_formula(const ElementTable& table) const { return reduced().formula(table); }

  bool operator==(const Composition& o) const { return amounts_ == o.amounts_; }

 private:
  std::vector<std::pair<int, double>> amounts_;
};

// Parses a formula. Errors: "formula 'Ga2Xy': unknown element 'Xy' at column 4".
Result<Composition> parse_formula(std::string_view formula, const ElementTable& table);

// Herfindahl-Hirschman index of a compound: weight-fraction mean of the element values
// (Gaultois et al. 2013; pymatgen's HHIModel). Elements without data are an error.
struct Hhi {
  double production = 0, reserve = 0;
};
Result<Hhi> compound_hhi(const Composition& c, const ElementTable& table);

}  // namespace fragua::materials
