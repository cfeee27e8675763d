// IBM Granite 4.0-H (llama.cpp's LLM_ARCH_GRANITE_HYBRID, transformers'
// GraniteMoeHybridForCausalLM): a stack whose layers are Mamba-2 mixers or attention, marked in
// the file by attention.head_count_kv as an array (0 = Mamba layer), each followed by the FFN --
// mixture of experts with a shared expert when expert_count is set (Tiny, Small), else dense
// SwiGLU (Micro-H); Granite's four multipliers; attention without RoPE when
// rope.scaling.finetuned is false (Granite 4.0-H's NoPE attention).
#include <cmath>

#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

constexpr double kMaxScale = 1e6;
constexpr format::FloatKey kKeys[] = {
    {"embedding_scale", &format::LlamaHParams::embedding_scale, 1.0, 0.0, kMaxScale, false},
    {"attention.scale", &format::LlamaHParams::attention_scale, 0.0, 0.0, kMaxScale, true},
    {"residual_scale", &format::LlamaHParams::residual_scale, 1.0, 0.0, kMaxScale, false},
    {"logit_scale", &format::LlamaHParams::logit_scale, 1.0, 0.0, kMaxScale, false},
};

Status read_granitehybrid(const format::GgufFile& file, ModelConfig& c) {
  c.rope_mode = arch::granitehybrid.rope_mode;
  FRAGUA_TRY(format::read_float_keys(file, c.arch, kKeys, c));
  FRAGUA_TRY(format::read_moe_hparams(file, c.arch, c));
  return format::read_ssm_hparams(file, c.arch, c);
}

void forward_granitehybrid(ForwardPass& f) {
  const ModelConfig& c = f.c;
  embed_tokens(f, c.embedding_scale);
  const backend::RopeParams rope = rope_params(c, f.w);
  const float attn_scale =
      c.attention_scale != 0.0f ? c.attention_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    if (c.is_recurrent(l))
      mamba2_block(f, l, c.residual_scale);
    else
      attention_block(f, l, rope, attn_scale, c.residual_scale, c.use_rope);
    if (c.n_expert > 0)
      moe_ffn_block(f, l, c.residual_scale);
    else
      swiglu_ffn_block(f, l, c.residual_scale);
  }
  output_head(f, c.logit_scale);
}

}  // namespace

const Architecture arch::granitehybrid{
    .name = "granitehybrid",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = kKeys,
    .tensors = format::granitehybrid_tensors(),
    .read_hparams = read_granitehybrid,
    .forward = forward_granitehybrid,
};

}  // namespace fragua::model
