// The architecture registry: one entry per GGUF `general.architecture` string. Adding an
// architecture = one file in model/arch/ + one line in arch_registry.cpp + one test.
#pragma once

#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/model/config.h"

namespace fragua::model {

struct Architecture {
  std::string_view name;
  // Fills the architecture's hyper-parameters (after the shared decoder keys are read).
  Status (*read_hparams)(const format::GgufFile& file, ModelConfig& config);
};

const Architecture* find_architecture(std::string_view name);
std::string known_architectures();

// Shared by decoder-only transformers in llama.cpp's naming: {arch}.embedding_length, ...
Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& config);

namespace arch {
extern const Architecture llama;
extern const Architecture granite;
}  // namespace arch

}  // namespace fragua::model
