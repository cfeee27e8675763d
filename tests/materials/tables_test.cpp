// SPDX-License-Identifier: Apache-2.0
// The materials workflow as library calls (what the `fragua materials` commands print or write):
// enumeration over element subsets, screening rows from any PropertyModel, suggestions, merged
// measurements, and the CSV tables and the cross-validation summary.
#include "fragua/materials/tables.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>

#include "fragua/base/file.h"
#include "fragua/materials/property_model.h"
#include "golden.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::table;

int z(const char* s) { return table().find(s)->z; }

Composition comp(const char* f) { return *parse_formula(f, table()); }

Dataset dataset(const std::vector<std::pair<std::string, std::string>>& rows, std::vector<double> y = {}) {
  Dataset d;
  d.target_name = y.empty() ? "" : "gap";
  for (auto& [id, f] : rows) {
    d.ids.push_back(id);
    d.formulas.push_back(f);
    d.comps.push_back(comp(f.c_str()));
  }
  d.y = std::move(y);
  return d;
}

// A property model that answers what it was given: screening and suggestion take any family.
class FixedModel final : public PropertyModel {
 public:
  explicit FixedModel(Prediction p) : p_(std::move(p)) {}
  std::string_view family() const override { return "fixed"; }
  Task task() const override { return Task::regression; }
  nlohmann::json config_json() const override { return nlohmann::json::object(); }
  std::string describe() const override { return "fixed"; }
  Status train(const Dataset&, const ElementTable&, const std::string&) override { return ok_status(); }
  Result<CvResult> cross_validate(const Dataset&, const ElementTable&, int, uint32_t, MetricsWriter*) const override {
    return unsupported_error("fixed model");
  }
  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable&, int) const override {
    if (comps.size() != p_.mean.size()) return invalid_argument_error("fixed model: {} rows", comps.size());
    return p_;
  }
  Status save(const std::string&, const nlohmann::json&) const override { return unsupported_error("fixed model"); }

 private:
  Prediction p_;
};

TEST(Tables, EnumerationOverSubsetsOfAPool) {
  EnumerateOptions o;
  o.max_coeff = 3;
  const std::vector<int> pool = {z("Zn"), z("Cd"), z("S"), z("O")};
  std::vector<std::pair<uint64_t, uint64_t>> ticks;
  auto t = enumeration_csv(pool, 2, table(), o, "test pool",
                           [&](uint64_t done, uint64_t total) { ticks.emplace_back(done, total); });
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  // The same subsets taken by hand, in the same order: (0,1) (0,2) (0,3) (1,2) (1,3) (2,3).
  std::string want = "# test pool\ncomposition,oxidation_states\n";
  size_t n = 0;
  for (size_t a = 0; a < pool.size(); ++a)
    for (size_t b = a + 1; b < pool.size(); ++b) {
      auto pair = enumerate_compositions({pool[a], pool[b]}, table(), o);
      ASSERT_TRUE(pair.ok());
      for (auto& c : *pair) {
        const auto &ea = table().by_z(pool[a]), &eb = table().by_z(pool[b]);
        want += ea.symbol + (c.coeff[0] > 1 ? std::to_string(c.coeff[0]) : "") + eb.symbol +
                (c.coeff[1] > 1 ? std::to_string(c.coeff[1]) : "") + "," +
                fmt::format("{}{:+d};{}{:+d}", ea.symbol, c.ox[0], eb.symbol, c.ox[1]) + "\n";
        ++n;
      }
    }
  EXPECT_EQ(t->csv, want);
  EXPECT_EQ(t->n_compositions, n);
  EXPECT_NE(t->csv.find("\nZnS,Zn+2;S-2\n"), std::string::npos);
  ASSERT_EQ(ticks.size(), 6u);
  for (size_t i = 0; i < ticks.size(); ++i) EXPECT_EQ(ticks[i], std::make_pair(uint64_t{i + 1}, uint64_t{6}));

  auto all = enumeration_csv({z("Cs"), z("Pb"), z("I")}, 3, table(), EnumerateOptions{}, "c");
  ASSERT_TRUE(all.ok());
  EXPECT_NE(all->csv.find("\nCsPbI3,Cs+1;Pb+2;I-1\n"), std::string::npos) << all->csv;

  auto too_big = enumerate_pool(pool, 5, table(), o, [](const std::vector<int>&, const Candidate&) {});
  ASSERT_FALSE(too_big.ok());
  EXPECT_NE(too_big.error().message().find("subset size 5 is not in [0, 4]"), std::string::npos);
}

TEST(Tables, ScreenRowsComeFromAnyModelAndTheMetalProbabilityFromTheGateOrAClassifier) {
  const Dataset cands = dataset({{"a", "ZnS"}, {"b", "CdTe"}, {"=c", "Cu"}});
  ASSERT_EQ(cands.size(), 3u);
  FixedModel gap({{2.0, 1.5, 0.0}, {0.1, 0.2, 0.3}, {0.05, 0.1, 0.9}});
  auto rows = predict_screen_rows(cands, gap, nullptr, table());
  ASSERT_TRUE(rows.ok()) << rows.error().to_string();
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[1].id, "b");
  EXPECT_EQ((*rows)[1].formula, "CdTe");
  EXPECT_EQ((*rows)[1].gap, 1.5);
  EXPECT_EQ((*rows)[1].gap_std, 0.2);
  EXPECT_EQ((*rows)[2].metal_p, 0.9);  // the gap model's own zero gate

  FixedModel metal({{0.7, 0.2, 0.6}, {0, 0, 0}, {}});
  rows = predict_screen_rows(cands, gap, &metal, table());
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].metal_p, 0.7);  // a classifier wins over the gate

  FixedModel ungated({{1, 1, 1}, {0, 0, 0}, {}});
  rows = predict_screen_rows(cands, ungated, nullptr, table());
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE(std::isnan((*rows)[0].metal_p));

  FixedModel wrong({{1}, {0}, {}});
  EXPECT_FALSE(predict_screen_rows(cands, wrong, nullptr, table()).ok());

  ScreenCriteria c;
  c.gap_min = 1;
  c.gap_max = 3;
  rows = predict_screen_rows(cands, gap, nullptr, table());
  screen(*rows, c, table());
  size_t pass = 0, pareto = 0;
  for (auto& r : *rows) {
    pass += r.pass;
    pareto += r.pareto;
  }
  auto n = count_screened(*rows);
  EXPECT_EQ(n.pass, pass);
  EXPECT_EQ(n.pareto, pareto);
  EXPECT_GT(n.pass, 0u);
}

TEST(Tables, SuggestionsSkipWhatWasMeasuredAndRankByExpectedImprovement) {
  const Dataset cands = dataset({{"a", "ZnS"}, {"b", "CdTe"}, {"c", "GaAs"}, {"d", "InP"}, {"e", "ZnO"}});
  FixedModel m({{3.6, 1.5, 1.4, 1.3, 3.3}, {0.1, 0.5, 0.05, 0.3, 0.2}, {}});
  auto rows = predict_screen_rows(cands, m, nullptr, table());
  ASSERT_TRUE(rows.ok());
  const Dataset observed = dataset({{"x", "Zn2S2"}, {"y", "SiC"}}, {3.7, 2.3});
  auto picks = suggest_next(*rows, observed, Objective::maximize, 0, table(), 3);
  ASSERT_EQ(picks.size(), 3u);
  const double best = 3.7;
  std::vector<std::pair<double, size_t>> want;  // ZnS (row 0) is known as Zn2S2
  for (size_t i = 1; i < rows->size(); ++i)
    want.emplace_back(expected_improvement((*rows)[i].gap, (*rows)[i].gap_std, Objective::maximize, 0, best), i);
  std::stable_sort(want.begin(), want.end(), [](auto& a, auto& b) { return a.first > b.first; });
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(picks[k].row, want[k].second) << k;
    EXPECT_EQ(picks[k].expected_improvement, want[k].first) << k;
  }
  EXPECT_EQ(picks[0].row, 4u);  // ZnO: closest to beating 3.7

  std::string csv = suggestions_csv(*rows, picks, "suggest test");
  EXPECT_EQ(
      csv.rfind("# suggest test\nrank,id,composition,prediction,uncertainty,expected_improvement\n1,e,ZnO,3.3,0.2,", 0),
      0u)
      << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  EXPECT_TRUE(suggest_next(*rows, observed, Objective::maximize, 0, table(), 0).empty());
}

TEST(Tables, MeasurementsReplaceByReducedFormulaAndAppendTheRest) {
  Dataset base = dataset({{"1", "ZnS"}, {"2", "GaAs"}}, {3.5, 1.4});
  const Dataset lab = dataset({{"p", "Zn2S2"}, {"q", "CdO"}, {"r", "Cd2O2"}}, {3.7, 2.2, 2.3});
  auto n = merge_measurements(base, lab, table());
  EXPECT_EQ(n.replaced, 2u);  // Zn2S2 over ZnS, then Cd2O2 over the CdO just appended
  EXPECT_EQ(n.appended, 1u);
  ASSERT_EQ(base.size(), 3u);
  EXPECT_EQ(base.y, (std::vector<double>{3.7, 1.4, 2.3}));
  EXPECT_EQ(base.ids[2], "lab-q");
  EXPECT_EQ(base.formulas[2], "CdO");
}

TEST(Tables, PredictionAndCrossValidationTables) {
  const Dataset d = dataset({{"=cmd", "ZnS"}, {"b", "GaAs"}}, {3.5, 0});
  Prediction p{{1.234567891, 0}, {0.5, 0.25}, {}};
  EXPECT_EQ(predictions_csv(d, p, "model m, input i"),
            "# model m, input i\nid,composition,prediction,uncertainty\n'=cmd,ZnS,1.23457,0.5\nb,GaAs,0,0.25\n");
  p.p_zero = {0.125, 0.75};
  EXPECT_EQ(predictions_csv(d, p, "c"),
            "# c\nid,composition,prediction,uncertainty,p_zero\n'=cmd,ZnS,1.23457,0.5,0.125\nb,GaAs,0,0.25,0.75\n");

  CvResult r;
  r.fold = {1, 0};
  r.oof = p;
  r.mae = 0.5;
  r.rmse = 0.75;
  r.gate_auc = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(cv_predictions_csv(d, r, "cv"),
            "# cv\nid,composition,fold,target,prediction,uncertainty,p_zero\n'=cmd,ZnS,1,3.5,1.23457,0.5,0.125\n"
            "b,GaAs,0,0,0,0.25,0.75\n");

  PropertyModelOptions o;
  o.trees.n_models = 3;
  auto trees = make_property_model("xgboost", o);
  ASSERT_TRUE(trees.ok());
  auto s = cv_summary(r, **trees, "data.csv", 2, 5, 42);
  EXPECT_EQ(s.at("event"), "cv_summary");
  EXPECT_EQ(s.at("model"), "xgboost");
  EXPECT_EQ(s.at("rows"), 2);
  EXPECT_EQ(s.at("folds"), 5);
  EXPECT_EQ(s.at("seed"), 42);
  EXPECT_EQ(s.at("mae"), 0.5);
  EXPECT_EQ(s.at("config"), config_to_json(o.trees));
  EXPECT_FALSE(s.contains("roc_auc"));   // regression
  EXPECT_FALSE(s.contains("gate_auc"));  // no gate
  r.gate_auc = 0.875;
  o.trees.task = Task::classification;
  auto cls = make_property_model("attention", o);
  ASSERT_TRUE(cls.ok());
  s = cv_summary(r, **cls, "data.csv", 2, 5, 42);
  EXPECT_EQ(s.at("model"), "attention");
  EXPECT_EQ(s.at("gate_auc"), 0.875);
  EXPECT_TRUE(s.contains("roc_auc"));
  EXPECT_EQ(s.at("config").at("n_models"), 3);  // shared settings come from `trees`
}

TEST(Tables, FeaturesAndSubstitutions) {
  Dataset d = dataset({{"a", "ZnS"}, {"b", "Og"}}, {3.5, 0});
  Featurizer fz(table());
  std::string csv = features_csv(d, fz, 1, "features");
  auto x = fz.featurize_all(d.comps, 1);
  std::string header = "# features\nid,composition";
  for (auto& n : fz.names()) header += "," + n;
  header += ",gap\n";
  ASSERT_EQ(csv.rfind(header, 0), 0u);
  std::string row_b = "b,Og";
  bool missing = false;
  for (size_t k = 0; k < fz.size(); ++k) {
    const float v = x[fz.size() + k];
    missing |= std::isnan(v);
    row_b += std::isnan(v) ? std::string(",") : fmt::format(",{}", v);
  }
  EXPECT_TRUE(missing) << "oganesson lacks measured properties";
  EXPECT_NE(csv.find("\n" + row_b + ",0\n"), std::string::npos);
  d.y.clear();
  EXPECT_EQ(features_csv(d, fz, 1, "f").find(",gap\n"), std::string::npos);

  std::vector<SubstitutionModel::Substitution> subs = {{{"Cd2+", "Se2-"}, 0.25}, {{"Zn2+", "O2-"}, 0.125}};
  EXPECT_EQ(substitutions_csv(subs, {1, 1}, "subs"),
            "# subs\ncomposition,species,probability\nCdSe,Cd2+;Se2-,0.25\nZnO,Zn2+;O2-,0.125\n");
  EXPECT_EQ(substitutions_csv(subs, {2, 1.5}, "subs"),
            "# subs\ncomposition,species,probability\nCd2Se1.5,Cd2+;Se2-,0.25\nZn2O1.5,Zn2+;O2-,0.125\n");
}

// Issue 18: the parity plot's range is fitted as every chart's is (svg::fit_range). Data from 1 to
// 2, which are ticks themselves, used to put the extreme points on the frame's corners; now no
// point is within the margin of the frame and both ends are labelled round ticks (0.5 and 2.5:
// 5% margin, then out to the 0.5 step). Measured x and predicted y share the range.
TEST(Tables, ParityPlotRangeIsFittedToRoundTicksWithAMargin) {
  test::TempDir dir;
  Prediction p;
  p.mean = {1.0, 1.6, 2.0};
  p.std = {0.1, 0, 0};
  ASSERT_TRUE(write_parity_svg(dir.file("p.svg"), {1.0, 1.5, 2.0}, p, "parity").ok());
  const std::string svg = *read_file(dir.file("p.svg"));
  // The plot area of write_parity_svg: x from 70 to 540, y from 50 to 500 (canvas units).
  const std::regex circle(R"re(<circle cx="([0-9.]+)" cy="([0-9.]+)")re");
  int points = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), circle); it != std::sregex_iterator(); ++it, ++points) {
    const double cx = std::stod((*it)[1]), cy = std::stod((*it)[2]);
    EXPECT_GT(cx, 70 + 10);
    EXPECT_LT(cx, 540 - 10);
    EXPECT_GT(cy, 50 + 10);
    EXPECT_LT(cy, 500 - 10);
  }
  EXPECT_EQ(points, 3);
  // measured 1.0 -> x = 70 + (1.0 - 0.5) / 2 * 470; predicted 2.0 -> y = 500 - (2.0 - 0.5) / 2 * 450
  EXPECT_NE(svg.find("<circle cx=\"187.5\" cy=\"387.5\""), std::string::npos) << svg;
  EXPECT_NE(svg.find("<circle cx=\"422.5\" cy=\"162.5\""), std::string::npos) << svg;
  EXPECT_NE(svg.find(">0.5<"), std::string::npos);
  EXPECT_NE(svg.find(">2.5<"), std::string::npos);
  EXPECT_FALSE(write_parity_svg(dir.file("none.svg"), {}, p, "parity").ok());
}

}  // namespace
}  // namespace fragua::materials
