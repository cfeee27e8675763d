// SPDX-License-Identifier: Apache-2.0
// Sustainability data (data/materials/sustainability.csv) and what screening does with it.
#include "fragua/materials/sustainability.h"

#include "fragua/materials/screen.h"
#include "golden.h"

namespace fragua::materials {
namespace {

using testing::table;

const SustainabilityTable& sustainability() {
  auto s = SustainabilityTable::builtin();
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().to_string());
  return **s;
}

int zof(const char* symbol) { return table().find(symbol)->z; }

TEST(Sustainability, FlagsFollowTheCitedLists) {
  EXPECT_NE(sustainability().provenance().find("2024/1252"), std::string::npos);
  EXPECT_NE(sustainability().provenance().find("Nuss"), std::string::npos);
  int n_critical = 0;
  for (int z = 1; z <= table().max_z(); ++z) n_critical += sustainability().at(z).critical;
  // 34 materials, 48 elements once the platinum-group metals and rare earths are counted singly.
  EXPECT_EQ(n_critical, 48);
  for (const char* s : {"Ga", "Ge", "Si", "Co", "Li", "Nd", "Pt", "P", "F"}) EXPECT_TRUE(is_critical_raw_material(zof(s))) << s;
  for (const char* s : {"Zn", "S", "Fe", "Sn", "O", "Se", "Te", "In", "Pm"})
    EXPECT_FALSE(is_critical_raw_material(zof(s))) << s;
  for (const char* s : {"Pb", "Hg", "Cd", "Cr"}) EXPECT_TRUE(sustainability().at(zof(s)).rohs) << s;
  EXPECT_FALSE(sustainability().at(zof("As")).rohs);
  EXPECT_TRUE(is_toxic(zof("As")));
  EXPECT_FALSE(is_toxic(zof("Zn")));
  EXPECT_EQ(sustainability().at(zof("Cu")).ghg_kg_co2e_per_kg, 2.8);
  EXPECT_EQ(sustainability().at(zof("Au")).ghg_kg_co2e_per_kg, 12500);
  EXPECT_TRUE(std::isnan(sustainability().at(zof("S")).ghg_kg_co2e_per_kg));
  EXPECT_TRUE(std::isnan(sustainability().at(0).ghg_kg_co2e_per_kg));
}

TEST(Sustainability, CompoundGhgIsTheMassWeightedSumAndNamesWhatIsMissing) {
  std::string missing;
  const double gaas = compound_ghg_per_kg(*parse_formula("GaAs", table()), table(), sustainability(), &missing);
  const double m_ga = table().find("Ga")->get(Prop::mass), m_as = table().find("As")->get(Prop::mass);
  EXPECT_NEAR(gaas, (m_ga * 205 + m_as * 0.3) / (m_ga + m_as), 1e-9);
  EXPECT_EQ(missing, "");
  const double zns = compound_ghg_per_kg(*parse_formula("ZnS", table()), table(), sustainability(), &missing);
  const double m_zn = table().find("Zn")->get(Prop::mass), m_s = table().find("S")->get(Prop::mass);
  EXPECT_NEAR(zns, m_zn * 3.1 / (m_zn + m_s), 1e-9);  // a lower bound: S has no figure
  EXPECT_EQ(missing, "S");
  EXPECT_TRUE(std::isnan(compound_ghg_per_kg(*parse_formula("SO2", table()), table(), sustainability(), &missing)));
  EXPECT_EQ(missing, "O;S");  // in composition order (by Z)
}

TEST(Sustainability, BadRowsAreErrorsNamingLineAndColumn) {
  auto bad = SustainabilityTable::parse("symbol,crm_eu_2023,rohs,toxic,ghg_kg_co2e_per_kg\nGa,2,0,0,205\n", "s.csv",
                                        table());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("s.csv:2:"), std::string::npos) << bad.error().to_string();
  auto unknown =
      SustainabilityTable::parse("symbol,crm_eu_2023,rohs,toxic,ghg_kg_co2e_per_kg\nXx,0,0,0,\n", "s.csv", table());
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().to_string().find("'Xx'"), std::string::npos);
  auto negative =
      SustainabilityTable::parse("symbol,crm_eu_2023,rohs,toxic,ghg_kg_co2e_per_kg\nGa,0,0,0,-1\n", "s.csv", table());
  EXPECT_FALSE(negative.ok());
  EXPECT_FALSE(SustainabilityTable::parse("symbol,rohs\nGa,0\n", "s.csv", table()).ok());
}

TEST(Sustainability, ScreeningLimitsGhgAndUsesItForTheParetoFront) {
  // Same predicted gap for all; GaAs is cheap in supply risk terms but carries gallium's GHG.
  std::vector<ScreenRow> rows;
  for (const char* f : {"GaAs", "ZnSe", "CdTe", "Cu2O"}) {
    ScreenRow r;
    r.formula = f;
    r.comp = *parse_formula(f, table());
    r.gap = 1.5;
    r.gap_std = 0.1;
    rows.push_back(r);
  }
  ScreenCriteria c;
  c.gap_min = 1.1;
  c.gap_max = 1.8;
  c.max_ghg = 50;
  screen(rows, c, table());
  EXPECT_FALSE(rows[0].pass);  // GaAs ~ 99 kg CO2-eq / kg
  EXPECT_NE(rows[0].reason.find("greenhouse gas"), std::string::npos);
  EXPECT_TRUE(rows[1].pass);
  c.max_ghg = std::numeric_limits<double>::infinity();
  c.pareto_cost = ScreenCriteria::ParetoCost::ghg;
  screen(rows, c, table());
  // Equal P(window): the front is the row with the lowest GHG (Cu2O: copper 2.8 kg/kg).
  for (const auto& r : rows) EXPECT_EQ(r.pareto, r.formula == "Cu2O") << r.formula << " " << r.ghg;
  EXPECT_EQ(*parse_pareto_cost("critical"), ScreenCriteria::ParetoCost::critical_count);
  EXPECT_FALSE(parse_pareto_cost("price").ok());
}

}  // namespace
}  // namespace fragua::materials
