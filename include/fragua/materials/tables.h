// SPDX-License-Identifier: Apache-2.0
// The CSV tables and JSON records of the materials workflow, built as text for the caller to print
// or write: features, predictions, out-of-fold predictions and their summary, enumerated
// candidates, substitutions and suggestions. Every table starts with a "# comment" line that
// carries the caller's provenance, and goes through the one CSV writer (csv_writer.h), so text
// cells are neutralised against CSV injection. Predicted values are printed with 6 significant
// digits ("{:.6g}").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/enumerate.h"
#include "fragua/materials/features.h"
#include "fragua/materials/model.h"
#include "fragua/materials/screen.h"

namespace fragua::materials {

class PropertyModel;

// id, composition, the featurizer's columns (empty where a value is missing), then the target
// column when the data has one.
// `column_names` (one per feature, e.g. fz.matminer_names()) replaces the featurizer's names in
// the header.
std::string features_csv(const Dataset& data, const Featurizer& fz, int threads, std::string_view comment,
                         const std::vector<std::string>* column_names = nullptr);

// id, composition, prediction, uncertainty, and p_zero when the model has a zero gate.
std::string predictions_csv(const Dataset& data, const Prediction& p, std::string_view comment);

// id, composition, fold, target, prediction, uncertainty of a cross-validation; with a zero gate also
// p_zero and the regressor's value and value_std before the gate (what combine_families averages),
// and calibrated_uncertainty (std', half the 68% interval) with the calibrated 95% interval
// lower_95, upper_95 when the cross-validation calibrated (regression); then, for a combined
// model, each part's NAME_prediction, NAME_uncertainty (NAME_p_zero, NAME_value, NAME_value_std).
std::string cv_predictions_csv(const Dataset& data, const CvResult& r, std::string_view comment);

// The "cv_summary" metrics record: the data, the protocol, the model's family and settings, MAE and
// RMSE, ROC-AUC for classification, the zero gate's ROC-AUC when it has one.
nlohmann::json cv_summary(const CvResult& r, const PropertyModel& model, const std::string& data, size_t rows,
                          int n_splits, uint32_t seed);

// composition (e.g. "Cu2ZnSnS4") and oxidation_states (e.g. "Cu+1;Zn+2;Sn+4;S-2") of every
// composition over every `size`-element subset of `pool`, subsets in lexicographic order of
// their positions in the pool. `progress` is told (subsets done, subsets in all).
struct EnumerationTable {
  std::string csv;
  size_t n_compositions = 0;
};
Result<EnumerationTable> enumeration_csv(const std::vector<int>& pool, int size, const ElementTable& table,
                                         const EnumerateOptions& opts, std::string_view comment,
                                         const ProgressCallback& progress = {});

// composition, species, probability of ion substitutions (amounts: those of the known compound,
// or empty for 1 each).
std::string substitutions_csv(const std::vector<SubstitutionModel::Substitution>& subs,
                              const std::vector<double>& amounts, std::string_view comment);

// rank, id, composition, prediction, uncertainty, expected_improvement.
std::string suggestions_csv(const std::vector<ScreenRow>& rows, const std::vector<Suggestion>& picks,
                            std::string_view comment);

// Parity plot: predicted (with ±1 std bars) against measured values, the y = x line and the MAE
// in the title line; both axes share one range fitted to the data with round ticks.
Status write_parity_svg(const std::string& path, const std::vector<double>& measured, const Prediction& predicted,
                        const std::string& title);

}  // namespace fragua::materials
