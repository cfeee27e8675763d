// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/composition.h"

#include <fstream>

#include "fragua/base/file.h"
#include "fragua/materials/csv_reader.h"
#include "golden.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::table;

double amt(const Composition& c, const char* sym) { return c.amount(table().find(sym)->z); }

TEST(Elements, TableHasKnownValues) {
  const auto& t = table();
  ASSERT_GE(t.max_z(), 103);
  const Element* ga = t.find("Ga");
  ASSERT_NE(ga, nullptr);
  EXPECT_EQ(ga->z, 31);
  EXPECT_NEAR(ga->get(Prop::mass), 69.723, 1e-9);
  EXPECT_NEAR(ga->get(Prop::pauling_en), 1.81, 1e-9);
  EXPECT_EQ(ga->get(Prop::np_val), 1);
  EXPECT_EQ(ga->get(Prop::nd_val), 10);
  EXPECT_EQ(t.find("Hf")->get(Prop::group), 4);
  EXPECT_EQ(t.find("Pb")->get(Prop::group), 14);
  EXPECT_EQ(t.find("Lu")->get(Prop::group), 3);
  EXPECT_EQ(t.find("Pb")->ox_smact14, (std::vector<int>{-4, 2, 4}));
  EXPECT_EQ(t.find("Xx"), nullptr);
  EXPECT_TRUE(std::isnan(t.find("He")->get(Prop::pauling_en)));
}

TEST(Elements, BadTableNamesLineAndColumn) {
  std::string text = "symbol,name,z\nH,Hydrogen,1\n";
  auto r = ElementTable::parse(text, "t.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no column"), std::string::npos);
}

TEST(Formula, ParsesWhatPeopleWrite) {
  auto p = [](const char* f) {
    auto r = parse_formula(f, table());
    EXPECT_TRUE(r.ok()) << f << ": " << (r.ok() ? "" : r.error().to_string());
    return r.ok() ? *r : Composition();
  };
  auto gaas = p("GaAs");
  EXPECT_EQ(gaas.num_elements(), 2u);
  EXPECT_EQ(amt(gaas, "Ga"), 1);
  auto czts = p("Cu2ZnSnS4");
  EXPECT_EQ(amt(czts, "S"), 4);
  auto agw = p("Ag(W3Br7)2");
  EXPECT_EQ(amt(agw, "W"), 6);
  EXPECT_EQ(amt(agw, "Br"), 14);
  auto frac = p("Ag0.5Ge1Pb1.75S4");
  EXPECT_DOUBLE_EQ(amt(frac, "Ag"), 0.5);
  EXPECT_DOUBLE_EQ(amt(frac, "Pb"), 1.75);
  auto hyd =
      p("CuSO4\xC2\xB7"
        "5H2O");
  EXPECT_EQ(amt(hyd, "O"), 9);
  EXPECT_EQ(amt(hyd, "H"), 10);
  EXPECT_EQ(p("CuSO4*5H2O"), hyd);
  auto mapi = p("(CH3NH3)PbI3");
  EXPECT_EQ(amt(mapi, "H"), 6);
  EXPECT_EQ(amt(mapi, "C"), 1);
  EXPECT_EQ(amt(mapi, "N"), 1);
  auto co = p("[Co(NH3)6]Cl3");
  EXPECT_EQ(amt(co, "H"), 18);
  EXPECT_EQ(p("Fe2 O3"), p("Fe2O3"));
  EXPECT_EQ(p("OFe2O2"), p("Fe2O3"));  // repeated elements add up
}

TEST(Formula, ErrorsNameTheColumn) {
  struct Case {
    const char* f;
    const char* msg;
  };
  for (auto c : std::vector<Case>{
           {"GaXy2", "unknown element 'Xy' at column 3"},
           {"Ga(As", "'(' is never closed at column 3"},
           {"GaAs)", "unmatched ')' at column 5"},
           {"gaAs", "capital letter, got 'g' at column 1"},
           {"2GaAs", "without an element before it at column 1"},
           {"", "empty formula"},
           {"Ga0As", "amount '0' must be positive at column 3"},
           {"Ga()", "empty brackets at column 3"},
           {"Ga$As", "unexpected '$' at column 3"},
           {"Ga\xC2\xB7\xC2\xB7", "expected an element symbol or '(' at column 4"},
           {"GaAs99999999", "too large at column 5"},
       }) {
    auto r = parse_formula(c.f, table());
    ASSERT_FALSE(r.ok()) << c.f;
    EXPECT_NE(r.error().message().find(c.msg), std::string::npos) << r.error().message();
  }
  std::string deep(100, '(');
  EXPECT_FALSE(parse_formula(deep + "H", table()).ok());
}

TEST(Composition, ReducedFormulaAndFractions) {
  auto c = *parse_formula("Ga2As2", table());
  EXPECT_EQ(c.reduced_formula(table()), "GaAs");
  EXPECT_EQ(parse_formula("Ag0.5Ge1Pb1.75S4", table())->formula(table()), "Ag0.5GePb1.75S4");
  EXPECT_EQ(parse_formula("O12Fe8", table())->reduced_formula(table()), "Fe2O3");
  auto f = parse_formula("Fe2O3", table())->fractions();
  EXPECT_DOUBLE_EQ(f[0], 0.6);  // sorted by Z: O then Fe
  EXPECT_DOUBLE_EQ(f[1], 0.4);
}

// Known vectors from the issue (pymatgen HHIModel): GaAs (4360, 2988), CdTe (2338, 3214).
TEST(Composition, CompoundHhi) {
  auto h = *compound_hhi(*parse_formula("GaAs", table()), table());
  EXPECT_NEAR(h.production, 4360, 0.5);
  EXPECT_NEAR(h.reserve, 2988, 0.5);
  h = *compound_hhi(*parse_formula("CdTe", table()), table());
  EXPECT_NEAR(h.production, 2338, 0.5);
  EXPECT_NEAR(h.reserve, 3214, 0.5);
}

TEST(Csv, ErrorsNameLineAndColumn) {
  auto r = parse_csv("a,b\n1,2\n3\n", "x.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("x.csv:3: 1 fields"), std::string::npos) << r.error().message();
  r = parse_csv("a,b\n1,\"2\n", "x.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("x.csv:2:3: quoted field never closed"), std::string::npos);
  auto ok = parse_csv("# c\na,b\n\"x,y\",\" 2.5\"\r\n", "x.csv");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->rows[0][0].text, "x,y");
  EXPECT_EQ(*ok->number(ok->rows[0][1], "b"), 2.5);
  auto bad = ok->number(ok->rows[0][0], "a");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("x.csv:3:1: column 'a': 'x,y' is not a number"), std::string::npos)
      << bad.error().message();
}

// Issue 12, defect 17: every number was capped at 1e6, but nested groups multiplied past it.
TEST(HardeningComposition, NestedMultipliersAndRepeatsAreCapped) {
  auto r = parse_formula("((((H999999)999999)999999)999999)", table());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("the amount of H multiplies to"), std::string::npos) << r.error().message();
  r = parse_formula("H999999H999999", table());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("the amount of H adds up to 2e+06"), std::string::npos) << r.error().message();
  r = parse_formula("(CuSO4)1000*5H2O", table());  // hydrate multiplier, still under the cap
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->amount(8), 4000 + 5);
  EXPECT_FALSE(parse_formula("((H1000)1000)2", table()).ok());
  EXPECT_TRUE(parse_formula("((H1000)1000)", table()).ok());  // exactly 1e6
}

TEST(HardeningCsv, RecordsWithTooManyFieldsAreRefused) {
  std::string line(kCsvMaxFields + 10, ',');
  auto r = parse_csv("a,b\n" + line + "\n", "wide.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("wide.csv:2: more than 4096 fields"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::materials
