// IBM Granite 3.x dense models: the llama block with four scalars (llama.cpp's LLM_ARCH_GRANITE):
// token embeddings times embedding_scale, attention scores scaled by attention.scale instead of
// 1/sqrt(head_dim), each block's output times residual_scale before the residual add, logits
// divided by logit_scale; embeddings usually tied to the output head.
#include "model/arch.h"

namespace fragua::model {

namespace {
Status read_granite(const format::GgufFile& file, ModelConfig& c) {
  c.rope_mode = backend::RopeMode::normal;
  c.embedding_scale = static_cast<float>(FRAGUA_TRY(file.get_float_or("granite.embedding_scale", 1.0)));
  c.attention_scale = static_cast<float>(FRAGUA_TRY(file.get_float_or("granite.attention.scale", 0.0)));
  c.residual_scale = static_cast<float>(FRAGUA_TRY(file.get_float_or("granite.residual_scale", 1.0)));
  c.logit_scale = static_cast<float>(FRAGUA_TRY(file.get_float_or("granite.logit_scale", 1.0)));
  if (c.logit_scale == 0.0f) return corruption_error("{}: granite.logit_scale is 0", file.path());
  return {};
}
}  // namespace

const Architecture arch::granite{"granite", read_granite};

}  // namespace fragua::model
