// SPDX-License-Identifier: Apache-2.0
// Llama (Touvron et al. 2023) and the models built on it: Llama 2/3.x, Salamandra/ALIA (256k
// vocabulary, untied output), Latxa. RoPE in GGML's "normal" (adjacent pairs) order; llama3
// frequency scaling comes as the rope_freqs.weight tensor; linear scaling from metadata.
#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {
Status read_llama(const format::GgufFile& file, ModelConfig& c) { return read_own_hparams(file, arch::llama, c); }

// transformers' LlamaForCausalLM state dict (modeling_llama.py); rope_freqs is computed from
// config.json, never stored.
constexpr HfTensorName kHfNames[] = {
    {format::TensorRole::token_embd, "model.embed_tokens.weight"},
    {format::TensorRole::attn_norm, "model.layers.{}.input_layernorm.weight"},
    {format::TensorRole::attn_q, "model.layers.{}.self_attn.q_proj.weight"},
    {format::TensorRole::attn_k, "model.layers.{}.self_attn.k_proj.weight"},
    {format::TensorRole::attn_v, "model.layers.{}.self_attn.v_proj.weight"},
    {format::TensorRole::attn_output, "model.layers.{}.self_attn.o_proj.weight"},
    {format::TensorRole::ffn_norm, "model.layers.{}.post_attention_layernorm.weight"},
    {format::TensorRole::ffn_gate, "model.layers.{}.mlp.gate_proj.weight"},
    {format::TensorRole::ffn_up, "model.layers.{}.mlp.up_proj.weight"},
    {format::TensorRole::ffn_down, "model.layers.{}.mlp.down_proj.weight"},
    {format::TensorRole::output_norm, "model.norm.weight"},
    {format::TensorRole::output, "lm_head.weight"},
};

// MistralForCausalLM is Llama's graph plus sliding-window attention: convertible only when the
// window is off (null) or covers the whole trained context, as llama.cpp's converter assumes.
Status read_llama_hf(const format::HfConfig& c, format::LlamaHParams& hp) {
  if (c.architecture() == "MistralForCausalLM" && c.has("sliding_window")) {
    const int64_t window = FRAGUA_TRY(c.get_int("sliding_window", 0, 0, INT64_MAX));
    if (window < hp.n_ctx_train)
      return unsupported_error(
          "{}: \"sliding_window\" {} is smaller than \"max_position_embeddings\" {}: sliding-window attention is not "
          "supported",
          c.origin(), window, hp.n_ctx_train);
  }
  return {};
}

constexpr std::string_view kHfClasses[] = {"LlamaForCausalLM", "MistralForCausalLM"};
constexpr HfImport kHf{kHfClasses, kHfNames, read_llama_hf};

// Pre-norm blocks: x += attention(norm(x)); x += swiglu_ffn(norm(x)); logits = output(norm(x)).
void forward_llama(ForwardPass& f) { decoder_forward(f, DecoderScales{}); }
}  // namespace

const Architecture arch::llama{
    .name = "llama",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = {},
    .tensors = format::llama_tensors(),
    .read_hparams = read_llama,
    .forward = forward_llama,
    .hf = &kHf,
};

std::span<const HfTensorName> llama_hf_tensor_names() { return kHfNames; }

}  // namespace fragua::model
