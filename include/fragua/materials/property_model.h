// SPDX-License-Identifier: Apache-2.0
// One interface for every property-model family: the XGBoost tree ensemble over Magpie features
// (model.h) and the attention model over element tokens (attention_model.h). A family is chosen
// by name through make_property_model, and a model file of any family is opened with
// load_property_model, so commands, screening and suggestion never name a family.
//
// Adding a family: a class implementing PropertyModel and one line in the family table of
// src/materials/property_model.cpp (its name, constructor, file recogniser and loader).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/metrics.h"
#include "fragua/materials/attention_model.h"
#include "fragua/materials/composition.h"
#include "fragua/materials/dataset.h"
#include "fragua/materials/elements.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

// The settings a family is made with. `trees` holds what every family shares (task, n_models,
// bootstrap, zero_gate, log_target, threads, seed) and the tree ensemble's own hyper-parameters;
// `attention` holds the attention model's own (its shared fields are taken from `trees`).
struct PropertyModelOptions {
  TrainConfig trees;
  AttentionConfig attention;
  // The two-family ensemble: folds of the out-of-fold run its calibration is fitted on when it
  // trains (0 = no calibration; the std is then the raw mixture's).
  int calibration_folds = 5;
  // The ensemble's third gate: extremely randomized trees (extra_trees.h) on the features, trained
  // on gap == 0 when the trees' zero gate is on; this many trees (0 = none, two gates as before).
  int extra_trees = 500;
};

// The attention model's settings with the shared fields (task, n_models, bootstrap, zero_gate,
// log_target, threads, seed) taken from `trees`.
AttentionConfig attention_config_of(const PropertyModelOptions& o);

class PropertyModel {
 public:
  virtual ~PropertyModel() = default;

  // The name make_property_model knows the family by ("xgboost", "attention", "ensemble").
  virtual std::string_view family() const = 0;
  virtual Task task() const = 0;
  // The target the model predicts: the training data's target column ("" when a file does not
  // record it).
  const std::string& target() const { return target_; }
  // The family's settings as JSON (as given before training, resolved after training or loading).
  virtual nlohmann::json config_json() const = 0;
  // Members for messages: "5 members", "5 attention members".
  virtual std::string describe() const = 0;

  // Fits the model to data.comps and data.y (replacing an earlier fit) and remembers
  // data.target_name. With a metrics path, a family that logs its training (the attention model:
  // loss per member and epoch) writes JSON lines there; one that does not creates no file.
  virtual Status train(const Dataset& data, const ElementTable& table, const std::string& metrics_path = "") = 0;
  // k-fold cross-validation of these settings with the Matbench protocol (run_cross_validation in
  // model.h); leaves this model as it was.
  virtual Result<CvResult> cross_validate(const Dataset& data, const ElementTable& table, int n_splits, uint32_t seed,
                                          MetricsWriter* metrics = nullptr) const = 0;
  // Per-composition value and uncertainty; an error before train() or load.
  virtual Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table,
                                     int threads = 0) const = 0;
  // The family's own file format, written atomically; `provenance` is stored in it (its
  // "target" entry is what target() returns after loading).
  virtual Status save(const std::string& path, const nlohmann::json& provenance) const = 0;

 protected:
  std::string target_;
};

// The family a command trains when none is named.
inline constexpr std::string_view kDefaultPropertyModel = "xgboost";

// The family names, in the order load_property_model tries their recognisers.
std::vector<std::string> property_model_families();
// An untrained model of the named family; errors name the families there are.
Result<std::unique_ptr<PropertyModel>> make_property_model(std::string_view family, const PropertyModelOptions& opts);
// Opens a model file of any family, recognised by its first bytes.
Result<std::unique_ptr<PropertyModel>> load_property_model(const std::string& path);

}  // namespace fragua::materials
