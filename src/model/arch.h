// The architecture registry: one entry per GGUF `general.architecture` string. Adding an
// architecture = one file in model/arch/ + one line in arch_registry.cpp + one test.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/format/llama_hparams.h"
#include "fragua/format/llama_tensors.h"
#include "fragua/model/config.h"

namespace fragua::model {

struct ForwardPass;  // model/graph.h

struct Architecture {
  std::string_view name;
  backend::RopeMode rope_mode;
  // The architecture's own float keys ("{name}.{suffix}"), read after the shared Llama keys and
  // written by the random-model writer.
  std::span<const format::FloatKey> float_keys;
  // The tensors it binds (names, shapes from the hyper-parameters, optional or not).
  std::span<const format::TensorSpec> tensors;
  // Fills the architecture's hyper-parameters (after the shared decoder keys are read).
  Status (*read_hparams)(const format::GgufFile& file, ModelConfig& config);
  // The forward graph, built from the shared blocks of model/graph.h.
  void (*forward)(ForwardPass& pass);
};

const Architecture* find_architecture(std::string_view name);
std::string known_architectures();

// The shared Llama-family keys under config.arch's prefix (format::read_llama_hparams).
Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& config);
// An architecture's own keys and RoPE mode: what Architecture::read_hparams does for the
// architectures of the Llama family.
Status read_own_hparams(const format::GgufFile& file, const Architecture& arch, ModelConfig& config);

namespace arch {
extern const Architecture llama;
extern const Architecture granite;
}  // namespace arch

}  // namespace fragua::model
