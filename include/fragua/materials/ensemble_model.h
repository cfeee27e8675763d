// SPDX-License-Identifier: Apache-2.0
// The two-family ensemble (`--family ensemble`): the XGBoost tree ensemble over Magpie features
// and the element-attention model, trained on the same rows and combined per composition, with a
// calibrated std (calibration.h), and a third gate: extremely randomized trees (extra_trees.h) that
// vote on gap == 0 only (PropertyModelOptions::extra_trees; docs/benchmarks/materials.md, "A third
// family"). One file holds the models and the calibration.
//
// Combination (combine_families): with a zero gate in both, the gate probabilities are averaged
// (p = (p1 + p2) / 2, or weighted: gate_weight below), so are the regressors' values before the gate (r = (r1 + r2) / 2, spread
// s^2 = (s1^2 + s2^2) / 2 + ((r1 - r2) / 2)^2, the variance of the equal mixture of the two), and
// the gate is applied once to the result: 0 where p >= 1/2, else r, std from the mixture
// p delta(0) + (1 - p) N(r, s^2). Without a gate in both, the points are averaged the same way.
// Averaging gate with gate and value with value rather than the gated points is what the out-of-
// fold predictions favoured (docs/benchmarks/materials.md: 0.296 against 0.316 eV).
//
// predict: combine_families with the fitted gate weight, then the point is the mixture median
// (gate_mixture_median in model.h) with the fitted log spread, then the calibration
// (calibration.h) is applied. The gate weight and log spread (fit_ensemble_point_rule) are fitted
// when the model trains with calibration folds, on the out-of-fold predictions of that run (the
// file's "gate_weight" and "point_log_spread"; without calibration folds and in older files 0.5
// and 0: equal gates and the plain gated point). cross_validate fits them the same way,
// cross-fitted: each fold's from the other folds' out-of-fold rows (its per-fold line holds
// them and the MAE of the equal-weight plain gate).
#pragma once

#include <memory>
#include <string>

#include "fragua/base/error.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

class PropertyModel;
struct PropertyModelOptions;

// The rule above, row by row; a and b must have the same rows. gate_weight weighs a's gate
// probability, p = w p1 + (1 - w) p2 (the values stay equally weighted). With a third gate p3 (the
// extremely randomized trees' p(gap = 0), one per row) and its weight w3:
// p = w p1 + (1 - w - w3) p2 + w3 p3; w + w3 must not exceed 1.
Result<Prediction> combine_families(const Prediction& a, const Prediction& b, double gate_weight = 0.5,
                                    const std::vector<double>* third_gate = nullptr, double third_weight = 0);

// The ensemble's point rule: the gate weights of combine_families and the mixture median's log
// spread (model.h).
struct EnsemblePointRule {
  double gate_weight = 0.5;
  double log_spread = 0;
  double third_weight = 0;
};
// The rule with the least MAE against y on rows `rows` (all when empty) of the families'
// out-of-fold predictions: gate weights 0, 0.1, ..., 1 (with a third gate: every (w, w3) of that
// grid with w + w3 <= 1 and w3 <= 0.9, since the third gate's p is exactly 0 or 1 where all its
// trees agree and alone would give such rows a spread of 0), each with its fitted log spread
// (fit_mixture_log_spread). Ties go to the
// first found (the lower weights, w before w3). Without gates in both: {0.5, 0, 0}.
EnsemblePointRule fit_ensemble_point_rule(const std::vector<double>& y, const Prediction& a, const Prediction& b,
                                          const std::vector<size_t>& rows = {},
                                          const std::vector<double>* third_gate = nullptr);

std::unique_ptr<PropertyModel> make_family_ensemble(const PropertyModelOptions& opts);
// File: a magic line "FRAGUA_MATERIALS_ENSEMBLE 1", one JSON header line (config, calibration,
// provenance, the byte sizes of the models), then the tree-ensemble file and the attention file as
// they would be written alone, then (when the model has a third gate: "extra_trees_bytes" and
// "third_weight" in the header) the extremely randomized trees' bytes (extra_trees.h).
Result<std::unique_ptr<PropertyModel>> load_family_ensemble(const std::string& path);
inline constexpr std::string_view kFamilyEnsembleMagic = "FRAGUA_MATERIALS_ENSEMBLE 1\n";

}  // namespace fragua::materials
