// The shared blocks of the Llama-family forward pass, in the order of llama.cpp's llm_build_llama
// (src/models/llama.cpp): an architecture's forward (model/arch/<name>.cpp) composes them, as
// llama.cpp's src/models/*.cpp compose its llm_graph_context helpers. Each block runs on the
// backend and reports its steps under llama.cpp's graph names (EvalCallback in model.h).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/model/config.h"
#include "fragua/model/model.h"
#include "model/kv_cache.h"

namespace fragua::model {

// Work buffers of a Context or BatchContext, sized for its batch; the KV cache holds every
// slot's positions, slot after slot.
struct WorkBuffers {
  KvCache kv;
  std::vector<float> x, h, q, k, v, att, gate, up;
  std::vector<int32_t> pos;  // of each token of the batch, within its sequence
};
// Sizes the buffers for n_batch tokens and a cache of n_kv_rows positions.
Status allocate_work_buffers(WorkBuffers& b, const ModelConfig& c, int64_t n_batch, int64_t n_kv_rows);

struct Architecture;  // model/arch.h
// What a context runs with: the backend (the given one, else a CPU backend with n_threads) and the
// model's architecture. Errors: a backend of another name than the one the weights were prepared
// for, a thread the OS refused, an architecture not registered. (context.cpp)
struct ContextSetup {
  std::shared_ptr<backend::Backend> backend;
  const Architecture* arch = nullptr;
};
Result<ContextSetup> setup_context(const Model& model, std::shared_ptr<backend::Backend> backend, int n_threads);
// The positions a context (or a BatchContext slot) gets when none are asked for: the model's
// training context, at most 4096.
int64_t default_n_ctx(const ModelConfig& c);

// Consecutive tokens [begin, begin + n) of a batch that belong to one sequence, at its positions
// n_past..n_past+n-1; the sequence's positions are the cache rows from cache_row (its slot).
struct SeqRun {
  int64_t begin = 0, n = 0, n_past = 0, cache_row = 0;
};

// One forward pass over a batch of tokens: x holds the residual stream [T, n_embd], b.pos the
// position of each token.
struct ForwardPass {
  const ModelConfig& c;
  const Weights& w;
  backend::Backend& be;
  WorkBuffers& b;
  const EvalCallback& cb;
  std::span<const int32_t> tokens;
  std::span<const SeqRun> runs;       // cover the batch in order
  std::span<const int32_t> out_rows;  // tokens whose logits are wanted, ascending
  float* logits_out;                  // [out_rows, n_vocab]; null: no output head
  float* hidden_out = nullptr;        // optional [T, n_embd]: every token's state after the output norm

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
// logits = output(norm(x)) / logit_scale for the tokens of out_rows (and norm(x) of every token
// into hidden_out when set).
void output_head(ForwardPass& f, float logit_scale);
// The pre-norm decoder stack of Llama with Granite's scalars: the forward of both.
void decoder_forward(ForwardPass& f, const DecoderScales& scales);

}  // namespace fragua::model
