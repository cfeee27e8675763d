// SPDX-License-Identifier: Apache-2.0
// Predictions of the tree ensemble straight from compositions (model.h).
#include "fragua/materials/features.h"
#include "fragua/materials/model.h"

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

}  // namespace fragua::materials
