#include <fstream>
#include <optional>

#include "fragua/materials/attention_model.h"
#include "fragua/materials/features.h"
#include "fragua/materials/model.h"
#include "fragua/materials/predictor.h"

namespace fragua::materials {

Result<Prediction> predict_compositions(const Model& model, const std::vector<Composition>& comps,
                                        const ElementTable& table, int threads) {
  Featurizer fz(table);
  if (model.feature_signature() != fz.signature())
    return invalid_argument_error("model was trained on features '{}', this build computes '{}'; retrain it",
                                  model.feature_signature(), fz.signature());
  auto x = fz.featurize_all(comps, threads);
  return model.predict(x, fz.size());
}

struct Predictor::Impl {
  std::optional<Model> trees;
  std::optional<AttentionModel> attention;
};

Predictor::Predictor() : impl_(std::make_unique<Impl>()) {}
Predictor::Predictor(Predictor&&) noexcept = default;
Predictor& Predictor::operator=(Predictor&&) noexcept = default;
Predictor::~Predictor() = default;

Result<Predictor> Predictor::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found_error("{}: cannot open the model file", path);
  std::string head(22, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  Predictor p;
  if (head == "FRAGUA_MATERIALS_MODEL")
    p.impl_->trees = FRAGUA_TRY(Model::load(path));
  else {
    auto a = AttentionModel::load(path);
    if (!a.ok())
      return a.error().with_context("not a tree-ensemble model file; read as an attention model (safetensors)");
    p.impl_->attention = std::move(*a);
  }
  return p;
}

Result<Prediction> Predictor::predict(const std::vector<Composition>& comps, const ElementTable& table,
                                      int threads) const {
  if (impl_->trees) return predict_compositions(*impl_->trees, comps, table, threads);
  return impl_->attention->predict(comps, table, threads);
}

const char* Predictor::kind() const { return impl_->trees ? "xgboost" : "attention"; }
Task Predictor::task() const { return impl_->trees ? impl_->trees->config().task : impl_->attention->config().task; }

}  // namespace fragua::materials
