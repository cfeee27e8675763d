// SPDX-License-Identifier: Apache-2.0
// Qwen2 and Qwen2.5 (Qwen team 2024; llama.cpp's LLM_ARCH_QWEN2, src/models/qwen2.cpp;
// transformers' Qwen2ForCausalLM): Llama's pre-norm block with a bias on each of the q, k and v
// projections (added before RoPE), RoPE in GGML's NeoX order (pairs (i, i + d/2), as the
// checkpoint keeps them, so the converter does not permute Q and K), its own rope.freq_base
// (1e6 in Qwen2.5) and, in the small models, the output head tied to the embeddings.
#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

Status read_qwen2(const format::GgufFile& file, ModelConfig& c) { return read_own_hparams(file, arch::qwen2, c); }

// transformers' Qwen2 state dict (modeling_qwen2.py): LlamaForCausalLM's names plus the three
// projection biases.
constexpr HfTensorName kQwen2HfNames[] = {
    {format::TensorRole::token_embd, "model.embed_tokens.weight"},
    {format::TensorRole::attn_norm, "model.layers.{}.input_layernorm.weight"},
    {format::TensorRole::attn_q, "model.layers.{}.self_attn.q_proj.weight"},
    {format::TensorRole::attn_q_b, "model.layers.{}.self_attn.q_proj.bias"},
    {format::TensorRole::attn_k, "model.layers.{}.self_attn.k_proj.weight"},
    {format::TensorRole::attn_k_b, "model.layers.{}.self_attn.k_proj.bias"},
    {format::TensorRole::attn_v, "model.layers.{}.self_attn.v_proj.weight"},
    {format::TensorRole::attn_v_b, "model.layers.{}.self_attn.v_proj.bias"},
    {format::TensorRole::attn_output, "model.layers.{}.self_attn.o_proj.weight"},
    {format::TensorRole::ffn_norm, "model.layers.{}.post_attention_layernorm.weight"},
    {format::TensorRole::ffn_gate, "model.layers.{}.mlp.gate_proj.weight"},
    {format::TensorRole::ffn_up, "model.layers.{}.mlp.up_proj.weight"},
    {format::TensorRole::ffn_down, "model.layers.{}.mlp.down_proj.weight"},
    {format::TensorRole::output_norm, "model.norm.weight"},
    {format::TensorRole::output, "lm_head.weight"},
};

// Qwen2Config's keys beyond the shared ones (rope_theta, rms_norm_eps, tie_word_embeddings) are
// the sliding-window settings, which released Qwen2/2.5 checkpoints leave off
// (use_sliding_window false) and llama.cpp's Qwen2Model does not convert either.
Status read_qwen2_hf(const format::HfConfig&, format::LlamaHParams&) { return {}; }

constexpr std::string_view kQwen2HfClasses[] = {"Qwen2ForCausalLM"};
constexpr HfImport kQwen2Hf{kQwen2HfClasses, kQwen2HfNames, read_qwen2_hf};

// Llama's graph; attention_block adds the biases when the layer has them.
void forward_qwen2(ForwardPass& f) { decoder_forward(f, DecoderScales{}); }

}  // namespace

const Architecture arch::qwen2{
    .name = "qwen2",
    .rope_mode = backend::RopeMode::neox,
    .float_keys = {},
    .tensors = format::qwen2_tensors(),
    .read_hparams = read_qwen2,
    .forward = forward_qwen2,
    .hf = &kQwen2Hf,
};

}  // namespace fragua::model
