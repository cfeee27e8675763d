// SPDX-License-Identifier: Apache-2.0
// The two-family ensemble (`--family ensemble`): the XGBoost tree ensemble over Magpie features
// and the element-attention model, trained on the same rows and combined per composition, with a
// calibrated std (calibration.h). One file holds both models and the calibration.
//
// Combination (combine_families): with a zero gate in both, the gate probabilities are averaged
// (p = (p1 + p2) / 2), so are the regressors' values before the gate (r = (r1 + r2) / 2, spread
// s^2 = (s1^2 + s2^2) / 2 + ((r1 - r2) / 2)^2, the variance of the equal mixture of the two), and
// the gate is applied once to the result: 0 where p >= 1/2, else r, std from the mixture
// p delta(0) + (1 - p) N(r, s^2). Without a gate in both, the points are averaged the same way.
// Averaging gate with gate and value with value rather than the gated points is what the out-of-
// fold predictions favoured (docs/benchmarks/materials.md: 0.296 against 0.316 eV).
#pragma once

#include <memory>
#include <string>

#include "fragua/base/error.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

class PropertyModel;
struct PropertyModelOptions;

// The rule above, row by row; a and b must have the same rows.
Result<Prediction> combine_families(const Prediction& a, const Prediction& b);

std::unique_ptr<PropertyModel> make_family_ensemble(const PropertyModelOptions& opts);
// File: a magic line "FRAGUA_MATERIALS_ENSEMBLE 1", one JSON header line (config, calibration,
// provenance, the byte sizes of the two models), then the tree-ensemble file and the attention
// file as they would be written alone.
Result<std::unique_ptr<PropertyModel>> load_family_ensemble(const std::string& path);
inline constexpr std::string_view kFamilyEnsembleMagic = "FRAGUA_MATERIALS_ENSEMBLE 1\n";

}  // namespace fragua::materials
