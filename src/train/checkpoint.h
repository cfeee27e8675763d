// Checkpoints: <out>/checkpoints/step-<N>/{model.safetensors, optimizer.safetensors, state.json}
// and <out>/latest naming the newest complete one. Every file goes through AtomicFile and
// `latest` is replaced last, so a run killed while saving resumes from the previous checkpoint.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

namespace fragua::train {

// Weights in safetensors with GGUF tensor names, PyTorch shape order, config in metadata.
Status save_model_safetensors(const Model& model, const std::string& path, const nlohmann::json& provenance,
                              Env& env = Env::posix());
Result<Model> load_model_safetensors(const std::string& path);

Status save_checkpoint(const std::string& out_dir, int64_t step, const Model& model, AdamW& opt, nlohmann::json state,
                       int keep, Env& env = Env::posix());
// Loads weights and moments into model/opt (shapes must match) and returns state.json.
Result<nlohmann::json> load_checkpoint(const std::string& ckpt_dir, Model& model, AdamW& opt);

}  // namespace fragua::train
