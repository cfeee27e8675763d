// SPDX-License-Identifier: Apache-2.0
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

// The recurrent state of a hybrid model's Mamba-2 layers beside the KV cache, per sequence slot
// and recurrent layer: the convolution's last d_conv-1 inputs [d_conv-1, channels] and the SSM
// state [heads, head_dim, d_state]. A slot's state stands for all of its cached positions, so it
// can only be kept whole or cleared: a run that starts at position 0 starts from zeros, and a
// context truncated to a position between 0 and its end is truncated to 0 (Context::truncate).
struct RecurrentState {
  std::vector<int32_t> index;  // model layer -> its recurrent layer number, or -1
  int64_t n_rec = 0, conv_size = 0, ssm_size = 0;
  std::vector<float> conv, ssm;  // [slot][recurrent layer][conv_size or ssm_size]

  float* conv_of(int64_t slot, int64_t layer) {
    return conv.data() + (slot * n_rec + index[static_cast<size_t>(layer)]) * conv_size;
  }
  float* ssm_of(int64_t slot, int64_t layer) {
    return ssm.data() + (slot * n_rec + index[static_cast<size_t>(layer)]) * ssm_size;
  }
};

// Work buffers of a Context or BatchContext, sized for its batch; the KV cache holds every
// slot's positions, slot after slot.
struct WorkBuffers {
  KvCache kv;
  // Model layer -> its layer in kv: the attention layers in order (a hybrid's Mamba layers have
  // no cache rows).
  std::vector<int32_t> kv_layer;
  std::vector<float> x, h, q, k, v, att, gate, up;
  std::vector<int32_t> pos;  // of each token of the batch, within its sequence
  // Mixture of experts (moe.cpp): router probabilities [T, n_expert], chosen experts and their
  // weights [T, n_expert_used], one expert's gathered inputs and outputs, the weighted sum; each
  // (token, chosen expert)'s weighted output [T * n_expert_used, n_embd], added in llama.cpp's order.
  std::vector<float> moe_probs, moe_w, moe_in, moe_out, moe_acc, moe_slot;
  std::vector<int32_t> moe_sel, moe_rows;
  // Batches of at most kMoeGroupedTokens tokens run every chosen expert at once (moe.cpp): all
  // their gathered rows in moe_in / gate / up / moe_out, expert e's from row moe_first[e]; the
  // shared expert beside them in moe_sh_*; the products handed to Backend::matmuls.
  std::vector<int64_t> moe_first;
  std::vector<float> moe_sh_gate, moe_sh_up, moe_sh_out;
  std::vector<backend::MatmulJob> moe_jobs;
  // Mamba-2 (mamba2.cpp): in_proj output [T, ssm_in_rows], convolved x/B/C, scan output, normed.
  std::vector<float> ssm_zx, ssm_xbc, ssm_y, ssm_yn;
  RecurrentState rs;
};
constexpr int64_t kMoeGroupedTokens = 16;
// Sizes the buffers for n_batch tokens, a cache of n_kv_rows positions and, for hybrid models,
// the recurrent state of n_slots sequences.
Status allocate_work_buffers(WorkBuffers& b, const ModelConfig& c, int64_t n_batch, int64_t n_kv_rows,
                             int64_t n_slots = 1);

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
// How many of a sequence's n_past cached positions a truncation to n keeps: n, except that a
// model with recurrent layers keeps all or nothing (its state stands for the whole sequence and
// cannot be rolled back), so any n below n_past gives 0. (context.cpp)
int64_t kept_prefix(const ModelConfig& c, int64_t n, int64_t n_past);

// Consecutive tokens [begin, begin + n) of a batch that belong to one sequence, at its positions
// n_past..n_past+n-1; the sequence's positions are the cache rows from cache_row (its slot).
struct SeqRun {
  int64_t begin = 0, n = 0, n_past = 0, cache_row = 0;
  int64_t slot = 0;  // the sequence's slot: its recurrent state
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
  // Rows of x still computed: every token's until keep_output_rows leaves only out_rows' (then
  // renumbered 0..n-1 in kept).
  int64_t rows = -1;
  std::vector<int32_t> kept;

  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_rows() const { return rows < 0 ? n_tokens() : rows; }
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
// the layer's keys and values to the KV cache (without RoPE when apply_rope is false: Granite
// 4.0-H's attention layers).
void attention_block(ForwardPass& f, int64_t layer, const backend::RopeParams& rope, float attn_scale,
                     float residual_scale, bool apply_rope = true);
// Before the last layer's feed-forward block, as llama.cpp's inp_out_ids: x keeps only the rows
// of out_rows (moved to the front), so that a prompt's last feed-forward and output norm run for
// the tokens whose logits are wanted; not when every token's state is wanted (hidden_out), nor
// when every row is in out_rows.
void keep_output_rows(ForwardPass& f);
// x += residual_scale * down(silu(gate(norm(x))) * up(norm(x))), over f.n_rows() rows.
void swiglu_ffn_block(ForwardPass& f, int64_t layer, float residual_scale);
// Mixture of experts (moe.cpp): x += residual_scale * (sum over the chosen experts of
// w_e * down_e(silu(gate_e(norm(x))) * up_e(norm(x))) + the shared expert's SwiGLU, if any).
void moe_ffn_block(ForwardPass& f, int64_t layer, float residual_scale);
// Mamba-2 mixer (mamba2.cpp) on norm(x) = attn_norm(x): x += residual_scale * out_proj(...),
// reading and advancing each run's recurrent state.
void mamba2_block(ForwardPass& f, int64_t layer, float residual_scale);
// The recurrent state's size for a model (none without recurrent layers) and its clearing.
Status allocate_recurrent_state(RecurrentState& rs, const ModelConfig& c, int64_t n_slots);
// logits = output(norm(x)) / logit_scale for the tokens of out_rows (and norm(x) of every token
// into hidden_out when set).
void output_head(ForwardPass& f, float logit_scale);
// The pre-norm decoder stack of Llama with Granite's scalars: the forward of both.
void decoder_forward(ForwardPass& f, const DecoderScales& scales);

}  // namespace fragua::model
