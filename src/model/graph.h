// The shared blocks of the Llama-family forward pass, in the order of llama.cpp's llm_build_llama
// (src/models/llama.cpp): an architecture's forward (model/arch/<name>.cpp) composes them, as
// llama.cpp's src/models/*.cpp compose its llm_graph_context helpers. Each block runs on the
// backend and reports its steps under llama.cpp's graph names (EvalCallback in model.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/model/config.h"
#include "fragua/model/model.h"
#include "model/kv_cache.h"

namespace fragua::model {

// Work buffers of one Context, sized for its batch (Context::create).
struct WorkBuffers {
  KvCache kv;
  std::vector<float> x, h, q, k, v, att, gate, up;
  std::vector<int32_t> pos;
};

// One forward pass over a batch of tokens at positions n_past..n_past+T-1: x holds the residual
// stream [T, n_embd].
struct ForwardPass {
  const ModelConfig& c;
  const Weights& w;
  backend::Backend& be;
  WorkBuffers& b;
  const EvalCallback& cb;
  std::span<const int32_t> tokens;
  int64_t n_past;
  bool all_logits;
  float* logits_out;  // null: no output head (a prompt batch before the last)

  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  void trace(const char* name, int64_t layer, const float* data, int64_t n) const;
};

// The scalars by which the Granite family departs from Llama (llama.cpp's LLM_ARCH_GRANITE);
// Llama's are the identity: 1, 1/sqrt(head_dim), 1, 1.
struct DecoderScales {
  float embedding = 1.0f;
  float attention = 0.0f;  // 0: 1/sqrt(head_dim)
  float residual = 1.0f;
  float logit = 1.0f;  // logits are divided by this
};

// x = token_embd[tokens] * scale.
void embed_tokens(ForwardPass& f, float scale);
// RoPE as the configuration and the optional rope_freqs.weight describe it.
backend::RopeParams rope_params(const ModelConfig& c, const Weights& w);
// x += residual_scale * wo(attention(rope(wq norm(x)), rope(wk norm(x)), wv norm(x))), appending
// the layer's keys and values to the KV cache.
void attention_block(ForwardPass& f, int64_t layer, const backend::RopeParams& rope, float attn_scale,
                     float residual_scale);
// x += residual_scale * down(silu(gate(norm(x))) * up(norm(x))).
void swiglu_ffn_block(ForwardPass& f, int64_t layer, float residual_scale);
// logits = output(norm(x)) / logit_scale, for every token or the last one.
void output_head(ForwardPass& f, float logit_scale);
// The pre-norm decoder stack of Llama with Granite's scalars: the forward of both.
void decoder_forward(ForwardPass& f, const DecoderScales& scales);

}  // namespace fragua::model
