// SPDX-License-Identifier: Apache-2.0
// The property-model families behind one interface (property_model.h), and the table that
// names them.
#include "fragua/materials/property_model.h"

#include <fstream>
#include <optional>

#include <fmt/ranges.h>

#include "fragua/base/log.h"
#include "fragua/materials/ensemble_model.h"
#include "fragua/materials/features.h"

namespace fragua::materials {

namespace {

std::string target_of(const nlohmann::json& provenance) {
  if (provenance.is_object() && provenance.contains("target") && provenance.at("target").is_string())
    return provenance.at("target").get<std::string>();
  return "";
}

Error not_trained(std::string_view family) {
  return invalid_argument_error("{} property model: not trained (train or load it first)", family);
}

// The XGBoost ensemble over Magpie features (model.h).
class TreeEnsemble final : public PropertyModel {
 public:
  explicit TreeEnsemble(TrainConfig cfg) : cfg_(std::move(cfg)) {}
  explicit TreeEnsemble(Model m) : cfg_(m.config()), model_(std::move(m)) { target_ = target_of(model_->provenance()); }

  std::string_view family() const override { return "xgboost"; }
  Task task() const override { return config().task; }
  nlohmann::json config_json() const override { return config_to_json(config()); }
  std::string describe() const override { return fmt::format("{} members", config().n_models); }

  Status train(const Dataset& data, const ElementTable& table, const std::string&) override {
    Featurizer fz(table);
    auto x = fz.featurize_all(data.comps, cfg_.threads);
    log_info("training {} x {} rounds on {} rows, {} features", cfg_.n_models, cfg_.n_rounds, data.size(), fz.size());
    model_ = FRAGUA_TRY(Model::train(x, fz.size(), data.y, cfg_, fz.signature()));
    log_info("zero gate {}, log target {}", model_->config().zero_gate, model_->config().log_target);
    target_ = data.target_name;
    return ok_status();
  }

  Result<CvResult> cross_validate(const Dataset& data, const ElementTable& table, int n_splits, uint32_t seed,
                                  MetricsWriter* metrics) const override {
    Featurizer fz(table);
    auto x = fz.featurize_all(data.comps, cfg_.threads);
    return materials::cross_validate(x, fz.size(), data.y, cfg_, n_splits, seed, metrics);
  }

  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table,
                             int threads) const override {
    if (!model_) return not_trained(family());
    return predict_compositions(*model_, comps, table, threads);
  }

  Status save(const std::string& path, const nlohmann::json& provenance) const override {
    if (!model_) return not_trained(family());
    return model_->save(path, provenance);
  }

 private:
  const TrainConfig& config() const { return model_ ? model_->config() : cfg_; }
  TrainConfig cfg_;
  std::optional<Model> model_;
};

// The element-transformer ensemble (attention_model.h).
class Attention final : public PropertyModel {
 public:
  explicit Attention(AttentionConfig cfg) : cfg_(std::move(cfg)) {}
  explicit Attention(AttentionModel m) : cfg_(m.config()), model_(std::move(m)) {
    target_ = target_of(model_->provenance());
  }

  std::string_view family() const override { return "attention"; }
  Task task() const override { return config().task; }
  nlohmann::json config_json() const override { return attention_config_to_json(config()); }
  std::string describe() const override { return fmt::format("{} attention members", config().n_models); }

  Status train(const Dataset& data, const ElementTable& table, const std::string& metrics_path) override {
    log_info("training {} attention members x {} epochs on {} rows", cfg_.n_models, cfg_.epochs, data.size());
    MetricsWriter mw;
    if (!metrics_path.empty()) mw = FRAGUA_TRY(MetricsWriter::open(metrics_path));
    model_ = FRAGUA_TRY(AttentionModel::train(data.comps, data.y, table, cfg_, &mw));
    log_info("zero gate {}, log target {}", model_->config().zero_gate, model_->config().log_target);
    target_ = data.target_name;
    return ok_status();
  }

  Result<CvResult> cross_validate(const Dataset& data, const ElementTable& table, int n_splits, uint32_t seed,
                                  MetricsWriter* metrics) const override {
    return cross_validate_attention(data.comps, data.y, table, cfg_, n_splits, seed, metrics);
  }

  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table,
                             int threads) const override {
    if (!model_) return not_trained(family());
    return model_->predict(comps, table, threads);
  }

  Status save(const std::string& path, const nlohmann::json& provenance) const override {
    if (!model_) return not_trained(family());
    return model_->save(path, provenance);
  }

 private:
  const AttentionConfig& config() const { return model_ ? model_->config() : cfg_; }
  AttentionConfig cfg_;
  std::optional<AttentionModel> model_;
};

std::unique_ptr<PropertyModel> make_trees(const PropertyModelOptions& o) {
  return std::make_unique<TreeEnsemble>(o.trees);
}

std::unique_ptr<PropertyModel> make_attention(const PropertyModelOptions& o) {
  return std::make_unique<Attention>(attention_config_of(o));
}

Result<std::unique_ptr<PropertyModel>> load_trees(const std::string& path) {
  return std::unique_ptr<PropertyModel>(std::make_unique<TreeEnsemble>(FRAGUA_TRY(Model::load(path))));
}

Result<std::unique_ptr<PropertyModel>> load_attention(const std::string& path) {
  auto a = AttentionModel::load(path);
  // Reached for every file the families before it did not recognise.
  if (!a.ok())
    return a.error().with_context("not a tree-ensemble model file; read as an attention model (safetensors)");
  return std::unique_ptr<PropertyModel>(std::make_unique<Attention>(std::move(*a)));
}

struct Family {
  const char* name;
  std::unique_ptr<PropertyModel> (*make)(const PropertyModelOptions&);
  // Whether a file starting with these bytes (up to 64) is this family's.
  bool (*recognises)(std::string_view head);
  Result<std::unique_ptr<PropertyModel>> (*load)(const std::string& path);
};

// One line per family. Files are offered to the recognisers in this order; safetensors has no
// magic of its own, so the attention model, which takes whatever is left, comes last.
const Family kFamilies[] = {
    {"xgboost", make_trees, [](std::string_view h) { return h.starts_with("FRAGUA_MATERIALS_MODEL"); }, load_trees},
    {"ensemble", make_family_ensemble,
     [](std::string_view h) { return h.starts_with(kFamilyEnsembleMagic.substr(0, 25)); }, load_family_ensemble},
    {"attention", make_attention, [](std::string_view) { return true; }, load_attention},
};

}  // namespace

// The attention model shares the ensemble and target settings with the tree ensemble.
AttentionConfig attention_config_of(const PropertyModelOptions& o) {
  AttentionConfig a = o.attention;
  a.task = o.trees.task;
  a.n_models = o.trees.n_models;
  a.bootstrap = o.trees.bootstrap;
  a.zero_gate = o.trees.zero_gate;
  a.log_target = o.trees.log_target;
  a.threads = o.trees.threads;
  a.seed = o.trees.seed;
  return a;
}

std::vector<std::string> property_model_families() {
  std::vector<std::string> names;
  for (const auto& f : kFamilies) names.emplace_back(f.name);
  return names;
}

Result<std::unique_ptr<PropertyModel>> make_property_model(std::string_view family, const PropertyModelOptions& opts) {
  for (const auto& f : kFamilies)
    if (family == f.name) return f.make(opts);
  return invalid_argument_error("unknown property model family '{}' (known: {})", family,
                                fmt::join(property_model_families(), ", "));
}

Result<std::unique_ptr<PropertyModel>> load_property_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error("{}: cannot open the model file", path);
  std::string head(64, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  for (const auto& f : kFamilies)
    if (f.recognises(head)) return f.load(path);
  return corruption_error("{}: not a model file of any family", path);  // unreachable while one takes all
}

}  // namespace fragua::materials
