// SPDX-License-Identifier: Apache-2.0
// IBM Granite 4.0-H (llama.cpp's LLM_ARCH_GRANITE_HYBRID, transformers'
// GraniteMoeHybridForCausalLM): a stack whose layers are Mamba-2 mixers or attention, marked in
// the file by attention.head_count_kv as an array (0 = Mamba layer), each followed by the FFN --
// mixture of experts with a shared expert when expert_count is set (Tiny, Small), else dense
// SwiGLU (Micro-H); Granite's four multipliers; attention without RoPE when
// rope.scaling.finetuned is false (Granite 4.0-H's NoPE attention).
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

Status read_granitehybrid(const format::GgufFile& file, ModelConfig& c) {
  c.rope_mode = arch::granitehybrid.rope_mode;
  FRAGUA_TRY(format::read_float_keys(file, c.arch, kGraniteScaleKeys, c));
  FRAGUA_TRY(format::read_moe_hparams(file, c.arch, c));
  return format::read_ssm_hparams(file, c.arch, c);
}

// transformers' GraniteMoeHybridForCausalLM (modeling_granitemoehybrid.py): Mamba-2 mixers under
// mamba.* (in_proj in the z, xBC, dt order that ssm_in keeps; A stored as A_log; conv1d weight
// [channels, 1, kernel]), attention under self_attn.*, the FFN as in GraniteMoe; without experts
// (Granite 4.0-H-Micro) shared_mlp is the dense FFN, as llama.cpp's GraniteHybridModel maps it.
constexpr HfTensorName kHfNames[] = {
    {format::TensorRole::token_embd, "model.embed_tokens.weight"},
    {format::TensorRole::attn_norm, "model.layers.{}.input_layernorm.weight"},
    {format::TensorRole::attn_q, "model.layers.{}.self_attn.q_proj.weight"},
    {format::TensorRole::attn_k, "model.layers.{}.self_attn.k_proj.weight"},
    {format::TensorRole::attn_v, "model.layers.{}.self_attn.v_proj.weight"},
    {format::TensorRole::attn_output, "model.layers.{}.self_attn.o_proj.weight"},
    {format::TensorRole::ssm_in, "model.layers.{}.mamba.in_proj.weight"},
    {format::TensorRole::ssm_conv1d, "model.layers.{}.mamba.conv1d.weight"},
    {format::TensorRole::ssm_conv1d_b, "model.layers.{}.mamba.conv1d.bias"},
    {format::TensorRole::ssm_dt_b, "model.layers.{}.mamba.dt_bias"},
    {format::TensorRole::ssm_a, "model.layers.{}.mamba.A_log", HfPart::neg_exp},
    {format::TensorRole::ssm_d, "model.layers.{}.mamba.D"},
    {format::TensorRole::ssm_norm, "model.layers.{}.mamba.norm.weight"},
    {format::TensorRole::ssm_out, "model.layers.{}.mamba.out_proj.weight"},
    {format::TensorRole::ffn_norm, "model.layers.{}.post_attention_layernorm.weight"},
    {format::TensorRole::ffn_gate, "model.layers.{}.shared_mlp.input_linear.weight", HfPart::first_half},
    {format::TensorRole::ffn_up, "model.layers.{}.shared_mlp.input_linear.weight", HfPart::second_half},
    {format::TensorRole::ffn_down, "model.layers.{}.shared_mlp.output_linear.weight"},
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

// GraniteMoeHybridConfig: layer_types ("mamba" / "attention" per layer), mamba_n_heads,
// mamba_n_groups, mamba_d_state, mamba_d_conv, mamba_expand (inner width = expand x hidden_size;
// mamba_d_head, when a number, must agree), position_embedding_type ("rope", else no RoPE),
// the experts and multipliers as GraniteMoe's.
Status read_granitehybrid_hf(const format::HfConfig& c, format::LlamaHParams& hp) {
  FRAGUA_TRY(read_granite_hf_scales(c, hp));
  hp.n_expert = FRAGUA_TRY(c.get_int("num_local_experts", 0, 0, format::kMaxExperts));
  hp.n_expert_used = hp.n_expert > 0 ? FRAGUA_TRY(c.get_int("num_experts_per_tok", 1, 1, hp.n_expert)) : 0;
  hp.n_ff_shexp = hp.n_expert > 0 ? FRAGUA_TRY(c.get_int("shared_intermediate_size", 0, 0, INT64_MAX)) : 0;
  const std::vector<std::string> types = FRAGUA_TRY(c.get_strings("layer_types"));
  if (static_cast<int64_t>(types.size()) != hp.n_layer)
    return corruption_error("{}: \"layer_types\" lists {} layers, \"num_hidden_layers\" is {}", c.origin(),
                            types.size(), hp.n_layer);
  hp.recurrent_layer.assign(types.size(), false);
  for (size_t l = 0; l < types.size(); ++l) {
    if (types[l] != "mamba" && types[l] != "attention")
      return unsupported_error("{}: \"layer_types\"[{}] is '{}' (mamba and attention are supported)", c.origin(), l,
                               types[l]);
    hp.recurrent_layer[l] = types[l] == "mamba";
  }
  hp.ssm_n_head = FRAGUA_TRY(c.get_int("mamba_n_heads", 128, 1, 1 << 20));
  hp.ssm_n_group = FRAGUA_TRY(c.get_int("mamba_n_groups", 1, 1, hp.ssm_n_head));
  hp.ssm_d_state = FRAGUA_TRY(c.get_int("mamba_d_state", 256, 1, 1 << 20));
  hp.ssm_d_conv = FRAGUA_TRY(c.get_int("mamba_d_conv", 4, 2, 1 << 10));
  hp.ssm_d_inner = FRAGUA_TRY(c.get_int("mamba_expand", 2, 1, 1 << 10)) * hp.n_embd;
  // mamba_d_head: "auto" (inner width / heads) or a number that must be that.
  if (c.has("mamba_d_head") && !c.get_string("mamba_d_head", "auto").ok()) {
    const int64_t d_head = FRAGUA_TRY(c.get_int("mamba_d_head", 0, 1, 1 << 20));
    if (d_head * hp.ssm_n_head != hp.ssm_d_inner)
      return unsupported_error("{}: \"mamba_d_head\" {} x \"mamba_n_heads\" {} is not mamba_expand x hidden_size {}",
                               c.origin(), d_head, hp.ssm_n_head, hp.ssm_d_inner);
  }
  if (hp.ssm_d_inner % hp.ssm_n_head != 0 || hp.ssm_n_head % hp.ssm_n_group != 0)
    return unsupported_error("{}: inner width {} (mamba_expand x hidden_size) in {} heads of {} groups does not divide",
                             c.origin(), hp.ssm_d_inner, hp.ssm_n_head, hp.ssm_n_group);
  hp.use_rope = FRAGUA_TRY(c.get_string("position_embedding_type", "nope")) == "rope";
  return {};
}

constexpr std::string_view kHfClasses[] = {"GraniteMoeHybridForCausalLM"};
constexpr HfImport kHf{kHfClasses, kHfNames, read_granitehybrid_hf};

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
    if (l == c.n_layer - 1) keep_output_rows(f);
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
    .float_keys = kGraniteScaleKeys,
    .tensors = format::granitehybrid_tensors(),
    .read_hparams = read_granitehybrid,
    .forward = forward_granitehybrid,
    .hf = &kHf,
};

}  // namespace fragua::model
