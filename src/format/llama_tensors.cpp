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
  }
  return 0;
}

}  // namespace

std::vector<int64_t> TensorSpec::shape(const LlamaHParams& hp) const {
  if (is_vector()) return {extent(d0, hp)};
  return {extent(d0, hp), extent(d1, hp)};
}

std::string TensorSpec::gguf_name(int64_t layer) const {
  return per_layer ? fmt::format("blk.{}.{}", layer, name) : std::string(name);
}

std::span<const TensorSpec> llama_tensors() { return kLlama; }

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
      for (size_t j = i; j < end; ++j) out.push_back({&table[j], l, table[j].gguf_name(l), table[j].shape(hp)});
    i = end - 1;
  }
  return out;
}

}  // namespace fragua::format
