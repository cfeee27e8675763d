// SPDX-License-Identifier: Apache-2.0
// Magpie-style composition descriptors (Ward, Agrawal, Choudhary, Wolverton, npj Comput. Mater.
// 2, 16028 (2016)): for each elemental property the fraction-weighted mean, average absolute
// deviation from it, min, max, range and mode (value of the most abundant element, smallest on
// ties); stoichiometric p-norms (p = 0, 2, 3, 5, 7, 10); fractions of valence electrons in s, p,
// d and f orbitals; and ionic character (whether a charge-neutral assignment of the common
// oxidation states exists, max and mean of 1 - exp(-(dX)^2 / 4) over element pairs); then the
// atomic fraction of every element of the table ("x_H" ... "x_Og"; Jha et al. 2018's ElemNet
// input).
#pragma once

#include <string>
#include <vector>

#include "fragua/materials/composition.h"
#include "fragua/materials/elements.h"

namespace fragua::materials {

class Featurizer {
 public:
  explicit Featurizer(const ElementTable& table);

  // Column names, e.g. "mean_pauling_en", "pnorm_2", "frac_d_valence", "max_ionic_char", "x_Ga".
  const std::vector<std::string>& names() const { return names_; }
  // The same columns under matminer's labels (Ward et al. 2016 as matminer names them:
  // "MagpieData mean Number", "2-norm", "frac s valence electrons", "compound possible",
  // "avg ionic char", "Ga" for the element fractions), for code written against matminer's
  // ElementProperty.from_preset("magpie") + Stoichiometry + ValenceOrbital + IonProperty +
  // ElementFraction. The three properties Magpie's preset lacks keep Magpie's table names
  // (FirstIonizationEnergy, ElectronAffinity, MolarVolume).
  std::vector<std::string> matminer_names() const;
  size_t size() const { return names_.size(); }
  // Writes size() values into out; NaN where an element lacks the property.
  void featurize(const Composition& c, float* out) const;
  // Row-major matrix, one row per composition, computed on `threads` threads (0 = all).
  std::vector<float> featurize_all(const std::vector<Composition>& comps, int threads = 0) const;

  // A fingerprint of the feature definition stored in model files, so that a model is never
  // applied to features computed differently.
  std::string signature() const;

 private:
  const ElementTable& table_;
  std::vector<Prop> props_;
  std::vector<std::string> names_;
};

}  // namespace fragua::materials
