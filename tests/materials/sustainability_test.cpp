// SPDX-License-Identifier: Apache-2.0
// Sustainability data (data/materials/sustainability.csv) and what screening does with it.
#include "fragua/materials/sustainability.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>

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

// The GHG column against a second, independent transcription of the same study (Nuss & Eckelman
// 2014, Supporting Information S1, Table S38: the per-element TOTAL rows, kg CO2-eq per kg), with
// the 2.5% / 97.5% Monte-Carlo bounds the table gives where that transcription has them
// (github.com/hyunjin-kor/COMET, backend/data/lca_factors.json); Ga, Ge, Te and Cd from a third
// transcription without bounds (the other 27 of the 64). Every value must match to 1% (a transcription slip is a factor
// 10 or a swapped row, not 1%); a central value outside its own bounds would be a slip in the
// reference. Elements the study does not cover are listed in kGhgNotInTheStudy (docs: README).
struct GhgReference {
  const char* symbol;
  double value, p2_5, p97_5;  // bounds 0 where the transcription has none
};
constexpr GhgReference kNussEckelmanS38[] = {
    {"Li", 7.1, 5.7, 8.9},        {"Mg", 5.4, 2.0, 14.4},        {"Al", 8.2, 6.3, 10.7},
    {"Ti", 8.1, 7.6, 8.7},        {"V", 33.1, 19.4, 53.0},       {"Cr", 2.4, 2.2, 2.7},
    {"Mn", 1.0, 0.8, 1.3},        {"Fe", 1.5, 1.4, 1.7},         {"Co", 8.3, 6.0, 11.5},
    {"Ni", 6.5, 5.9, 7.3},        {"Cu", 2.8, 2.2, 3.5},         {"Zn", 3.1, 2.4, 4.1},
    {"Y", 15.1, 11.9, 19.2},      {"Zr", 1.1, 0.9, 1.3},         {"Nb", 12.5, 10.1, 15.4},
    {"Mo", 5.7, 4.5, 7.3},        {"Ru", 2110, 1660, 2690},      {"Rh", 35100, 26700, 45500},
    {"Pd", 3880, 3090, 4860},     {"Ag", 196, 164, 234},         {"In", 102, 78.8, 155},
    {"Sn", 17.1, 11.0, 26.8},     {"Sb", 12.9, 7.2, 23.9},       {"La", 11.0, 8.8, 14.3},
    {"Ce", 12.9, 10.1, 16.4},     {"Pr", 19.2, 14.9, 24.7},      {"Nd", 17.6, 13.8, 22.9},
    {"Sm", 59.1, 46.1, 77.2},     {"Hf", 131, 69, 252},          {"Ta", 260, 206, 331},
    {"W", 12.6, 9.6, 16.3},       {"Re", 450, 213, 836},         {"Os", 4560, 3700, 5650},
    {"Ir", 8860, 7000, 11200},    {"Pt", 12500, 9650, 16200},    {"Au", 12500, 10100, 15400},
    {"Pb", 1.3, 1.1, 1.5},
    // Third transcription, no bounds.
    {"He", 0.9, 0, 0},    {"Be", 122, 0, 0},   {"B", 1.5, 0, 0},    {"Ca", 1.0, 0, 0},   {"Sc", 5710, 0, 0},
    {"Ga", 205, 0, 0},    {"Ge", 170, 0, 0},   {"As", 0.3, 0, 0},   {"Se", 3.6, 0, 0},   {"Sr", 3.2, 0, 0},
    {"Cd", 3.0, 0, 0},    {"Te", 21.9, 0, 0},  {"Ba", 0.2, 0, 0},   {"Eu", 395, 0, 0},   {"Gd", 46.6, 0, 0},
    {"Tb", 297, 0, 0},    {"Dy", 57.6, 0, 0},  {"Ho", 226, 0, 0},   {"Er", 48.7, 0, 0},  {"Tm", 649, 0, 0},
    {"Yb", 125, 0, 0},    {"Lu", 896, 0, 0},   {"Hg", 12.1, 0, 0},  {"Tl", 376, 0, 0},   {"Bi", 58.9, 0, 0},
    {"Th", 74.9, 0, 0},   {"U", 90.7, 0, 0},
};
// Asked for by the spot check (issue 19) but not among the study's 63 metals: no figure, so a
// compound's GHG is a lower bound that names them (ghg_missing).
const std::set<std::string> kGhgNotInTheStudy = {"Si", "O", "S", "N", "P", "F", "Cl"};

TEST(SustainabilityCrossCheck, GhgMatchesASecondTranscriptionOfNussEckelman) {
  std::vector<std::string> bad;
  for (const auto& r : kNussEckelmanS38) {
    const double v = sustainability().at(zof(r.symbol)).ghg_kg_co2e_per_kg;
    if (!(std::fabs(v - r.value) <= 0.01 * r.value))
      bad.push_back(fmt::format("{}: table {} vs Table S38 {}", r.symbol, v, r.value));
    if (r.p2_5 > 0 && !(r.p2_5 <= r.value && r.value <= r.p97_5))
      bad.push_back(fmt::format("{}: reference {} outside its bounds [{}, {}]", r.symbol, r.value, r.p2_5, r.p97_5));
  }
  EXPECT_TRUE(bad.empty()) << fmt::format("{}", fmt::join(bad, "\n"));
  // Every figure the table has is checked (64 elements).
  size_t with_figure = 0;
  for (int z = 1; z <= table().max_z(); ++z) with_figure += !std::isnan(sustainability().at(z).ghg_kg_co2e_per_kg);
  EXPECT_EQ(with_figure, std::size(kNussEckelmanS38));
  for (const auto& s : kGhgNotInTheStudy)
    EXPECT_TRUE(std::isnan(sustainability().at(zof(s.c_str())).ghg_kg_co2e_per_kg)) << s;
  // The spot-check list of issue 19: each either checked above or documented as absent.
  std::set<std::string> checked;
  for (const auto& r : kNussEckelmanS38) checked.insert(r.symbol);
  for (const char* s : {"Al", "Cu", "Ni", "Zn", "Si", "Ga", "In", "Ge", "Te", "Cd", "Co", "Li", "Au", "Ag", "Pt"})
    EXPECT_TRUE(checked.count(s) || kGhgNotInTheStudy.count(s)) << s;
}

}  // namespace
}  // namespace fragua::materials
