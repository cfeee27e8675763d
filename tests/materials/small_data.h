// SPDX-License-Identifier: Apache-2.0
// The small band-gap-like data set and fast settings the property-model tests share.
#pragma once

#include <algorithm>
#include <cmath>
#include <string>

#include <gtest/gtest.h>

#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"
#include "golden.h"

namespace fragua::materials::testing {

// A smooth "gap" of composition (electronegativity spread), 0 for elements: both families learn it.
inline Dataset small_dataset() {
  const char* formulas[] = {"GaAs", "GaP",  "GaN",  "InP", "InAs", "AlP", "AlAs", "AlN", "ZnO", "ZnS", "ZnSe", "CdS",
                            "CdSe", "CdTe", "MgO",  "CaO", "SrO",  "BaO", "NaCl", "KCl", "LiF", "NaF", "KBr",  "CuCl",
                            "AgBr", "SnO2", "TiO2", "SiC", "Cu",   "Fe",  "Al",   "Ni",  "Ag",  "Au",  "Zn",   "NiAl"};
  Dataset d;
  d.target_name = "gap_eV";
  int i = 0;
  for (const char* f : formulas) {
    auto c = parse_formula(f, table());
    EXPECT_TRUE(c.ok()) << f;
    double lo = 10, hi = 0;
    for (auto& [z, a] : c->amounts()) {
      lo = std::min(lo, table().by_z(z).get(Prop::pauling_en));
      hi = std::max(hi, table().by_z(z).get(Prop::pauling_en));
    }
    d.ids.push_back("t-" + std::to_string(i++));
    d.formulas.push_back(f);
    d.y.push_back(c->num_elements() == 1 ? 0.0 : 2.5 * (hi - lo));
    d.comps.push_back(std::move(*c));
  }
  return d;
}

inline PropertyModelOptions small_options() {
  PropertyModelOptions o;
  o.trees.n_models = 2;
  o.trees.n_rounds = 30;
  o.trees.eta = 0.2;
  o.trees.max_depth = 3;
  o.trees.threads = 2;
  o.trees.seed = 11;
  o.attention.epochs = 20;
  o.attention.batch = 16;
  o.attention.d_model = 16;
  o.attention.n_layer = 1;
  o.attention.n_head = 2;
  o.attention.head_hidden = 16;
  o.attention.lr = 3e-3;
  o.extra_trees = 40;
  return o;
}

}  // namespace fragua::materials::testing
