// SPDX-License-Identifier: Apache-2.0
// Property models: an ensemble of gradient-boosted tree models (XGBoost C API) over composition
// features. Members differ in their random seed (row and column subsampling) and, optionally,
// a bootstrap resample of the training rows; the spread of their predictions is the
// uncertainty reported with every prediction (Lakshminarayanan et al. 2017's deep-ensemble idea
// applied to trees).
//
// Band gaps are a mixture: about half of the measured compounds are metals with a gap of exactly
// 0, the rest spread over 0.1-12 eV. One regressor has to bend around that step. The "zero gate"
// splits the problem in two (the classify-then-regress scheme of Zhuo, Mansouri Tehrani & Brgoch,
// J. Phys. Chem. Lett. 9, 1668 (2018), who built the data set): a classifier ensemble for
// p(y = 0) on all rows and a regressor ensemble on the rows with y != 0, optionally on log(1 + y)
// (gaps are skewed: many near 1 eV, a tail to 12). The point prediction is the median of the
// mixture p * delta(0) + (1 - p) * regressor when p >= 1/2, i.e. 0, and the regressor's value
// otherwise (the MAE-optimal choice when the regressor's spread is small).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/metrics.h"

namespace fragua::materials {

enum class Task { regression, classification };
Result<Task> parse_task(std::string_view name);
const char* task_name(Task t);

struct TrainConfig {
  Task task = Task::regression;
  std::string objective;  // "" = reg:squarederror / binary:logistic
  int n_models = 5;
  int n_rounds = 500;
  double eta = 0.05;
  int max_depth = 7;
  double subsample = 0.8;
  double colsample = 0.5;
  double min_child_weight = 1;
  double lambda = 1;
  bool bootstrap = false;
  // Regression only; "auto", "on" or "off". zero_gate auto = on when all targets are >= 0 and at
  // least 10% (and not all) of them are exactly 0. log_target auto = on when all targets are
  // >= 0. A trained model's config() holds the resolved "on"/"off".
  std::string zero_gate = "auto";
  std::string log_target = "auto";
  int threads = 0;  // 0 = all cores
  uint32_t seed = 42;
};
nlohmann::json config_to_json(const TrainConfig& c);
Result<TrainConfig> config_from_json(const nlohmann::json& j);

// Per-row ensemble mean and standard deviation. Classification: the mean probability of the
// positive class (label 1) and its spread. With a zero gate: mean is the gated point prediction,
// std the standard deviation of the mixture p * delta(0) + (1 - p) * N(r, s^2) (r, s: the
// regressor ensemble's mean and spread), and p_zero holds p (empty without a gate).
// value/value_std: the regressor's mean r and spread s before the gate (empty without one), so
// that two gated models can be combined gate with gate and value with value (ensemble_model.h).
// lower/upper: a calibrated 95% interval (mean -/+ 2 std, not below 0 for a gated model), filled
// by apply_calibration (calibration.h); empty otherwise.
struct Prediction {
  std::vector<double> mean, std, p_zero;
  std::vector<double> value, value_std;
  std::vector<double> lower, upper;
};

// Resolves "auto" in zero_gate/log_target against the training targets; errors on a bad value or
// on "on" where the targets do not allow it (log_target with a target < 0; zero_gate without
// both zero and non-zero targets).
Result<TrainConfig> resolve_target_options(TrainConfig cfg, const std::vector<double>& y);

class Model {
 public:
  Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  // x is row-major, rows = y.size(); NaN marks a missing value.
  static Result<Model> train(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                             const TrainConfig& cfg, std::string feature_signature);
  Result<Prediction> predict(const std::vector<float>& x, size_t n_features) const;

  // File: a magic line "FRAGUA_MATERIALS_MODEL 2", one JSON header line (config, feature
  // signature, member sizes, gate member sizes, provenance), then each member as XGBoost UBJSON,
  // regressors first. Version 1 files (no gate) still load.
  Status save(const std::string& path, const nlohmann::json& provenance) const;
  static Result<Model> load(const std::string& path);
  // The same bytes in memory (a model inside another file); `name` appears in errors.
  Result<std::string> to_bytes(const nlohmann::json& provenance) const;
  static Result<Model> parse(std::string_view data, const std::string& name);

  const TrainConfig& config() const;
  // The provenance a loaded file carries (null for a model trained here).
  const nlohmann::json& provenance() const;
  const std::string& feature_signature() const;
  size_t n_features() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ElementTable;
class Composition;
// Featurizes compositions (Magpie-style, features.h) and predicts; fails when the model was
// trained on a different feature definition.
Result<Prediction> predict_compositions(const Model& model, const std::vector<Composition>& comps,
                                        const ElementTable& table, int threads = 0);

// Coverage of calibrated uncertainties on one group of rows (calibration.h).
struct RegimeCoverage {
  size_t n = 0;
  double within_1sd = 0, within_2sd = 0, within_95 = 0;  // within_95: inside the 95% interval
};

struct CvResult {
  std::vector<int> fold;  // test fold of each row
  Prediction oof;         // out-of-fold predictions
  std::vector<nlohmann::json> per_fold;
  double mae = 0, rmse = 0, auc = 0;  // regression: mae/rmse; classification: auc (+ mae of p)
  double gate_auc = 0;                // zero gate: ROC-AUC of p_zero for y == 0 (NaN without)
  // Share of rows whose out-of-fold error is within 1 and 2 std: as the model gives std (raw),
  // and after a calibration fitted on the other folds' out-of-fold errors (calibration.h;
  // calibrated_std holds that std per row). Regression only (NaN for classification).
  double raw_within_1sd = 0, raw_within_2sd = 0;
  double calibrated_within_1sd = 0, calibrated_within_2sd = 0;
  std::vector<double> calibrated_std;
  // The calibrated 95% interval (mean -/+ calibrated_halfwidth95, cross-fitted as above) and the
  // calibrated coverage per regime: all rows, rows the gate does not predict 0, rows it does.
  double calibrated_within_95 = 0;
  std::vector<double> calibrated_halfwidth95;
  RegimeCoverage calibrated_nonzero, calibrated_zero;
  // Out-of-fold predictions of a combined model's parts, by name (the two-family ensemble: its
  // "xgboost" and "attention" members, trained in the same folds); empty for one family.
  std::vector<std::pair<std::string, Prediction>> parts;
  std::vector<double> part_mae;  // MAE of each part's point prediction
};

// Combines ensemble member outputs (members[m][i]: member m's value for row i, in the model's
// target space) into a Prediction: the mean over members and their sample standard deviation.
// With log_target the members average in log space (robust to one member's overshoot), the
// point is max(0, expm1(mean)) and the spread is measured after mapping back to the target.
Prediction ensemble_prediction(const std::vector<std::vector<float>>& members, bool log_target);
// Folds a zero gate into a regression prediction: gate[m][i] is member m's p(y_i = 0). Sets
// p_zero to their mean; the point becomes 0 where p_zero >= 1/2; std becomes the mixture's.
void apply_zero_gate(Prediction& p, const std::vector<std::vector<float>>& gate);
// The gated point and mixture std from p_zero, value and value_std (sizes equal to mean's).
void gate_mixture(Prediction& p);

// The mixture median, an MAE-optimal point for a gated model: the median of
// p delta(0) + (1 - p) Y, where log(1 + Y) ~ N(log(1 + value), log_spread^2). That is 0 where
// p >= 1/2, else Y's (1/2 - p) / (1 - p) quantile (not below 0): a value pulled towards 0 the
// closer p is to 1/2. log_spread 0 gives the plain gated point (value where p < 1/2). On the
// band-gap out-of-fold predictions it gains about 0.008 eV over the plain gate
// (docs/benchmarks/materials.md).
double gate_mixture_median(double p_zero, double value, double log_spread);
// Sets p.mean to gate_mixture_median of each row (p needs p_zero and value; a no-op without).
void apply_mixture_median(Prediction& p, double log_spread);
// The log_spread on a grid of 0, 0.01, ..., 0.6 whose mixture medians have the least MAE against
// y on rows `rows` (all rows when empty) of out-of-fold predictions p; 0 without a gate. Ties go
// to the smaller spread.
double fit_mixture_log_spread(const std::vector<double>& y, const Prediction& p, const std::vector<size_t>& rows = {});

// What one fold of a cross-validation produced: predictions for the test rows, in order, and
// model facts for the fold's metrics line.
struct FoldOutput {
  Prediction pred;
  nlohmann::json info;
  std::vector<std::pair<std::string, Prediction>> parts;  // see CvResult::parts; the same names every fold
};
using FoldFit =
    std::function<Result<FoldOutput>(const std::vector<size_t>& train_rows, const std::vector<size_t>& test_rows)>;
// A step run on the out-of-fold predictions once every fold is in, before the metrics are
// computed: it may change r.oof.mean and r.per_fold (the two-family ensemble fits its point rule
// there, each fold's from the other folds' rows: ensemble_model.h).
using CrossFitStep = std::function<void(const std::vector<double>& y, CvResult& r, int n_splits)>;
// Copies one fold's predictions of its test rows into whole-data (out-of-fold) arrays, each sized
// n on first use with NaN (a field the fold's prediction lacks stays empty).
void scatter_fold_prediction(const Prediction& pred, const std::vector<size_t>& test_rows, size_t n, Prediction& oof);
// k-fold cross-validation of any model (sklearn KFold semantics, see validation.h): fit is
// called once per fold; one metrics line per fold when `metrics` is open (written as each fold
// ends, or after `cross_fit` when there is one); a progress bar.
Result<CvResult> run_cross_validation(const std::vector<double>& y, Task task, int n_splits, uint32_t seed,
                                      MetricsWriter* metrics, const FoldFit& fit, const CrossFitStep& cross_fit = {});

// k-fold cross-validation of the XGBoost ensemble (run_cross_validation with Model::train).
Result<CvResult> cross_validate(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                                const TrainConfig& cfg, int n_splits, uint32_t seed, MetricsWriter* metrics = nullptr);

}  // namespace fragua::materials
