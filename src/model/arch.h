// SPDX-License-Identifier: Apache-2.0
// The architecture registry: one entry per GGUF `general.architecture` string. Adding an
// architecture = one file in model/arch/ + one line in arch_registry.cpp + one test.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "fragua/format/gguf.h"
#include "fragua/format/hf_config.h"
#include "fragua/format/llama_hparams.h"
#include "fragua/format/llama_tensors.h"
#include "fragua/model/config.h"

namespace fragua::model {

struct ForwardPass;  // model/graph.h

// Hugging Face import (`fragua convert`): the transformers class names in config.json's
// "architectures" that this architecture converts, the checkpoint's name of each tensor role
// ("{}" stands for the layer index), and the architecture's own config.json keys.
// How a GGUF tensor is made from the checkpoint's: as it is (size-1 dimensions aside), the
// first or second half of each matrix along the rows (transformers' fused gate+up projections,
// gate first: GraniteMoe's input_linear), or -exp of each value (Mamba-2's A from A_log).
enum class HfPart { whole, first_half, second_half, neg_exp };
struct HfTensorName {
  format::TensorRole role;
  std::string_view name;
  HfPart part = HfPart::whole;
};
struct HfImport {
  std::span<const std::string_view> architectures;
  std::span<const HfTensorName> tensors;
  // Checks and reads what the shared keys (format::HfConfig::hparams) do not cover.
  Status (*read_config)(const format::HfConfig& config, format::LlamaHParams& hp);
};

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
  // Conversion from a Hugging Face checkpoint; null when there is none.
  const HfImport* hf = nullptr;
};

const Architecture* find_architecture(std::string_view name);
std::string known_architectures();
// The architecture whose HfImport lists this config.json class name, or null.
const Architecture* find_hf_architecture(std::string_view hf_class);
std::string known_hf_architectures();
// The checkpoint names of the Llama tensor table, as transformers' LlamaForCausalLM saves them
// (shared by the architectures that reuse its modules: Granite, Mistral).
std::span<const HfTensorName> llama_hf_tensor_names();

// The four Granite scalars (embedding, attention, residual, logit), shared by granite,
// granitemoe and granitehybrid and defined in granite.cpp: their GGUF keys under each
// architecture's prefix, and their transformers config names read into a LlamaHParams.
extern const format::FloatKey kGraniteScaleKeys[4];
Status read_granite_hf_scales(const format::HfConfig& config, format::LlamaHParams& hp);

// The shared Llama-family keys under config.arch's prefix (format::read_llama_hparams).
Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& config);
// An architecture's own keys and RoPE mode: what Architecture::read_hparams does for the
// architectures of the Llama family.
Status read_own_hparams(const format::GgufFile& file, const Architecture& arch, ModelConfig& config);

namespace arch {
extern const Architecture llama;
extern const Architecture granite;
extern const Architecture granitemoe;
extern const Architecture granitehybrid;
extern const Architecture qwen2;
}  // namespace arch

}  // namespace fragua::model
