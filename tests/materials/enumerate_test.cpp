// SPDX-License-Identifier: Apache-2.0
#include "fragua/materials/enumerate.h"

#include <numeric>
#include <set>

#include "golden.h"

namespace fragua::materials {
namespace {

using testing::golden;
using testing::table;

int z(const char* s) { return table().find(s)->z; }

// SMACT documentation / Davies et al. 2016: Cs-Pb-I, coefficients up to 5, smact14 states.
TEST(Enumerate, CsPbIGivesSixCompositions) {
  EnumerateOptions o;
  o.max_coeff = 5;
  auto r = enumerate_compositions({z("Cs"), z("Pb"), z("I")}, table(), o);
  ASSERT_TRUE(r.ok());
  std::set<std::vector<int>> got;
  for (auto& c : *r) got.insert(c.coeff);
  std::set<std::vector<int>> want = {{1, 1, 3}, {1, 2, 5}, {2, 1, 4}, {3, 1, 5}, {1, 1, 5}, {5, 1, 1}};
  EXPECT_EQ(got, want);
  for (auto& c : *r) {
    int q = 0;
    for (size_t i = 0; i < 3; ++i) q += c.coeff[i] * c.ox[i];
    EXPECT_EQ(q, 0);
  }
}

TEST(Enumerate, BinaryCountsOverElements1To103) {
  EnumerateOptions o;
  o.max_coeff = 8;
  o.threads = 2;
  auto r = count_all(2, 103, table(), o);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->element_sets, 5253u);
  EXPECT_EQ(r->raw, 225879u);
  EXPECT_EQ(r->pass, 13464u);
}

TEST(Enumerate, SmallTernaryMatchesBruteForce) {
  // Brute force over coefficient triples and oxidation states, written the plain way.
  EnumerateOptions o;
  o.max_coeff = 6;
  std::vector<int> zs = {z("Cu"), z("Sn"), z("S")};
  auto r = enumerate_compositions(zs, table(), o);
  ASSERT_TRUE(r.ok());
  size_t want = 0;
  for (int a = 1; a <= 6; ++a)
    for (int b = 1; b <= 6; ++b)
      for (int c = 1; c <= 6; ++c) {
        if (std::gcd(a, std::gcd(b, c)) != 1) continue;
        bool found = false;
        for (int oa : table().by_z(zs[0]).ox_smact14)
          for (int ob : table().by_z(zs[1]).ox_smact14)
            for (int oc : table().by_z(zs[2]).ox_smact14) {
              if (a * oa + b * ob + c * oc != 0) continue;
              double en[3] = {table().by_z(zs[0]).get(Prop::smact_en), table().by_z(zs[1]).get(Prop::smact_en),
                              table().by_z(zs[2]).get(Prop::smact_en)};
              int ox[3] = {oa, ob, oc};
              bool ok = true;
              for (int i = 0; i < 3; ++i)
                for (int j = 0; j < 3; ++j)
                  if (ox[i] > 0 && ox[j] < 0 && !(en[i] < en[j])) ok = false;
              found |= ok;
            }
        want += found;
      }
  EXPECT_EQ(r->size(), want);
  EXPECT_GT(want, 0u);
}

TEST(Enumerate, RejectsBadInput) {
  EnumerateOptions o;
  EXPECT_FALSE(enumerate_compositions({1, 1}, table(), o).ok());
  EXPECT_FALSE(enumerate_compositions({0, 1}, table(), o).ok());
  o.max_coeff = 0;
  EXPECT_FALSE(enumerate_compositions({1, 8}, table(), o).ok());
}

TEST(Substitution, MatchesPymatgen) {
  auto m = SubstitutionModel::builtin();
  if (!m.ok()) GTEST_SKIP() << m.error().to_string();
  for (auto& row : golden()["substitution"]) {
    std::string a = row["s1"], b = row["s2"];
    EXPECT_NEAR(m->cond_prob(a, b), row["cond_prob"].get<double>(),
                1e-9 * std::max(1.0, row["cond_prob"].get<double>()))
        << a << " " << b;
    EXPECT_NEAR(m->prob(a, b) / row["prob"].get<double>(), 1.0, 1e-9) << a << " " << b;
  }
  auto subs_or = m->substitute({"Zn2+", "S2-"}, {1, 1}, 1e-3);
  ASSERT_TRUE(subs_or.ok()) << subs_or.error().to_string();
  auto& subs = *subs_or;
  ASSERT_FALSE(subs.empty());
  bool cdse = false;
  for (auto& s : subs) cdse |= s.species == std::vector<std::string>{"Cd2+", "Se2-"};
  EXPECT_TRUE(cdse);
  for (size_t i = 1; i < subs.size(); ++i) EXPECT_GE(subs[i - 1].probability, subs[i].probability);
}

TEST(Substitution, UnknownSpeciesIsAnErrorNamingIt) {
  auto m = SubstitutionModel::parse(R"([["Zn2+","Cd2+",1.0],["S2-","Se2-",0.5]])", "t.json");
  ASSERT_TRUE(m.ok());
  auto r = m->substitute({"Zn2+", "Xx3+"}, {}, 1e-6);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("'Xx3+'"), std::string::npos) << r.error().to_string();
  r = m->substitute({"Zn5+"}, {}, 1e-6);  // a known element with a charge the table never saw
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().to_string().find("'Zn5+'"), std::string::npos) << r.error().to_string();
  EXPECT_FALSE(m->substitute({"Zn2+", "S2-"}, {1}, 1e-6).ok());
  EXPECT_TRUE(m->substitute({"Zn2+", "S2-"}, {1, 1}, 1e-6).ok());
}

TEST(Substitution, SmallTableAndSpecies) {
  auto m = SubstitutionModel::parse(R"([["Zn2+","Cd2+",1.0],["S2-","Se2-",0.5],["Zn2+","Zn2+",2.0]])", "t.json");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->lambda("Cd2+", "Zn2+"), 1.0);
  EXPECT_EQ(m->lambda("Cd2+", "S2-"), -5.0);
  EXPECT_FALSE(SubstitutionModel::parse(R"([["Zn2+","Cd",1.0]])", "t.json").ok());
  EXPECT_EQ(parse_species("Se2-")->second, -2);
  EXPECT_EQ(parse_species("Cu+")->second, 1);
  EXPECT_FALSE(parse_species("Cu2").ok());
}

}  // namespace
}  // namespace fragua::materials
