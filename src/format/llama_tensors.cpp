// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/llama_tensors.h"

#include <fmt/format.h>

namespace fragua::format {

namespace {

using enum TensorRole;
using enum Dim;
using enum Presence;

// llama.cpp's LLM_ARCH_LLAMA tensor names (llama-arch.cpp); shapes as its llm_build_llama binds
// them.
constexpr TensorSpec kLlama[] = {
    {token_embd, "token_embd.weight", false, embd, vocab, required, false},
    {attn_norm, "attn_norm.weight", true, embd, one, required, true},
    {attn_q, "attn_q.weight", true, embd, embd_q, required, false},
    {attn_k, "attn_k.weight", true, embd, embd_kv, required, false},
    {attn_v, "attn_v.weight", true, embd, embd_kv, required, false},
    {attn_output, "attn_output.weight", true, embd_q, embd, required, false},
    {ffn_norm, "ffn_norm.weight", true, embd, one, required, true},
    {ffn_gate, "ffn_gate.weight", true, embd, ff, required, false},
    {ffn_up, "ffn_up.weight", true, embd, ff, required, false},
    {ffn_down, "ffn_down.weight", true, ff, embd, required, false},
    {output_norm, "output_norm.weight", false, embd, one, required, true},
    {output, "output.weight", false, embd, vocab, untied, false},
    {rope_freqs, "rope_freqs.weight", false, rot_pairs, one, optional, true},
};

// llama.cpp's LLM_ARCH_QWEN2 (src/models/qwen2.cpp: create_tensor_qkv with the biases).
constexpr TensorSpec kQwen2[] = {
    {token_embd, "token_embd.weight", false, embd, vocab, required, false},
    {attn_norm, "attn_norm.weight", true, embd, one, required, true},
    {attn_q, "attn_q.weight", true, embd, embd_q, required, false},
    {attn_q_b, "attn_q.bias", true, embd_q, one, required, true},
    {attn_k, "attn_k.weight", true, embd, embd_kv, required, false},
    {attn_k_b, "attn_k.bias", true, embd_kv, one, required, true},
    {attn_v, "attn_v.weight", true, embd, embd_kv, required, false},
    {attn_v_b, "attn_v.bias", true, embd_kv, one, required, true},
    {attn_output, "attn_output.weight", true, embd_q, embd, required, false},
    {ffn_norm, "ffn_norm.weight", true, embd, one, required, true},
    {ffn_gate, "ffn_gate.weight", true, embd, ff, required, false},
    {ffn_up, "ffn_up.weight", true, embd, ff, required, false},
    {ffn_down, "ffn_down.weight", true, ff, embd, required, false},
    {output_norm, "output_norm.weight", false, embd, one, required, true},
    {output, "output.weight", false, embd, vocab, untied, false},
};

// llama.cpp's LLM_ARCH_GRANITE_MOE names and shapes (llama-arch.cpp, src/models/granite-moe.cpp).
#define FRAGUA_LLAMA_ATTENTION(kind)                                                  \
  {attn_norm, "attn_norm.weight", true, embd, one, required, true},                   \
      {attn_q, "attn_q.weight", true, embd, embd_q, required, false, one, kind},      \
      {attn_k, "attn_k.weight", true, embd, embd_kv, required, false, one, kind},     \
      {attn_v, "attn_v.weight", true, embd, embd_kv, required, false, one, kind}, {   \
    attn_output, "attn_output.weight", true, embd_q, embd, required, false, one, kind \
  }
#define FRAGUA_MOE_FFN                                                                                              \
  {ffn_gate_inp, "ffn_gate_inp.weight", true, embd, expert, required, false, one, LayerKind::moe_ffn},              \
      {ffn_gate_exps, "ffn_gate_exps.weight", true, embd, ff, required, false, expert, LayerKind::moe_ffn},         \
      {ffn_up_exps, "ffn_up_exps.weight", true, embd, ff, required, false, expert, LayerKind::moe_ffn},             \
      {ffn_down_exps, "ffn_down_exps.weight", true, ff, embd, required, false, expert, LayerKind::moe_ffn},         \
      {ffn_gate_shexp, "ffn_gate_shexp.weight", true, embd, ff_shexp, required, false, one, LayerKind::shared_exp}, \
      {ffn_up_shexp, "ffn_up_shexp.weight", true, embd, ff_shexp, required, false, one, LayerKind::shared_exp}, {   \
    ffn_down_shexp, "ffn_down_shexp.weight", true, ff_shexp, embd, required, false, one, LayerKind::shared_exp      \
  }

constexpr TensorSpec kGraniteMoe[] = {
    {token_embd, "token_embd.weight", false, embd, vocab, required, false},
    FRAGUA_LLAMA_ATTENTION(LayerKind::every),
    {ffn_norm, "ffn_norm.weight", true, embd, one, required, true},
    FRAGUA_MOE_FFN,
    {output_norm, "output_norm.weight", false, embd, one, required, true},
    {output, "output.weight", false, embd, vocab, untied, false},
    {rope_freqs, "rope_freqs.weight", false, rot_pairs, one, optional, true},
};

// LLM_ARCH_GRANITE_HYBRID (src/models/granite-hybrid.cpp): ssm_a and ssm_d are [1, heads] and
// have no ".weight" suffix; ssm_norm is [inner / groups, groups].
constexpr TensorSpec kGraniteHybrid[] = {
    {token_embd, "token_embd.weight", false, embd, vocab, required, false},
    FRAGUA_LLAMA_ATTENTION(LayerKind::attention),
    {ssm_in, "ssm_in.weight", true, embd, ssm_proj, required, false, one, LayerKind::recurrent},
    {ssm_conv1d, "ssm_conv1d.weight", true, ssm_conv, ssm_chan, required, true, one, LayerKind::recurrent},
    {ssm_conv1d_b, "ssm_conv1d.bias", true, ssm_chan, one, required, true, one, LayerKind::recurrent},
    {ssm_dt_b, "ssm_dt.bias", true, ssm_head, one, required, true, one, LayerKind::recurrent},
    {ssm_a, "ssm_a", true, one, ssm_head, required, true, one, LayerKind::recurrent},
    {ssm_d, "ssm_d", true, one, ssm_head, required, true, one, LayerKind::recurrent},
    {ssm_norm, "ssm_norm.weight", true, ssm_group_w, ssm_group, required, true, one, LayerKind::recurrent},
    {ssm_out, "ssm_out.weight", true, ssm_inner, embd, required, false, one, LayerKind::recurrent},
    {ffn_norm, "ffn_norm.weight", true, embd, one, required, true},
    {ffn_gate, "ffn_gate.weight", true, embd, ff, required, false, one, LayerKind::dense_ffn},
    {ffn_up, "ffn_up.weight", true, embd, ff, required, false, one, LayerKind::dense_ffn},
    {ffn_down, "ffn_down.weight", true, ff, embd, required, false, one, LayerKind::dense_ffn},
    FRAGUA_MOE_FFN,
    {output_norm, "output_norm.weight", false, embd, one, required, true},
    {output, "output.weight", false, embd, vocab, untied, false},
};
#undef FRAGUA_LLAMA_ATTENTION
#undef FRAGUA_MOE_FFN

int64_t extent(Dim d, const LlamaHParams& hp) {
  switch (d) {
    case Dim::one:
      return 1;
    case Dim::embd:
      return hp.n_embd;
    case Dim::embd_q:
      return hp.n_embd_q();
    case Dim::embd_kv:
      return hp.n_embd_kv();
    case Dim::ff:
      return hp.n_ff;
    case Dim::vocab:
      return hp.n_vocab;
    case Dim::rot_pairs:
      return hp.n_rot / 2;
    case Dim::expert:
      return hp.n_expert;
    case Dim::ff_shexp:
      return hp.n_ff_shexp;
    case Dim::ssm_proj:
      return hp.ssm_in_rows();
    case Dim::ssm_conv:
      return hp.ssm_d_conv;
    case Dim::ssm_chan:
      return hp.ssm_conv_channels();
    case Dim::ssm_head:
      return hp.ssm_n_head;
    case Dim::ssm_inner:
      return hp.ssm_d_inner;
    case Dim::ssm_group_w:
      return hp.ssm_n_group > 0 ? hp.ssm_d_inner / hp.ssm_n_group : 0;
    case Dim::ssm_group:
      return hp.ssm_n_group;
  }
  return 0;
}

}  // namespace

std::vector<int64_t> TensorSpec::shape(const LlamaHParams& hp) const {
  if (is_vector()) return {extent(d0, hp)};
  if (d2 != Dim::one) return {extent(d0, hp), extent(d1, hp), extent(d2, hp)};
  return {extent(d0, hp), extent(d1, hp)};
}

bool TensorSpec::in_layer(const LlamaHParams& hp, int64_t layer) const {
  if (!per_layer) return true;
  switch (layers) {
    case LayerKind::every:
      return true;
    case LayerKind::attention:
      return !hp.is_recurrent(layer);
    case LayerKind::recurrent:
      return hp.is_recurrent(layer);
    case LayerKind::dense_ffn:
      return hp.n_expert == 0;
    case LayerKind::moe_ffn:
      return hp.n_expert > 0;
    case LayerKind::shared_exp:
      return hp.n_expert > 0 && hp.n_ff_shexp > 0;
  }
  return true;
}

std::string TensorSpec::gguf_name(int64_t layer) const {
  return per_layer ? fmt::format("blk.{}.{}", layer, name) : std::string(name);
}

std::span<const TensorSpec> llama_tensors() { return kLlama; }
std::span<const TensorSpec> granitemoe_tensors() { return kGraniteMoe; }
std::span<const TensorSpec> granitehybrid_tensors() { return kGraniteHybrid; }
std::span<const TensorSpec> qwen2_tensors() { return kQwen2; }

std::vector<TensorSlot> tensor_slots(std::span<const TensorSpec> table, const LlamaHParams& hp) {
  std::vector<TensorSlot> out;
  for (size_t i = 0; i < table.size(); ++i) {
    const TensorSpec& s = table[i];
    if (!s.per_layer) {
      if (s.presence == untied && hp.tied_output) continue;
      out.push_back({&s, -1, s.gguf_name(-1), s.shape(hp)});
      continue;
    }
    // A run of per-layer specs is one block, written layer by layer.
    size_t end = i;
    while (end < table.size() && table[end].per_layer) ++end;
    for (int64_t l = 0; l < hp.n_layer; ++l)
      for (size_t j = i; j < end; ++j)
        if (table[j].in_layer(hp, l)) out.push_back({&table[j], l, table[j].gguf_name(l), table[j].shape(hp)});
    i = end - 1;
  }
  return out;
}

}  // namespace fragua::format
