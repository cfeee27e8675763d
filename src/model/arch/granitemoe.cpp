// IBM Granite 3.x MoE (llama.cpp's LLM_ARCH_GRANITE_MOE, transformers' GraniteMoeForCausalLM):
// Granite's attention block and four multipliers with a mixture-of-experts FFN in every layer
// (softmax router, top-k renormalised, SwiGLU experts; a shared expert when the file has
// expert_shared_feed_forward_length, "Granite MoE Shared").
#include <cmath>

#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

// The multipliers as in granite.cpp (the same GGUF keys under this prefix).
constexpr double kMaxScale = 1e6;
constexpr format::FloatKey kKeys[] = {
    {"embedding_scale", &format::LlamaHParams::embedding_scale, 1.0, 0.0, kMaxScale, false},
    {"attention.scale", &format::LlamaHParams::attention_scale, 0.0, 0.0, kMaxScale, true},
    {"residual_scale", &format::LlamaHParams::residual_scale, 1.0, 0.0, kMaxScale, false},
    {"logit_scale", &format::LlamaHParams::logit_scale, 1.0, 0.0, kMaxScale, false},
};

Status read_granitemoe(const format::GgufFile& file, ModelConfig& c) {
  FRAGUA_TRY(read_own_hparams(file, arch::granitemoe, c));
  FRAGUA_TRY(format::read_moe_hparams(file, c.arch, c));
  if (c.n_expert == 0)
    return not_found_error("{}: metadata key '{}.expert_count' is missing (a granitemoe model has experts)",
                           file.path(), c.arch);
  return {};
}

void forward_granitemoe(ForwardPass& f) {
  const ModelConfig& c = f.c;
  embed_tokens(f, c.embedding_scale);
  const backend::RopeParams rope = rope_params(c, f.w);
  const float attn_scale =
      c.attention_scale != 0.0f ? c.attention_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    attention_block(f, l, rope, attn_scale, c.residual_scale);
    moe_ffn_block(f, l, c.residual_scale);
  }
  output_head(f, c.logit_scale);
}

}  // namespace

const Architecture arch::granitemoe{
    .name = "granitemoe",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = kKeys,
    .tensors = format::granitemoe_tensors(),
    .read_hparams = read_granitemoe,
    .forward = forward_granitemoe,
};

}  // namespace fragua::model
