// A trained property model of either family, loaded from its file: the XGBoost tree ensemble
// (model.h, a file that starts "FRAGUA_MATERIALS_MODEL") or the attention model
// (attention_model.h, a safetensors file). Screening, suggestion and prediction use this, so
// both families serve every command.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/materials/composition.h"
#include "fragua/materials/elements.h"
#include "fragua/materials/model.h"

namespace fragua::materials {

class Predictor {
 public:
  static Result<Predictor> load(const std::string& path);
  Predictor(Predictor&&) noexcept;
  Predictor& operator=(Predictor&&) noexcept;
  ~Predictor();

  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table, int threads = 0) const;
  // "xgboost" or "attention"
  const char* kind() const;
  Task task() const;

 private:
  Predictor();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::materials
