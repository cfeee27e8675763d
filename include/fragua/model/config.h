// SPDX-License-Identifier: Apache-2.0
// Model hyper-parameters, read from GGUF metadata (keys under the architecture's prefix, as
// llama.cpp names them: "llama.embedding_length", "granite.residual_scale", ...). The Llama-family
// fields and their keys are format::LlamaHParams, shared with training (train::ModelConfig).
#pragma once

#include <cstdint>
#include <string>

#include "fragua/backend/backend.h"
#include "fragua/format/llama_hparams.h"

namespace fragua::model {

using format::RopeScaling;

struct ModelConfig : format::LlamaHParams {
  std::string arch;  // general.architecture
  std::string name;  // general.name
  backend::RopeMode rope_mode = backend::RopeMode::normal;

  std::string summary() const;
};

}  // namespace fragua::model
