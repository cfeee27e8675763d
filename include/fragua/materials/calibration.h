// SPDX-License-Identifier: Apache-2.0
// Calibrated uncertainty for property models. An ensemble's spread is not a calibrated error
// bar: on the band-gap data the tree ensemble's std is about 2.7x too small on non-metals, and a
// gate that is sure of a metal gives std 0 even when it is wrong. A calibration rescales the std
// per regime (predicted zero, i.e. p_zero >= 1/2, and the rest) as std' = a std + b, with a and b
// fitted on out-of-fold errors so that about 68% of the errors fall within 1 std' and 95% within
// 2 std' (a scaled, normalised split-conformal interval: Papadopoulos et al. 2002; Lei et al.,
// JASA 113, 1094 (2018)). b keeps a floor under a zero spread.
#pragma once

#include <cstddef>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

struct RegimeScale {
  double a = 1, b = 0;
  size_t n = 0;  // rows it was fitted on
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

// Replaces p.std by the calibrated std of each row and fills p.lower/p.upper with
// mean -/+ 2 std' (lower not below 0 when the prediction has a gate: the target is >= 0).
// Without a fitted calibration it fills the interval from the raw std.
void apply_calibration(const Calibration& c, Prediction& p);

// Share of rows with |y - mean| <= k std.
double share_within(const std::vector<double>& y, const std::vector<double>& mean, const std::vector<double>& std,
                    double k);

}  // namespace fragua::materials
