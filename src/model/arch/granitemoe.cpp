// SPDX-License-Identifier: Apache-2.0
// IBM Granite 3.x MoE (llama.cpp's LLM_ARCH_GRANITE_MOE, transformers' GraniteMoeForCausalLM):
// Granite's attention block and four multipliers with a mixture-of-experts FFN in every layer
// (softmax router, top-k renormalised, SwiGLU experts; a shared expert when the file has
// expert_shared_feed_forward_length, "Granite MoE Shared").
#include <cmath>
#include <cstdint>

#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

Status read_granitemoe(const format::GgufFile& file, ModelConfig& c) {
  FRAGUA_TRY(read_own_hparams(file, arch::granitemoe, c));
  FRAGUA_TRY(format::read_moe_hparams(file, c.arch, c));
  if (c.n_expert == 0)
    return not_found_error("{}: metadata key '{}.expert_count' is missing (a granitemoe model has experts)",
                           file.path(), c.arch);
  return {};
}

// transformers' GraniteMoeForCausalLM (modeling_granitemoe.py) and GraniteMoeSharedForCausalLM:
// the experts' gate and up projections fused in input_linear [experts, 2 ff, embd], gate first
// (GraniteMoeParallelExperts; llama.cpp's GraniteMoeModel splits it the same way), the router a
// Linear under router.layer, the shared expert's fused input_linear likewise.
constexpr HfTensorName kHfNames[] = {
    {format::TensorRole::token_embd, "model.embed_tokens.weight"},
    {format::TensorRole::attn_norm, "model.layers.{}.input_layernorm.weight"},
    {format::TensorRole::attn_q, "model.layers.{}.self_attn.q_proj.weight"},
    {format::TensorRole::attn_k, "model.layers.{}.self_attn.k_proj.weight"},
    {format::TensorRole::attn_v, "model.layers.{}.self_attn.v_proj.weight"},
    {format::TensorRole::attn_output, "model.layers.{}.self_attn.o_proj.weight"},
    {format::TensorRole::ffn_norm, "model.layers.{}.post_attention_layernorm.weight"},
    {format::TensorRole::ffn_gate_inp, "model.layers.{}.block_sparse_moe.router.layer.weight"},
    {format::TensorRole::ffn_gate_exps, "model.layers.{}.block_sparse_moe.input_linear.weight", HfPart::first_half},
    {format::TensorRole::ffn_up_exps, "model.layers.{}.block_sparse_moe.input_linear.weight", HfPart::second_half},
    {format::TensorRole::ffn_down_exps, "model.layers.{}.block_sparse_moe.output_linear.weight"},
    {format::TensorRole::ffn_gate_shexp, "model.layers.{}.shared_mlp.input_linear.weight", HfPart::first_half},
    {format::TensorRole::ffn_up_shexp, "model.layers.{}.shared_mlp.input_linear.weight", HfPart::second_half},
    {format::TensorRole::ffn_down_shexp, "model.layers.{}.shared_mlp.output_linear.weight"},
    {format::TensorRole::output_norm, "model.norm.weight"},
    {format::TensorRole::output, "lm_head.weight"},
};

// GraniteMoeConfig: Granite's multipliers, num_local_experts, num_experts_per_tok,
// intermediate_size (each expert's width), shared_intermediate_size (0: no shared expert).
Status read_granitemoe_hf(const format::HfConfig& c, format::LlamaHParams& hp) {
  FRAGUA_TRY(read_granite_hf_scales(c, hp));
  if (!c.has("num_local_experts"))
    return not_found_error("{}: \"num_local_experts\" is missing (a GraniteMoe model has experts)", c.origin());
  hp.n_expert = FRAGUA_TRY(c.get_int("num_local_experts", 0, 1, format::kMaxExperts));
  hp.n_expert_used = FRAGUA_TRY(c.get_int("num_experts_per_tok", 0, 1, hp.n_expert));
  hp.n_ff_shexp = FRAGUA_TRY(c.get_int("shared_intermediate_size", 0, 0, INT64_MAX));
  return {};
}

constexpr std::string_view kHfClasses[] = {"GraniteMoeForCausalLM", "GraniteMoeSharedForCausalLM"};
constexpr HfImport kHf{kHfClasses, kHfNames, read_granitemoe_hf};

void forward_granitemoe(ForwardPass& f) {
  const ModelConfig& c = f.c;
  embed_tokens(f, c.embedding_scale);
  const backend::RopeParams rope = rope_params(c, f.w);
  const float attn_scale =
      c.attention_scale != 0.0f ? c.attention_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    attention_block(f, l, rope, attn_scale, c.residual_scale);
    if (l == c.n_layer - 1) keep_output_rows(f);
    moe_ffn_block(f, l, c.residual_scale);
  }
  output_head(f, c.logit_scale);
}

}  // namespace

const Architecture arch::granitemoe{
    .name = "granitemoe",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = kGraniteScaleKeys,
    .tensors = format::granitemoe_tensors(),
    .read_hparams = read_granitemoe,
    .forward = forward_granitemoe,
    .hf = &kHf,
};

}  // namespace fragua::model
