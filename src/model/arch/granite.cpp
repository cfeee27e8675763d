// IBM Granite 3.x dense models: the llama block with four scalars (llama.cpp's LLM_ARCH_GRANITE):
// token embeddings times embedding_scale, attention scores scaled by attention.scale instead of
// 1/sqrt(head_dim), each block's output times residual_scale before the residual add, logits
// divided by logit_scale; embeddings usually tied to the output head.
#include "model/arch.h"

namespace fragua::model {

namespace {
Status read_granite(const format::GgufFile& file, ModelConfig& c) {
  c.rope_mode = backend::RopeMode::normal;
  // Multipliers: positive and finite (Granite 3.x: 12, 0.0078125, 0.22, 8); attention.scale 0
  // means the default 1/sqrt(head_dim).
  constexpr double kMaxScale = 1e6;
  c.embedding_scale = FRAGUA_TRY(read_float_hparam(file, "granite.embedding_scale", 1.0, 0.0, kMaxScale, false));
  c.attention_scale = FRAGUA_TRY(read_float_hparam(file, "granite.attention.scale", 0.0, 0.0, kMaxScale, true));
  c.residual_scale = FRAGUA_TRY(read_float_hparam(file, "granite.residual_scale", 1.0, 0.0, kMaxScale, false));
  c.logit_scale = FRAGUA_TRY(read_float_hparam(file, "granite.logit_scale", 1.0, 0.0, kMaxScale, false));
  return {};
}
}  // namespace

const Architecture arch::granite{"granite", read_granite};

}  // namespace fragua::model
