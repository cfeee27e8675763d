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
  ffn_norm,
  ffn_gate,
  ffn_up,
  ffn_down,
};

// A shape dimension in terms of the hyper-parameters.
enum class Dim { one, embd, embd_q, embd_kv, ff, vocab, rot_pairs };

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
  bool f32_only;  // norm gains and RoPE factors are read as f32 by every backend

  bool is_vector() const { return d1 == Dim::one; }
  std::vector<int64_t> shape(const LlamaHParams& hp) const;
  std::string gguf_name(int64_t layer) const;  // layer is ignored for global tensors
};

// Llama's tensors in the order llama.cpp and Fragua write them: token_embd, the per-layer
// block (attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down),
// output_norm, output, rope_freqs.
std::span<const TensorSpec> llama_tensors();

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
