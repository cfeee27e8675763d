// Property models: an ensemble of gradient-boosted tree models (XGBoost C API) over composition
// features. Members differ in their random seed (row and column subsampling) and, optionally,
// a bootstrap resample of the training rows; the spread of their predictions is the
// uncertainty reported with every prediction (Lakshminarayanan et al. 2017's deep-ensemble idea
// applied to trees).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

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
  int n_rounds = 800;
  double eta = 0.03;
  int max_depth = 7;
  double subsample = 0.8;
  double colsample = 0.5;
  double min_child_weight = 1;
  double lambda = 1;
  bool bootstrap = false;
  int threads = 0;  // 0 = all cores
  uint32_t seed = 42;
};
nlohmann::json config_to_json(const TrainConfig& c);
Result<TrainConfig> config_from_json(const nlohmann::json& j);

// Per-row ensemble mean and standard deviation. Classification: the mean probability of the
// positive class (label 1) and its spread.
struct Prediction {
  std::vector<double> mean, std;
};

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

  // File: a magic line "FRAGUA_MATERIALS_MODEL 1", one JSON header line (config, feature
  // signature, member sizes, provenance), then each member as XGBoost UBJSON.
  Status save(const std::string& path, const nlohmann::json& provenance) const;
  static Result<Model> load(const std::string& path);

  const TrainConfig& config() const;
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

struct CvResult {
  std::vector<int> fold;           // test fold of each row
  Prediction oof;                  // out-of-fold predictions
  std::vector<nlohmann::json> per_fold;
  double mae = 0, rmse = 0, auc = 0;  // regression: mae/rmse; classification: auc (+ mae of p)
};

// k-fold cross-validation (sklearn KFold semantics, see validation.h); one metrics line per
// fold when `metrics` is open; a progress bar over folds.
Result<CvResult> cross_validate(const std::vector<float>& x, size_t n_features, const std::vector<double>& y,
                                const TrainConfig& cfg, int n_splits, uint32_t seed,
                                MetricsWriter* metrics = nullptr);

}  // namespace fragua::materials
