// SPDX-License-Identifier: Apache-2.0
// The two-family ensemble: equal to its parts combined as documented (ensemble_model.h), one
// file that loads back to the same predictions, a calibrated interval, and its file errors.
#include "fragua/materials/ensemble_model.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/materials/extra_trees.h"
#include "fragua/materials/features.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/validation.h"
#include "small_data.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::small_dataset;
using testing::small_options;
using testing::table;

// The third gate trained directly as the ensemble trains it (extra_trees.h on the features, label
// gap == 0, the options' seed), predicting `comps`.
std::vector<double> third_gate_directly(const Dataset& d, const PropertyModelOptions& o,
                                        const std::vector<Composition>& comps) {
  Featurizer fz(table());
  std::vector<double> zero;
  for (double v : d.y) zero.push_back(v == 0 ? 1 : 0);
  ExtraTreesConfig ec;
  ec.n_trees = o.extra_trees;
  ec.seed = o.trees.seed;
  auto et = ExtraTreesClassifier::train(fz.featurize_all(d.comps, 1), fz.size(), zero, ec);
  EXPECT_TRUE(et.ok());
  return et.ok() ? *et->predict_proba(fz.featurize_all(comps, 1), fz.size(), 1) : std::vector<double>{};
}

TEST(EnsembleModel, CombinationRuleByHand) {
  // Row 0: both gates unsure of a metal; row 1: the gates disagree, their mean says metal.
  Prediction a, b;
  a.p_zero = {0.2, 0.9};
  b.p_zero = {0.4, 0.3};
  a.value = {1.0, 2.0};
  b.value = {1.4, 3.0};
  a.value_std = {0.1, 0.3};
  b.value_std = {0.3, 0.1};
  a.mean = {1.0, 0.0};
  b.mean = {1.4, 3.0};
  a.std = b.std = {9, 9};  // not used when both are gated
  auto p = combine_families(a, b);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  // p = 0.3, r = 1.2, s^2 = (0.01 + 0.09) / 2 + 0.2^2 = 0.09; std^2 = q (s^2 + r^2) - (q r)^2.
  EXPECT_DOUBLE_EQ(p->p_zero[0], 0.3);
  EXPECT_DOUBLE_EQ(p->mean[0], 1.2);
  EXPECT_NEAR(p->value_std[0], 0.3, 1e-12);
  EXPECT_NEAR(p->std[0], std::sqrt(0.7 * (0.09 + 1.44) - 0.49 * 1.44), 1e-12);
  // p = 0.6 >= 1/2: the point is 0 although one family alone predicted 3 eV.
  EXPECT_DOUBLE_EQ(p->p_zero[1], 0.6);
  EXPECT_EQ(p->mean[1], 0.0);
  EXPECT_DOUBLE_EQ(p->value[1], 2.5);
  // A gate weight weighs the first family's gate; the values stay equally weighted.
  auto w = combine_families(a, b, 0.7);
  ASSERT_TRUE(w.ok());
  EXPECT_DOUBLE_EQ(w->p_zero[0], 0.7 * 0.2 + 0.3 * 0.4);
  EXPECT_DOUBLE_EQ(w->p_zero[1], 0.7 * 0.9 + 0.3 * 0.3);
  EXPECT_EQ(w->mean[1], 0.0);
  EXPECT_DOUBLE_EQ(w->value[0], 1.2);
  // A third gate (the extremely randomized trees' p) takes its weight from the second family's.
  const std::vector<double> p3 = {0.1, 0.8};
  auto t = combine_families(a, b, 0.2, &p3, 0.5);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->p_zero[0], 0.2 * 0.2 + 0.3 * 0.4 + 0.5 * 0.1);
  EXPECT_DOUBLE_EQ(t->p_zero[1], 0.2 * 0.9 + 0.3 * 0.3 + 0.5 * 0.8);
  EXPECT_DOUBLE_EQ(t->value[0], 1.2);
  EXPECT_FALSE(combine_families(a, b, 0.6, &p3, 0.5).ok());  // weights above 1 together
  const std::vector<double> short3 = {0.1};
  EXPECT_FALSE(combine_families(a, b, 0.2, &short3, 0.5).ok());

  // Without gates the points are averaged with the equal mixture's spread.
  Prediction c, d;
  c.mean = {2.0};
  c.std = {0.0};
  d.mean = {4.0};
  d.std = {0.0};
  auto q = combine_families(c, d);
  ASSERT_TRUE(q.ok());
  EXPECT_DOUBLE_EQ(q->mean[0], 3.0);
  EXPECT_DOUBLE_EQ(q->std[0], 1.0);
  EXPECT_TRUE(q->p_zero.empty());
  d.mean.push_back(1);
  EXPECT_FALSE(combine_families(c, d).ok());
}

// The mixture's CDF at x >= 0: p + (1 - p) Phi((log1p(x) - log1p(r)) / s), Phi from std::erfc.
double mixture_cdf_by_hand(double p, double r, double s, double x) {
  return p + (1 - p) * 0.5 * std::erfc(-(std::log1p(x) - std::log1p(r)) / (s * std::sqrt(2.0)));
}

TEST(EnsembleModel, MixtureMedianByHand) {
  // The point is where the mixture's CDF crosses 1/2.
  for (double p : {0.0, 0.1, 0.3, 0.45, 0.49}) {
    for (double s : {0.1, 0.3, 0.6}) {
      const double m = gate_mixture_median(p, 1.2, s);
      if (m > 0)
        EXPECT_NEAR(mixture_cdf_by_hand(p, 1.2, s, m), 0.5, 1e-9) << p << " " << s;
      else  // the median would be below 0, where the target cannot be: half the mass is at 0 already
        EXPECT_GE(mixture_cdf_by_hand(p, 1.2, s, 0.0), 0.5) << p << " " << s;
      EXPECT_LE(m, 1.2);
    }
  }
  EXPECT_NEAR(gate_mixture_median(0.0, 1.2, 0.3), 1.2, 1e-9);  // no mass at 0: the value's median
  EXPECT_EQ(gate_mixture_median(0.3, 1.2, 0.0), 1.2);          // spread 0: the plain gated point
  EXPECT_EQ(gate_mixture_median(0.5, 2.5, 0.3), 0.0);
  EXPECT_EQ(gate_mixture_median(0.6, 2.5, 0.0), 0.0);
  // Close to p = 1/2 the quantile runs out below 0: the point is 0, not negative.
  EXPECT_EQ(gate_mixture_median(0.4999, 0.2, 0.6), 0.0);
}

TEST(EnsembleModel, MixtureSpreadFitRecoversTheSpreadOfDataDrawnFromIt) {
  // Targets drawn from p delta(0) + (1 - p) exp(N(log1p(r), 0.3^2)) - 1: every row's MAE-optimal
  // point is its mixture's median at the true spread, so the fit lands near 0.3.
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> up(0.0, 0.7), ur(0.3, 4.0), u01(0.0, 1.0);
  std::normal_distribution<double> n01;
  Prediction p;
  std::vector<double> y;
  for (int i = 0; i < 6000; ++i) {
    const double pz = up(rng), r = ur(rng);
    p.p_zero.push_back(pz);
    p.value.push_back(r);
    p.mean.push_back(pz >= 0.5 ? 0 : r);
    y.push_back(u01(rng) < pz ? 0.0 : std::expm1(std::log1p(r) + 0.3 * n01(rng)));
  }
  const double s = fit_mixture_log_spread(y, p);
  EXPECT_NEAR(s, 0.3, 0.06);
  // On a subset of rows, and 0 for a prediction without a gate.
  std::vector<size_t> half;
  for (size_t i = 0; i < y.size(); i += 2) half.push_back(i);
  EXPECT_NEAR(fit_mixture_log_spread(y, p, half), 0.3, 0.08);
  Prediction ungated;
  ungated.mean = p.mean;
  EXPECT_EQ(fit_mixture_log_spread(y, ungated), 0.0);
  // The points it gives beat the plain gate on these rows.
  Prediction q = p;
  apply_mixture_median(q, s);
  EXPECT_LT(mean_absolute_error(y, q.mean), mean_absolute_error(y, p.mean) - 0.005);
}

TEST(EnsembleModel, EqualsItsPartsCombinedAndLoadsBackFromOneFile) {
  ProgressBar::set_enabled(false);
  const Dataset d = small_dataset();
  const std::vector<Composition> probe = {*parse_formula("ZnTe", table()), *parse_formula("InN", table()),
                                          *parse_formula("Cu3Au", table())};
  PropertyModelOptions o = small_options();
  o.calibration_folds = 0;  // the raw combination first
  auto m = make_property_model("ensemble", o);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ((*m)->family(), "ensemble");
  EXPECT_FALSE((*m)->predict(probe, table()).ok());
  ASSERT_TRUE((*m)->train(d, table()).ok());
  EXPECT_EQ((*m)->describe(), "2 tree + 2 attention members + a gate of 40 extremely randomized trees");
  auto p = (*m)->predict(probe, table(), 1);
  ASSERT_TRUE(p.ok()) << p.error().to_string();

  // The parts, trained directly with the same settings, combined by the documented rule.
  std::vector<Prediction> parts;
  for (const std::string family : {"xgboost", "attention"}) {
    auto part = make_property_model(family, o);
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE((*part)->train(d, table()).ok());
    parts.push_back(*(*part)->predict(probe, table(), 1));
  }
  // Without calibration folds the rule stays at equal gates and no weight on the third gate.
  EXPECT_EQ((*m)->config_json().at("third_weight").get<double>(), 0.0);
  auto want = combine_families(parts[0], parts[1]);
  ASSERT_TRUE(want.ok());
  for (size_t i = 0; i < probe.size(); ++i) {
    EXPECT_NEAR(p->mean[i], want->mean[i], 1e-4 * (1 + want->mean[i])) << i;
    EXPECT_NEAR(p->p_zero[i], want->p_zero[i], 1e-4) << i;
    EXPECT_NEAR(p->std[i], want->std[i], 1e-4 * (1 + want->std[i])) << i;
  }

  test::TempDir dir;
  const std::string path = dir.file("gap.ens");
  ASSERT_TRUE((*m)->save(path, {{"command", "test"}, {"target", "gap_eV"}}).ok());
  auto back = load_property_model(path);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ((*back)->family(), "ensemble");
  EXPECT_EQ((*back)->target(), "gap_eV");
  auto q = (*back)->predict(probe, table(), 1);
  ASSERT_TRUE(q.ok());
  for (size_t i = 0; i < probe.size(); ++i) EXPECT_NEAR(q->mean[i], p->mean[i], 1e-5 * (1 + p->mean[i])) << i;

  // Damaged files: errors name the file and what is wrong, never a crash.
  auto bytes = *read_file(path);
  ASSERT_TRUE(write_file_atomic(dir.file("cut.ens"), bytes.substr(0, bytes.size() - 10)).ok());
  auto cut = load_property_model(dir.file("cut.ens"));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().to_string().find("cut.ens"), std::string::npos) << cut.error().to_string();
  EXPECT_NE(cut.error().to_string().find("do not add up"), std::string::npos) << cut.error().to_string();
  ASSERT_TRUE(write_file_atomic(dir.file("head.ens"), std::string(kFamilyEnsembleMagic) + "{\"xgboost_bytes\": 1").ok());
  EXPECT_FALSE(load_property_model(dir.file("head.ens")).ok());
  // A header that gives the third gate weight without its trees is refused by name.
  const size_t eol = bytes.find('\n', kFamilyEnsembleMagic.size());
  auto h = nlohmann::json::parse(bytes.substr(kFamilyEnsembleMagic.size(), eol - kFamilyEnsembleMagic.size()));
  ASSERT_TRUE(h.contains("extra_trees_bytes"));
  const size_t et_bytes = h.at("extra_trees_bytes").get<size_t>();
  h.erase("extra_trees_bytes");
  h["third_weight"] = 0.3;
  ASSERT_TRUE(write_file_atomic(dir.file("w3.ens"), std::string(kFamilyEnsembleMagic) + h.dump() + "\n" +
                                                        bytes.substr(eol + 1, bytes.size() - eol - 1 - et_bytes))
                  .ok());
  auto w3 = load_property_model(dir.file("w3.ens"));
  ASSERT_FALSE(w3.ok());
  EXPECT_NE(w3.error().message().find("third_weight 0.3 without"), std::string::npos) << w3.error().message();
  // Without it (a file from before the third gate, or --extra-trees 0) the two families load.
  h["third_weight"] = 0;
  ASSERT_TRUE(write_file_atomic(dir.file("two.ens"), std::string(kFamilyEnsembleMagic) + h.dump() + "\n" +
                                                         bytes.substr(eol + 1, bytes.size() - eol - 1 - et_bytes))
                  .ok());
  auto two = load_property_model(dir.file("two.ens"));
  ASSERT_TRUE(two.ok()) << two.error().to_string();
  EXPECT_EQ((*two)->describe(), "2 tree + 2 attention members");
  auto q2 = (*two)->predict(probe, table(), 1);
  ASSERT_TRUE(q2.ok());
  for (size_t i = 0; i < probe.size(); ++i) EXPECT_NEAR(q2->mean[i], p->mean[i], 1e-5 * (1 + p->mean[i])) << i;
}

TEST(EnsembleModel, TrainingWithCalibrationGivesAnInterval) {
  ProgressBar::set_enabled(false);
  const Dataset d = small_dataset();
  PropertyModelOptions o = small_options();
  o.calibration_folds = 3;
  o.attention.epochs = 5;
  auto m = make_property_model("ensemble", o);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE((*m)->train(d, table()).ok());
  EXPECT_EQ((*m)->describe(), "2 tree + 2 attention members + a gate of 40 extremely randomized trees, calibrated");
  auto p = (*m)->predict(d.comps, table(), 1);
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->lower.size(), d.size());
  const auto cal = (*m)->config_json().at("calibration");
  for (size_t i = 0; i < d.size(); ++i) {
    // The 95% interval is mean -/+ k95 std', k95 fitted per regime (calibration.h).
    const double k95 = cal.at(p->p_zero[i] >= 0.5 ? "zero" : "nonzero").at("k95").get<double>();
    EXPECT_GE(p->lower[i], 0.0);
    EXPECT_LE(p->lower[i], p->mean[i]);
    EXPECT_NEAR(p->upper[i], p->mean[i] + k95 * p->std[i], 1e-12);
    EXPECT_GT(p->std[i], 0.0) << "calibration keeps a floor under a zero spread";
  }
  EXPECT_EQ(cal.at("nonzero").at("n").get<size_t>() + cal.at("zero").at("n").get<size_t>(), d.size());

  // The point is the parts combined, then the mixture median at the spread the training's
  // out-of-fold run chose (ensemble_model.h); trained directly, the parts are the same members.
  const double s = (*m)->config_json().at("point_log_spread").get<double>();
  const double gw = (*m)->config_json().at("gate_weight").get<double>();
  const double tw = (*m)->config_json().at("third_weight").get<double>();
  EXPECT_GE(s, 0.0);
  EXPECT_LE(s, 0.6);
  EXPECT_GE(gw, 0.0);
  EXPECT_GE(tw, 0.0);
  EXPECT_LE(gw + tw, 1.0 + 1e-9);
  std::vector<Prediction> parts;
  for (const std::string family : {"xgboost", "attention"}) {
    auto part = make_property_model(family, o);
    ASSERT_TRUE(part.ok());
    ASSERT_TRUE((*part)->train(d, table()).ok());
    parts.push_back(*(*part)->predict(d.comps, table(), 1));
  }
  const std::vector<double> p3 = third_gate_directly(d, o, d.comps);
  auto want = combine_families(parts[0], parts[1], gw, &p3, tw);
  ASSERT_TRUE(want.ok());
  for (size_t i = 0; i < d.size(); ++i) {
    const double point = gate_mixture_median(want->p_zero[i], want->value[i], s);
    EXPECT_NEAR(p->mean[i], point, 1e-4 * (1 + point)) << i;
  }
  // The spread travels in the file.
  test::TempDir dir;
  ASSERT_TRUE((*m)->save(dir.file("cal.ens"), {{"command", "test"}}).ok());
  auto back = load_property_model(dir.file("cal.ens"));
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ((*back)->config_json().at("point_log_spread").get<double>(), s);
  EXPECT_EQ((*back)->config_json().at("gate_weight").get<double>(), gw);
  EXPECT_EQ((*back)->config_json().at("third_weight").get<double>(), tw);
  auto q = (*back)->predict(d.comps, table(), 1);
  ASSERT_TRUE(q.ok());
  for (size_t i = 0; i < d.size(); ++i) EXPECT_NEAR(q->mean[i], p->mean[i], 1e-5 * (1 + p->mean[i])) << i;
}

TEST(EnsembleModel, CrossValidationKeepsEachPartsOutOfFoldPredictions) {
  // One ensemble CV gives the three figures of the benchmark: the ensemble's and each family's
  // alone, from the same folds and the same trained members.
  ProgressBar::set_enabled(false);
  const Dataset d = small_dataset();
  PropertyModelOptions o = small_options();
  o.attention.epochs = 5;
  auto m = make_property_model("ensemble", o);
  ASSERT_TRUE(m.ok());
  auto r = (*m)->cross_validate(d, table(), 3, 7, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->parts.size(), 3u);
  EXPECT_EQ(r->parts[0].first, "xgboost");
  EXPECT_EQ(r->parts[1].first, "attention");
  EXPECT_EQ(r->parts[2].first, "extra_trees");
  ASSERT_EQ(r->part_mae.size(), 3u);
  // The third part is its gate over the two families' values.
  {
    auto c = *combine_families(r->parts[0].second, r->parts[1].second, 0, &r->parts[2].second.p_zero, 1);
    for (size_t i = 0; i < d.size(); ++i) EXPECT_DOUBLE_EQ(r->parts[2].second.mean[i], c.mean[i]) << i;
  }
  const std::vector<double>& p3 = r->parts[2].second.p_zero;
  // Each fold's point is the parts combined with a gate weight, then the mixture median at a
  // spread, both chosen on the other folds' rows only: the least MAE there over the grids,
  // whatever the fold's own rows would have preferred.
  ASSERT_EQ(r->per_fold.size(), 3u);
  for (int f = 0; f < 3; ++f) {
    const double s = r->per_fold[f].at("point_log_spread").get<double>();
    const double gw = r->per_fold[f].at("gate_weight").get<double>();
    const double tw = r->per_fold[f].at("third_weight").get<double>();
    auto mae_on = [&](bool own, double weight, double third, double spread) {
      auto c = *combine_families(r->parts[0].second, r->parts[1].second, weight, &p3, third);
      double e = 0;
      int n = 0;
      for (size_t i = 0; i < d.size(); ++i)
        if ((r->fold[i] == f) == own) {
          e += std::fabs(d.y[i] - gate_mixture_median(c.p_zero[i], c.value[i], spread));
          ++n;
        }
      return e / n;
    };
    const double chosen = mae_on(false, gw, tw, s);
    for (int j = 0; j <= 10; ++j)
      for (int e = 0; e <= std::min(9, 10 - j); ++e)
        for (int k = 0; k <= 60; k += 3)
          EXPECT_LE(chosen, mae_on(false, 0.1 * j, 0.1 * e, 0.01 * k) + 1e-12) << f << " " << j << " " << e << " " << k;
    EXPECT_NEAR(r->per_fold[f].at("mae").get<double>(), mae_on(true, gw, tw, s), 1e-12);
    EXPECT_NEAR(r->per_fold[f].at("mae_plain_gate").get<double>(), mae_on(true, 0.5, 0.0, 0.0), 1e-12);
    auto want = *combine_families(r->parts[0].second, r->parts[1].second, gw, &p3, tw);
    for (size_t i = 0; i < d.size(); ++i) {
      if (r->fold[i] != f) continue;
      EXPECT_DOUBLE_EQ(r->oof.mean[i], gate_mixture_median(want.p_zero[i], want.value[i], s)) << i;
      EXPECT_DOUBLE_EQ(r->oof.p_zero[i], want.p_zero[i]) << i;
    }
  }
  double mae = 0;
  for (size_t i = 0; i < d.size(); ++i) mae += std::fabs(d.y[i] - r->oof.mean[i]) / d.size();
  EXPECT_NEAR(r->mae, mae, 1e-12);
  for (size_t k = 0; k < 3; ++k) {
    double mae = 0;
    for (size_t i = 0; i < d.size(); ++i) mae += std::fabs(d.y[i] - r->parts[k].second.mean[i]) / d.size();
    EXPECT_NEAR(r->part_mae[k], mae, 1e-12);
  }
}

}  // namespace
}  // namespace fragua::materials
