// SPDX-License-Identifier: Apache-2.0
// Calibrated std (calibration.h): fitted on one half of synthetic out-of-fold errors whose raw
// std is 2.7 times too small on one regime and 0 on part of the other, it covers about 68% / 95%
// of the other half within 1 / 2 std.
#include "fragua/materials/calibration.h"

#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "fragua/materials/dataset.h"
#include "fragua/materials/property_model.h"
#include "fragua/materials/validation.h"
#include "golden.h"
#include "test_util.h"

namespace fragua::materials {
namespace {

using testing::table;

struct Synthetic {
  std::vector<double> y;
  Prediction p;
};

// Non-metals (p_zero < 1/2): errors N(0, (2.7 s)^2) with s the raw std; predicted metals: a true
// zero most of the time, else a gap of a few eV the gate missed, with raw std 0 on a third.
Synthetic synthetic_errors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::normal_distribution<double> g(0, 1);
  Synthetic s;
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      const double sd = 0.05 + 0.3 * u(rng), mean = 0.5 + 3 * u(rng);
      s.p.mean.push_back(mean);
      s.p.std.push_back(sd);
      s.p.p_zero.push_back(0.2 * u(rng));
      s.y.push_back(mean + 2.7 * sd * g(rng));
    } else {
      const double sd = i % 3 == 0 ? 0.0 : 0.5 * u(rng);
      s.p.mean.push_back(0.0);
      s.p.std.push_back(sd);
      s.p.p_zero.push_back(0.6 + 0.4 * u(rng));
      s.y.push_back(u(rng) < 0.6 ? 0.0 : std::fabs(0.3 + sd + 1.5 * g(rng)));
    }
  }
  return s;
}

TEST(Calibration, CoversHeldOutErrorsAt68And95) {
  Synthetic s = synthetic_errors(4000, 7);
  std::vector<size_t> fit_rows, held;
  for (size_t i = 0; i < s.y.size(); ++i) (i % 4 < 2 ? fit_rows : held).push_back(i);
  const Calibration c = fit_calibration(s.y, s.p, fit_rows);
  ASSERT_TRUE(c.fitted);
  EXPECT_GT(c.nonzero.a, 1.5);  // the 2.7x too small spread is found (with a floor b beside it)
  EXPECT_GT(c.zero.b, 0.0);     // a floor under the zero spreads
  std::vector<double> y, mean, raw, cal;
  for (size_t i : held) {
    y.push_back(s.y[i]);
    mean.push_back(s.p.mean[i]);
    raw.push_back(s.p.std[i]);
    cal.push_back(calibrated_std(c, s.p, i));
  }
  EXPECT_LT(share_within(y, mean, raw, 1), 0.5);  // the raw std is far too small
  EXPECT_NEAR(share_within(y, mean, cal, 1), 0.68, 0.05);
  EXPECT_NEAR(share_within(y, mean, cal, 2), 0.95, 0.05);
}

TEST(Calibration, ARegimeOfMostlyExactZerosIsFittedFor95At2Sd) {
  // Predicted metals: 90% are metals (error exactly 0, more than 68% at any scale), the rest
  // non-metals the gate missed, with errors of a few eV that the raw std barely covers.
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> y;
  Prediction p;
  for (int i = 0; i < 4000; ++i) {
    const double sd = 0.4 * u(rng);
    p.mean.push_back(0);
    p.std.push_back(sd);
    p.p_zero.push_back(0.7 + 0.3 * u(rng));
    y.push_back(u(rng) < 0.9 ? 0.0 : 0.5 + 3 * u(rng) * (1 + sd));
  }
  std::vector<size_t> fit_rows, held;
  for (size_t i = 0; i < y.size(); ++i) (i % 2 ? held : fit_rows).push_back(i);
  const Calibration c = fit_calibration(y, p, fit_rows);
  std::vector<double> yh, mh, ch;
  for (size_t i : held) {
    yh.push_back(y[i]);
    mh.push_back(0);
    ch.push_back(calibrated_std(c, p, i));
  }
  EXPECT_NEAR(share_within(yh, mh, ch, 2), 0.95, 0.02);
  EXPECT_GE(share_within(yh, mh, ch, 1), 0.9);  // the exact zeros: more cannot be helped
}

TEST(Calibration, IntervalAndJsonRoundTrip) {
  Synthetic s = synthetic_errors(400, 3);
  const Calibration c = fit_calibration(s.y, s.p);
  auto back = Calibration::from_json(c.to_json(), "m.ens");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(back->nonzero.a, c.nonzero.a);
  EXPECT_EQ(back->zero.b, c.zero.b);
  Prediction p = s.p;
  apply_calibration(*back, p);
  for (size_t i = 0; i < p.mean.size(); ++i) {
    EXPECT_DOUBLE_EQ(p.std[i], calibrated_std(c, s.p, i));
    const double k95 = s.p.p_zero[i] >= 0.5 ? c.zero.k95 : c.nonzero.k95;
    EXPECT_DOUBLE_EQ(calibrated_halfwidth95(c, s.p, i), k95 * p.std[i]);
    EXPECT_EQ(p.lower[i], std::max(0.0, p.mean[i] - calibrated_halfwidth95(c, s.p, i)));
    EXPECT_EQ(p.upper[i], p.mean[i] + calibrated_halfwidth95(c, s.p, i));
  }
  EXPECT_EQ(back->nonzero.k95, c.nonzero.k95);
  // A file written before k95 existed keeps its interval of 2 std'.
  auto old = Calibration::from_json({{"nonzero", {{"a", 2}, {"b", 0.1}}}, {"zero", {{"a", 0}, {"b", 0.5}}}}, "m.ens");
  ASSERT_TRUE(old.ok()) << old.error().to_string();
  EXPECT_EQ(old->nonzero.k95, 2.0);
  EXPECT_EQ(old->zero.k95, 2.0);
  auto bad_k = Calibration::from_json(
      {{"nonzero", {{"a", 2}, {"b", 0.1}, {"k95", "x"}}}, {"zero", {{"a", 0}, {"b", 0.5}}}}, "m.ens");
  ASSERT_FALSE(bad_k.ok());
  EXPECT_NE(bad_k.error().to_string().find("m.ens: calibration.nonzero.k95"), std::string::npos)
      << bad_k.error().to_string();
  auto bad = Calibration::from_json({{"nonzero", {{"a", -1}, {"b", 0}}}, {"zero", {{"a", 1}, {"b", 0}}}}, "m.ens");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("m.ens: calibration.nonzero.a"), std::string::npos) << bad.error().to_string();
  EXPECT_FALSE(Calibration::from_json(nlohmann::json::array(), "m.ens").ok());
  EXPECT_FALSE(Calibration::from_json(nullptr, "m.ens")->fitted);
}

// Band-gap-like out-of-fold errors: non-metals with Laplace errors (what the band-gap CV shows:
// |err|/std has q95/q68 of about 2.5, a Laplace 2.6, a normal 2), the raw std 2.7x too small and
// only partly informative; predicted metals mostly exact zeros. One std' for 68% leaves 2 std'
// short of 95%; the separately calibrated 95% interval reaches it.
Synthetic laplace_errors(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::exponential_distribution<double> ex(1.0);
  Synthetic s;
  for (size_t i = 0; i < n; ++i) {
    if (i % 2 == 0) {
      const double sd = 0.05 + 0.3 * u(rng), mean = 0.5 + 3 * u(rng);
      const double scale = 2.7 * sd * (0.5 + u(rng)) / std::sqrt(2.0);  // Laplace with std ~ 2.7 sd
      s.p.mean.push_back(mean);
      s.p.std.push_back(sd);
      s.p.p_zero.push_back(0.2 * u(rng));
      s.y.push_back(std::max(0.0, mean + (u(rng) < 0.5 ? -1 : 1) * scale * ex(rng)));
    } else {
      s.p.mean.push_back(0.0);
      s.p.std.push_back(0.5 * u(rng));
      s.p.p_zero.push_back(0.6 + 0.4 * u(rng));
      s.y.push_back(u(rng) < 0.9 ? 0.0 : 0.3 + 3 * u(rng));
    }
  }
  return s;
}

TEST(Calibration, HeavyTailedErrorsGet68At1SdAnd95InTheInterval) {
  Synthetic s = laplace_errors(6000, 13);
  std::vector<int> fold;
  for (size_t i = 0; i < s.y.size(); ++i) fold.push_back(static_cast<int>((i / 2) % 5));
  const CoverageReport r = cross_fitted_coverage(s.y, s.p, fold, 5);
  ASSERT_EQ(r.nonzero.n, 3000u);
  ASSERT_EQ(r.zero.n, 3000u);
  EXPECT_NEAR(r.nonzero.within_1sd, 0.68, 0.05);
  EXPECT_LT(r.nonzero.within_2sd, 0.935);  // the heavy tail: 2 std' falls short of 95%
  for (const RegimeCoverage* g : {&r.all, &r.nonzero, &r.zero}) EXPECT_NEAR(g->within_95, 0.95, 0.02);
  EXPECT_NEAR(r.zero.within_2sd, 0.95, 0.02);
  // The exact zeros (45% of all rows) are inside any std' >= 0.
  EXPECT_GT(r.all.within_1sd, 0.45 + 0.5 * 0.6);
  const Calibration c = fit_calibration(s.y, s.p);
  EXPECT_GT(c.nonzero.k95, 2.2);
  // The zero regime is fitted for 95% at 2 std', so its conformal 95% quantile lands near 2
  // (2.10 with this seed); the heavy-tailed regime needs well above 2.
  EXPECT_NEAR(c.zero.k95, 2.0, 0.2);
}

TEST(Calibration, CrossValidationReportsCoverage) {
  Synthetic s = synthetic_errors(2000, 11);
  // A "model" whose out-of-fold prediction for each row is the synthetic one.
  auto fit = [&](const std::vector<size_t>&, const std::vector<size_t>& test) -> Result<FoldOutput> {
    FoldOutput o;
    for (size_t i : test) {
      o.pred.mean.push_back(s.p.mean[i]);
      o.pred.std.push_back(s.p.std[i]);
      o.pred.p_zero.push_back(s.p.p_zero[i]);
    }
    return o;
  };
  auto r = run_cross_validation(s.y, Task::regression, 5, kMatbenchSeed, nullptr, fit);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_NEAR(r->raw_within_1sd, share_within(s.y, s.p.mean, s.p.std, 1), 1e-12);
  EXPECT_LT(r->raw_within_1sd, 0.5);
  EXPECT_NEAR(r->calibrated_within_1sd, 0.68, 0.05);
  EXPECT_NEAR(r->calibrated_within_2sd, 0.95, 0.05);
  EXPECT_NEAR(r->calibrated_within_95, 0.95, 0.03);
  EXPECT_EQ(r->calibrated_std.size(), s.y.size());
  EXPECT_EQ(r->calibrated_halfwidth95.size(), s.y.size());
  EXPECT_EQ(r->calibrated_nonzero.n + r->calibrated_zero.n, s.y.size());
  // The same numbers as the library's cross-fitted coverage.
  const CoverageReport c = cross_fitted_coverage(s.y, r->oof, r->fold, 5);
  EXPECT_EQ(c.nonzero.within_1sd, r->calibrated_nonzero.within_1sd);
  EXPECT_EQ(c.all.within_95, r->calibrated_within_95);
}

// The proof on the band-gap training data itself (the shared development split, 3683
// rows): a small tree ensemble's 5-fold CV, each fold calibrated on the other folds' out-of-fold
// errors. Where the gate predicts a gap, 68% within 1 std' and 95% inside the 95% interval; over
// all rows 95% inside the interval and within 2 std'. Small settings keep it to seconds; the
// full-size figures are in docs/benchmarks/materials.md.
TEST(Calibration, HeldOutCoverageOnTheBandGapData) {
  FRAGUA_REQUIRE_SHARED(path, "data/materials/matbench_expt_gap_train80.csv");
  auto d = read_dataset(path, table());
  ASSERT_TRUE(d.ok()) << d.error().to_string();
  PropertyModelOptions o;
  o.trees.n_models = 2;
  o.trees.n_rounds = 60;
  o.trees.eta = 0.15;
  o.trees.threads = 2;
  auto m = make_property_model("xgboost", o);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto r = (*m)->cross_validate(*d, table(), 5, kMatbenchSeed, nullptr);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_LT(r->mae, 0.45);
  EXPECT_LT(r->raw_within_2sd, 0.85);  // what calibration is for
  EXPECT_NEAR(r->calibrated_nonzero.within_1sd, 0.68, 0.05);
  EXPECT_NEAR(r->calibrated_nonzero.within_95, 0.95, 0.05);
  EXPECT_NEAR(r->calibrated_zero.within_95, 0.95, 0.05);
  EXPECT_NEAR(r->calibrated_within_95, 0.95, 0.05);
  EXPECT_NEAR(r->calibrated_within_2sd, 0.95, 0.05);
}

}  // namespace
}  // namespace fragua::materials
