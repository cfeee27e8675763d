// SPDX-License-Identifier: Apache-2.0
// Calibrated uncertainty for property models. An ensemble's spread is not a calibrated error
// bar: on the band-gap data the tree ensemble's std is about 2.7x too small on non-metals, and a
// gate that is sure of a metal gives std 0 even when it is wrong. A calibration rescales the std
// per regime (predicted zero, i.e. p_zero >= 1/2, and the rest) as std' = a std + b, with a and b
// fitted on out-of-fold errors so that about 68% of the errors fall within 1 std' and 95% within
// 2 std' (a scaled, normalised split-conformal interval: Papadopoulos et al. 2002; Lei et al.,
// JASA 113, 1094 (2018)). b keeps a floor under a zero spread.
//
// The errors are heavier-tailed than a normal (on the band-gap CV, |err|/std has q95/q68 of about
// 2.5 where a normal has 2: close to a Laplace's 2.6), so no scale puts both 68% within 1 std' and
// 95% within 2 std' (1 std' -> 68% leaves 2 std' at about 91%). The 95% interval is therefore
// calibrated on its own: mean -/+ k95 std', with k95 the split-conformal 95% quantile of
// |err| / std' on the same out-of-fold rows (about 2.5 on non-metals). std' is the half-width of
// the 68% interval; [lower, upper] the 95% one.
//
// A regime where more than 68% of the errors are exactly 0 (metals the gate got right) covers
// more than 68% within any std' >= 0; there std' is fitted for 95% within 2 std' (k95 about 2).
// Over all rows of a gated model 1 std' therefore covers more than 68% (about 82% on the band-gap
// data, where 48% of the out-of-fold errors are exactly 0); docs/materials.md has the arithmetic.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

struct RegimeScale {
  double a = 1, b = 0;
  double k95 = 2;  // the 95% interval is mean -/+ k95 std' (2 in files written before it existed)
  size_t n = 0;    // rows it was fitted on
};

struct Calibration {
  bool fitted = false;
  RegimeScale nonzero, zero;  // zero: rows predicted 0 by a gate (p_zero >= 1/2)

  nlohmann::json to_json() const;
  // Errors name `where` and the field.
  static Result<Calibration> from_json(const nlohmann::json& j, const std::string& where);
};

// Fits the scales on the rows `rows` (all rows when empty) of out-of-fold predictions `p` of
// targets `y`. A regime with fewer than 20 rows takes the scale fitted on all of them.
Calibration fit_calibration(const std::vector<double>& y, const Prediction& p, const std::vector<size_t>& rows = {});

// The calibrated std of row i of p (its raw std without a fitted calibration).
double calibrated_std(const Calibration& c, const Prediction& p, size_t i);

// The half-width of row i's calibrated 95% interval, k95 std' (2 std without a fitted calibration).
double calibrated_halfwidth95(const Calibration& c, const Prediction& p, size_t i);

// Replaces p.std by the calibrated std of each row and fills p.lower/p.upper with
// mean -/+ k95 std' (lower not below 0 when the prediction has a gate: the target is >= 0).
// Without a fitted calibration it fills the interval from the raw std (mean -/+ 2 std).
void apply_calibration(const Calibration& c, Prediction& p);

// Coverage of calibrated std's on rows the calibration did not see, overall and per regime (see
// cross_fitted_coverage).
// (RegimeCoverage is in model.h, beside CvResult.)
struct CoverageReport {
  RegimeCoverage all, nonzero, zero;
  std::vector<double> calibrated_std, halfwidth95;  // per row, from the calibration of the other folds
};
// Cross-fitted coverage: the rows of each fold are calibrated on the other folds' out-of-fold
// errors (nested: the calibration never sees the rows it is checked on). fold[i] in [0, n_splits).
CoverageReport cross_fitted_coverage(const std::vector<double>& y, const Prediction& oof, const std::vector<int>& fold,
                                     int n_splits);

// Share of rows with |y - mean| <= k std.
double share_within(const std::vector<double>& y, const std::vector<double>& mean, const std::vector<double>& std,
                    double k);

}  // namespace fragua::materials
