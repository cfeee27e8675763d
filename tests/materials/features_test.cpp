// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/features.h"

#include <algorithm>
#include <set>

#include "golden.h"

namespace fragua::materials {
namespace {

using testing::golden;
using testing::table;

// Compares every feature the numpy reference computes (all but compound_possible).
TEST(Featurizer, MatchesNumpyReference) {
  Featurizer fz(table());
  ASSERT_EQ(fz.size(), 25u * 6 + 6 + 4 + 3 + static_cast<size_t>(table().max_z()));
  for (auto& [formula, want] : golden()["features"].items()) {
    auto c = parse_formula(formula, table());
    ASSERT_TRUE(c.ok());
    std::vector<float> x(fz.size());
    fz.featurize(*c, x.data());
    size_t checked = 0;
    for (size_t i = 0; i < fz.size(); ++i) {
      if (!want.contains(fz.names()[i])) continue;
      ++checked;
      if (want[fz.names()[i]].is_null()) {  // an element lacks the property
        EXPECT_TRUE(std::isnan(x[i])) << formula << " " << fz.names()[i];
        continue;
      }
      double w = want[fz.names()[i]].get<double>();
      EXPECT_NEAR(x[i], w, 1e-5 * std::max(1.0, std::fabs(w))) << formula << " " << fz.names()[i];
    }
    EXPECT_EQ(checked, fz.size() - 1) << formula;
  }
}

TEST(Featurizer, ChargeBalanceAndMissingValues) {
  Featurizer fz(table());
  std::vector<float> x(fz.size());
  size_t cp = 0, en = 0;
  for (size_t i = 0; i < fz.size(); ++i) {
    if (fz.names()[i] == "compound_possible") cp = i;
    if (fz.names()[i] == "mean_pauling_en") en = i;
  }
  fz.featurize(*parse_formula("Fe2O3", table()), x.data());
  EXPECT_EQ(x[cp], 1.0f);
  fz.featurize(*parse_formula("NaCl2", table()), x.data());
  EXPECT_EQ(x[cp], 0.0f);
  fz.featurize(*parse_formula("XeF2", table()), x.data());  // Xe has a Pauling value, He not
  EXPECT_FALSE(std::isnan(x[en]));
  fz.featurize(*parse_formula("HeH", table()), x.data());
  EXPECT_TRUE(std::isnan(x[en]));
  auto all = fz.featurize_all({*parse_formula("GaAs", table()), *parse_formula("Fe2O3", table())}, 2);
  std::vector<float> one(fz.size());
  fz.featurize(*parse_formula("Fe2O3", table()), one.data());
  for (size_t i = 0; i < fz.size(); ++i)
    if (!std::isnan(one[i])) {
      EXPECT_EQ(all[fz.size() + i], one[i]);
    }
}

}  // namespace
}  // namespace fragua::materials

namespace fragua::materials {
namespace {

TEST(Features, MatminerNamesLabelTheSameColumns) {
  Featurizer fz(testing::table());
  const auto mm = fz.matminer_names();
  ASSERT_EQ(mm.size(), fz.size());
  auto at = [&](const std::string& ours) {
    auto it = std::find(fz.names().begin(), fz.names().end(), ours);
    EXPECT_NE(it, fz.names().end()) << ours;
    return mm[static_cast<size_t>(it - fz.names().begin())];
  };
  EXPECT_EQ(at("mean_pauling_en"), "MagpieData mean Electronegativity");
  EXPECT_EQ(at("avgdev_z"), "MagpieData avg_dev Number");
  EXPECT_EQ(at("min_mass"), "MagpieData minimum AtomicWeight");
  EXPECT_EQ(at("range_group"), "MagpieData range Column");
  EXPECT_EQ(at("mode_space_group"), "MagpieData mode SpaceGroupNumber");
  EXPECT_EQ(at("max_n_val"), "MagpieData maximum NValence");
  EXPECT_EQ(at("mean_n_unf"), "MagpieData mean NUnfilled");
  EXPECT_EQ(at("pnorm_2"), "2-norm");
  EXPECT_EQ(at("frac_d_valence"), "frac d valence electrons");
  EXPECT_EQ(at("compound_possible"), "compound possible");
  EXPECT_EQ(at("mean_ionic_char"), "avg ionic char");
  EXPECT_EQ(at("x_Ga"), "Ga");
  EXPECT_EQ(std::set<std::string>(mm.begin(), mm.end()).size(), mm.size()) << "labels are unique";
}

}  // namespace
}  // namespace fragua::materials
