// SPDX-License-Identifier: Apache-2.0
// The attention property model: an ensemble of element transformers (element_transformer.h)
// trained with the training engine's AdamW and learning-rate schedule, with the same target
// handling as the tree ensemble (model.h): log(1 + y) targets, a zero gate for band gaps (here a
// second output of the same network, trained with binary cross-entropy on y == 0, while the
// first output is trained with L1 on the non-zero rows), and the members' spread as the
// uncertainty of every prediction.
//
// Inputs per element token: the element's id, 23 of its properties standardised over the table
// (missing values 0), and an encoding of its atomic fraction f: f itself, ln(f) / 7, and sines
// and cosines of pi 2^k f (k = 0..5) and of pi 2^k L (k = 0..3) with L = min(1, -ln(f) / ln(1000)),
// a resolution at both small and large fractions (CrabNet's two fractional encodings, written
// here as fixed features that the input projection learns to use).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "fragua/base/error.h"
#include "fragua/base/metrics.h"
#include "fragua/materials/composition.h"
#include "fragua/materials/element_transformer.h"
#include "fragua/materials/elements.h"
#include "fragua/materials/model.h"

namespace fragua::format {
class SafetensorsFile;
}

namespace fragua::materials {

struct AttentionConfig {
  Task task = Task::regression;
  int n_models = 5;
  int epochs = 100;
  int batch = 64;
  double lr = 1e-3;  // peak; warmup over the first 5% of steps, cosine to lr / 10
  double weight_decay = 1e-4;
  // Stochastic weight averaging (Izmailov et al., UAI 2018): each member's final weights are the
  // mean of its weights at the end of each of its last swa_epochs epochs (0: the last epoch's).
  int swa_epochs = 0;
  int d_model = 64;
  int n_layer = 3;
  int n_head = 4;
  int head_hidden = 64;
  bool bootstrap = false;
  std::string zero_gate = "auto";  // as TrainConfig (model.h)
  std::string log_target = "auto";
  int threads = 0;  // members train in parallel, one thread each
  uint32_t seed = 42;
};
nlohmann::json attention_config_to_json(const AttentionConfig& c);
Result<AttentionConfig> attention_config_from_json(const nlohmann::json& j);

// The per-token inputs described above, for a list of compositions (rows), padded to the
// longest. Errors on an empty composition or an element outside the table.
Result<ElementBatch> encode_compositions(const std::vector<const Composition*>& rows, const ElementTable& table);
// Width of the per-token input u.
int attention_input_width();

class AttentionModel {
 public:
  AttentionModel();
  AttentionModel(AttentionModel&&) noexcept;
  AttentionModel& operator=(AttentionModel&&) noexcept;
  ~AttentionModel();

  // Trains cfg.n_models members (a progress bar over epochs of all members). With `metrics`
  // open, one line per member and epoch (train loss).
  static Result<AttentionModel> train(const std::vector<Composition>& comps, const std::vector<double>& y,
                                      const ElementTable& table, const AttentionConfig& cfg,
                                      MetricsWriter* metrics = nullptr);
  Result<Prediction> predict(const std::vector<Composition>& comps, const ElementTable& table, int threads = 0) const;

  // A safetensors file: member m's tensors as "m<m>/<name>" (F32) and metadata "format"
  // ("fragua-materials-attention"), "version" (1), "config", "net" (the network config),
  // "target" (standardisation) and "provenance" (JSON strings). Written atomically.
  Status save(const std::string& path, const nlohmann::json& provenance) const;
  // The file's bytes in memory (a model inside another file).
  Result<std::string> to_bytes(const nlohmann::json& provenance) const;
  static Result<AttentionModel> load(const std::string& path);
  // The same from bytes in memory (tests, fuzzing); `name` appears in errors.
  static Result<AttentionModel> parse(std::string_view bytes, const std::string& name);

  const AttentionConfig& config() const;
  // The provenance a loaded file carries (null for a model trained here or an unreadable entry).
  const nlohmann::json& provenance() const;

 private:
  static Result<AttentionModel> from_file(const format::SafetensorsFile& file, const std::string& name);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Cross-validation of the attention model with the Matbench protocol (see cross_validate).
Result<CvResult> cross_validate_attention(const std::vector<Composition>& comps, const std::vector<double>& y,
                                          const ElementTable& table, const AttentionConfig& cfg, int n_splits,
                                          uint32_t seed, MetricsWriter* metrics = nullptr);

}  // namespace fragua::materials
