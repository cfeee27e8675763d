// SPDX-License-Identifier: Apache-2.0
// IBM Granite 3.x dense models: the llama block with four scalars (llama.cpp's LLM_ARCH_GRANITE):
// token embeddings times embedding_scale, attention scores scaled by attention.scale instead of
// 1/sqrt(head_dim), each block's output times residual_scale before the residual add, logits
// divided by logit_scale; embeddings usually tied to the output head.
#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {
constexpr double kMaxScale = 1e6;
}  // namespace

// Multipliers: positive and finite (Granite 3.x: 12, 0.0078125, 0.22, 8); attention.scale 0
// means the default 1/sqrt(head_dim).
const format::FloatKey kGraniteScaleKeys[4] = {
    {"embedding_scale", &format::LlamaHParams::embedding_scale, 1.0, 0.0, kMaxScale, false},
    {"attention.scale", &format::LlamaHParams::attention_scale, 0.0, 0.0, kMaxScale, true},
    {"residual_scale", &format::LlamaHParams::residual_scale, 1.0, 0.0, kMaxScale, false},
    {"logit_scale", &format::LlamaHParams::logit_scale, 1.0, 0.0, kMaxScale, false},
};

// transformers' GraniteConfig (every multiplier 1.0 when absent, attention_multiplier included:
// HF scales scores by it, not by 1/sqrt(head_dim)) names the multipliers embedding_multiplier, attention_multiplier,
// residual_multiplier and logits_scaling (modeling_granite.py: logits / logits_scaling), the
// same quantities llama.cpp's GraniteModel converter writes under these GGUF keys.
Status read_granite_hf_scales(const format::HfConfig& c, format::LlamaHParams& hp) {
  hp.embedding_scale = static_cast<float>(FRAGUA_TRY(c.get_number("embedding_multiplier", 1.0, 0.0, kMaxScale)));
  hp.attention_scale = static_cast<float>(FRAGUA_TRY(c.get_number("attention_multiplier", 1.0, 0.0, kMaxScale)));
  hp.residual_scale = static_cast<float>(FRAGUA_TRY(c.get_number("residual_multiplier", 1.0, 0.0, kMaxScale)));
  hp.logit_scale = static_cast<float>(FRAGUA_TRY(c.get_number("logits_scaling", 1.0, 0.0, kMaxScale)));
  return {};
}

namespace {

Status read_granite(const format::GgufFile& file, ModelConfig& c) { return read_own_hparams(file, arch::granite, c); }


constexpr std::string_view kHfClasses[] = {"GraniteForCausalLM"};
const HfImport kHf{kHfClasses, llama_hf_tensor_names(), read_granite_hf_scales};

// Llama's blocks with the four multipliers.
void forward_granite(ForwardPass& f) {
  const ModelConfig& c = f.c;
  decoder_forward(f, {.embedding = c.embedding_scale,
                      .attention = c.attention_scale,
                      .residual = c.residual_scale,
                      .logit = c.logit_scale});
}

}  // namespace

const Architecture arch::granite{
    .name = "granite",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = kGraniteScaleKeys,
    .tensors = format::llama_tensors(),
    .read_hparams = read_granite,
    .forward = forward_granite,
    .hf = &kHf,
};

}  // namespace fragua::model
