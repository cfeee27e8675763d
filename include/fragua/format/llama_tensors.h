// SPDX-License-Identifier: Apache-2.0
// The tensors of the Llama family in llama.cpp's GGUF names and GGML shapes (ne[0] is the
// contiguous dimension: a linear layer from `in` to `out` is ne = [in, out]), as a function of the
// hyper-parameters. One table for the model loader, the random-model writer and the trainer's
// export; an architecture with other tensors (Qwen2's q/k/v biases, ...) adds its own table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/format/llama_hparams.h"

namespace fragua::format {

// What a tensor is for: the model binds each to its weight slot by role.
enum class TensorRole {
  token_embd,
  output_norm,
  output,
  rope_freqs,
  attn_norm,
  attn_q,
  attn_k,
  attn_v,
  attn_output,
  // Qwen2's biases of the q, k and v projections
  attn_q_b,
  attn_k_b,
  attn_v_b,
  ffn_norm,
  ffn_gate,
  ffn_up,
  ffn_down,
  // mixture of experts: router, experts as 3-D [.., .., n_expert] tensors, shared expert
  ffn_gate_inp,
  ffn_gate_exps,
  ffn_up_exps,
  ffn_down_exps,
  ffn_gate_shexp,
  ffn_up_shexp,
  ffn_down_shexp,
  // Mamba-2
  ssm_in,
  ssm_conv1d,
  ssm_conv1d_b,
  ssm_dt_b,
  ssm_a,
  ssm_d,
  ssm_norm,
  ssm_out,
};

// A shape dimension in terms of the hyper-parameters.
enum class Dim {
  one,
  embd,
  embd_q,
  embd_kv,
  ff,
  vocab,
  rot_pairs,
  expert,       // n_expert
  ff_shexp,     // n_ff_shexp
  ssm_proj,     // ssm_in_rows(): z, x, B, C, dt
  ssm_conv,     // ssm_d_conv
  ssm_chan,     // ssm_conv_channels(): x, B, C
  ssm_head,     // ssm_n_head
  ssm_inner,    // ssm_d_inner
  ssm_group_w,  // ssm_d_inner / ssm_n_group
  ssm_group,    // ssm_n_group
};

// Which layers of a model hold a per-layer tensor (hybrid models mix attention and Mamba-2
// layers; MoE models may add a shared expert).
enum class LayerKind {
  every,
  attention,   // layers that are not is_recurrent()
  recurrent,   // is_recurrent() layers
  dense_ffn,   // every layer, when n_expert == 0
  moe_ffn,     // every layer, when n_expert > 0
  shared_exp,  // every layer, when n_expert > 0 and n_ff_shexp > 0
};

enum class Presence {
  required,
  optional,  // absent: not used (rope_freqs.weight: llama3 frequency scaling)
  untied,    // absent exactly when the output head is tied to token_embd.weight
};

struct TensorSpec {
  TensorRole role;
  std::string_view name;  // per-layer tensors are "blk.{layer}." + name
  bool per_layer;
  Dim d0, d1;  // d1 == Dim::one: a vector of d0 elements
  Presence presence;
  bool f32_only;      // norm gains and RoPE factors are read as f32 by every backend
  Dim d2 = Dim::one;  // a third dimension (experts of a 3-D expert tensor)
  LayerKind layers = LayerKind::every;

  bool is_vector() const { return d1 == Dim::one; }
  // Whether layer `layer` of a model of `hp` holds this tensor (always, for global ones).
  bool in_layer(const LlamaHParams& hp, int64_t layer) const;
  std::vector<int64_t> shape(const LlamaHParams& hp) const;
  std::string gguf_name(int64_t layer) const;  // layer is ignored for global tensors
};

// Llama's tensors in the order llama.cpp and Fragua write them: token_embd, the per-layer
// block (attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down),
// output_norm, output, rope_freqs.
std::span<const TensorSpec> llama_tensors();
// Granite's mixture-of-experts table (llama.cpp's LLM_ARCH_GRANITE_MOE): Llama's attention, then
// ffn_norm, the router ffn_gate_inp [embd, expert], the experts ffn_gate_exps / ffn_up_exps
// [embd, ff, expert] and ffn_down_exps [ff, embd, expert], the optional shared expert.
std::span<const TensorSpec> granitemoe_tensors();
// Granite 4.0-H (LLM_ARCH_GRANITE_HYBRID): attention tensors on attention layers, Mamba-2's
// (ssm_in, ssm_conv1d and its bias, ssm_dt bias, ssm_a, ssm_d, ssm_norm, ssm_out) on recurrent
// ones; the FFN dense when n_expert is 0, else granitemoe's.
std::span<const TensorSpec> granitehybrid_tensors();
// Qwen2 (LLM_ARCH_QWEN2): Llama's table with the biases attn_q.bias [embd_q], attn_k.bias and
// attn_v.bias [embd_kv] (f32, as llama.cpp's converter and llama-quantize keep them), no
// rope_freqs.
std::span<const TensorSpec> qwen2_tensors();

// One tensor of a model: its spec, layer (-1 for global ones), GGUF name and shape.
struct TensorSlot {
  const TensorSpec* spec;
  int64_t layer;
  std::string name;
  std::vector<int64_t> ne;
};
// Every tensor a model of `hp` holds, in file order (global tensors before the per-layer block
// where the table lists them so, each layer's block in turn): output omitted when tied_output,
// optional ones included (a writer that has no such tensor skips it).
std::vector<TensorSlot> tensor_slots(std::span<const TensorSpec> table, const LlamaHParams& hp);

}  // namespace fragua::format
