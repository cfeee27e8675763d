// SPDX-License-Identifier: Apache-2.0
// The two-family ensemble: equal to its parts combined as documented (ensemble_model.h), one
// file that loads back to the same predictions, a calibrated interval, and its file errors.
#include "fragua/materials/ensemble_model.h"

#include <cmath>

#include "fragua/base/file.h"
#include "fragua/base/progress.h"
#include "fragua/materials/property_model.h"
#include "small_data.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::small_dataset;
using testing::small_options;
using testing::table;

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
  EXPECT_EQ((*m)->describe(), "2 tree + 2 attention members");
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
  EXPECT_EQ((*m)->describe(), "2 tree + 2 attention members, calibrated");
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
  ASSERT_EQ(r->parts.size(), 2u);
  EXPECT_EQ(r->parts[0].first, "xgboost");
  EXPECT_EQ(r->parts[1].first, "attention");
  ASSERT_EQ(r->part_mae.size(), 2u);
  auto want = combine_families(r->parts[0].second, r->parts[1].second);
  ASSERT_TRUE(want.ok()) << want.error().to_string();
  for (size_t i = 0; i < d.size(); ++i) {
    EXPECT_DOUBLE_EQ(r->oof.mean[i], want->mean[i]) << i;
    EXPECT_DOUBLE_EQ(r->oof.p_zero[i], want->p_zero[i]) << i;
  }
  for (size_t k = 0; k < 2; ++k) {
    double mae = 0;
    for (size_t i = 0; i < d.size(); ++i) mae += std::fabs(d.y[i] - r->parts[k].second.mean[i]) / d.size();
    EXPECT_NEAR(r->part_mae[k], mae, 1e-12);
  }
}

}  // namespace
}  // namespace fragua::materials
