// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cmath>
#include <new>

#include "model/graph.h"

namespace fragua::model {

void ForwardPass::trace(const char* name, int64_t layer, const float* data, int64_t n) const {
  if (cb) cb(name, static_cast<int>(layer), data, n_rows(), n);
}

void keep_output_rows(ForwardPass& f) {
  const auto n = static_cast<int64_t>(f.out_rows.size());
  if (f.hidden_out != nullptr || f.logits_out == nullptr || n == 0 || n == f.n_rows()) return;
  const int64_t E = f.c.n_embd;
  float* x = f.b.x.data();
  // out_rows ascends, so row i <= out_rows[i] and no row is overwritten before it is read.
  for (int64_t i = 0; i < n; ++i) {
    const int64_t src = f.out_rows[static_cast<size_t>(i)];
    if (src != i) std::copy_n(x + src * E, E, x + i * E);
  }
  f.kept.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) f.kept[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  f.out_rows = f.kept;
  f.rows = n;
}

void embed_tokens(ForwardPass& f, float scale) {
  const int64_t T = f.n_tokens();
  f.be.get_rows(f.w.tok_embd, f.tokens.data(), T, f.b.x.data());
  if (scale != 1.0f)
    for (int64_t i = 0; i < T * f.c.n_embd; ++i) f.b.x[static_cast<size_t>(i)] *= scale;
}

backend::RopeParams rope_params(const ModelConfig& c, const Weights& w) {
  backend::RopeParams rope;
  rope.mode = c.rope_mode;
  rope.n_rot = static_cast<int>(c.n_rot);
  rope.theta_base = c.rope_theta;
  rope.freq_scale = c.rope_scaling == RopeScaling::linear ? 1.0f / c.rope_scale_factor : 1.0f;
  rope.freq_factors = w.rope_freqs.empty() ? nullptr : w.rope_freqs.f32();
  return rope;
}

void attention_block(ForwardPass& f, int64_t l, const backend::RopeParams& rope, float attn_scale, float residual_scale,
                     bool apply_rope) {
  const ModelConfig& c = f.c;
  const LayerWeights& L = f.w.layers[static_cast<size_t>(l)];
  WorkBuffers& b = f.b;
  backend::Backend& be = f.be;
  const int64_t T = f.n_tokens(), E = c.n_embd, Q = c.n_embd_q(), KV = c.n_embd_kv();
  be.rmsnorm(b.x.data(), L.attn_norm.f32(), T, E, c.rms_eps, b.h.data());
  f.trace("attn_norm", l, b.h.data(), E);
  // Independent products of the same input: one call, so that a backend may run them together
  // (the CPU backend at decode: one parallel region, the input converted once).
  const backend::MatmulJob qkv[3] = {
      {&L.wq, b.h.data(), T, b.q.data()}, {&L.wk, b.h.data(), T, b.k.data()}, {&L.wv, b.h.data(), T, b.v.data()}};
  be.matmuls(qkv);
  // Projection biases (Qwen2) before RoPE, as llama.cpp's build_qkv adds them.
  if (!L.bq.empty())
    for (int64_t t = 0; t < T; ++t) {
      be.add_scaled(b.q.data() + t * Q, L.bq.f32(), Q, 1.0f);
      be.add_scaled(b.k.data() + t * KV, L.bk.f32(), KV, 1.0f);
      be.add_scaled(b.v.data() + t * KV, L.bv.f32(), KV, 1.0f);
    }
  if (apply_rope) {
    be.rope(b.q.data(), T, c.n_head, c.head_dim, b.pos.data(), rope);
    be.rope(b.k.data(), T, c.n_head_kv, c.head_dim, b.pos.data(), rope);
  }
  f.trace("Qcur", l, b.q.data(), Q);
  f.trace("Kcur", l, b.k.data(), KV);
  f.trace("Vcur", l, b.v.data(), KV);
  // Keys (rotated) and values go into the f16 cache rows of their positions, every run's before
  // any attends (a sequence may have two runs in one batch); then each run attends over its own
  // sequence's rows only.
  const int64_t kl = b.kv_layer[static_cast<size_t>(l)];
  for (const SeqRun& r : f.runs) {
    be.to_f16(b.k.data() + r.begin * KV, r.n * KV, b.kv.k(kl, r.cache_row + r.n_past));
    be.to_f16(b.v.data() + r.begin * KV, r.n * KV, b.kv.v(kl, r.cache_row + r.n_past));
  }
  for (const SeqRun& r : f.runs) {
    backend::AttentionArgs a;
    a.q = b.q.data() + r.begin * Q;
    a.k = b.kv.k(kl, r.cache_row);
    a.v = b.kv.v(kl, r.cache_row);
    a.out = b.att.data() + r.begin * Q;
    a.pos = b.pos.data() + r.begin;
    a.n_tokens = r.n;
    a.n_head = c.n_head;
    a.n_head_kv = c.n_head_kv;
    a.head_dim = c.head_dim;
    a.n_kv = r.n_past + r.n;
    a.scale = attn_scale;
    be.attention(a);
  }
  f.trace("kqv_out", l, b.att.data(), Q);
  be.matmul(L.wo, b.att.data(), T, b.h.data());
  f.trace("attn_out", l, b.h.data(), E);
  be.add_scaled(b.x.data(), b.h.data(), T * E, residual_scale);
  f.trace("ffn_inp", l, b.x.data(), E);
}

void swiglu_ffn_block(ForwardPass& f, int64_t l, float residual_scale) {
  const ModelConfig& c = f.c;
  const LayerWeights& L = f.w.layers[static_cast<size_t>(l)];
  WorkBuffers& b = f.b;
  backend::Backend& be = f.be;
  const int64_t T = f.n_rows(), E = c.n_embd, F = c.n_ff;
  be.rmsnorm(b.x.data(), L.ffn_norm.f32(), T, E, c.rms_eps, b.h.data());
  f.trace("ffn_norm", l, b.h.data(), E);
  const backend::MatmulJob gate_up[2] = {{&L.w_gate, b.h.data(), T, b.gate.data()},
                                         {&L.w_up, b.h.data(), T, b.up.data()}};
  be.matmuls(gate_up);
  f.trace("ffn_gate", l, b.gate.data(), F);
  f.trace("ffn_up", l, b.up.data(), F);
  be.swiglu(b.gate.data(), b.up.data(), T * F, b.gate.data());
  f.trace("ffn_swiglu", l, b.gate.data(), F);
  be.matmul(L.w_down, b.gate.data(), T, b.h.data());
  f.trace("ffn_out", l, b.h.data(), E);
  be.add_scaled(b.x.data(), b.h.data(), T * E, residual_scale);
  f.trace("l_out", l, b.x.data(), E);
}

void output_head(ForwardPass& f, float logit_scale) {
  const ModelConfig& c = f.c;
  const int64_t T = f.n_rows(), E = c.n_embd;
  const float* norm = f.w.output_norm.f32();
  if (f.hidden_out) f.be.rmsnorm(f.b.x.data(), norm, T, E, c.rms_eps, f.hidden_out);
  if (!f.logits_out || f.out_rows.empty()) return;
  // Only the rows asked for (generation needs the last token of each sequence): one call when
  // they are consecutive, else row by row (the norm of a row does not depend on its neighbours).
  const auto n_out = static_cast<int64_t>(f.out_rows.size());
  const int64_t first = f.out_rows.front();
  if (f.out_rows.back() - first + 1 == n_out) {
    f.be.rmsnorm(f.b.x.data() + first * E, norm, n_out, E, c.rms_eps, f.b.h.data());
  } else {
    for (int64_t i = 0; i < n_out; ++i)
      f.be.rmsnorm(f.b.x.data() + f.out_rows[static_cast<size_t>(i)] * E, norm, 1, E, c.rms_eps, f.b.h.data() + i * E);
  }
  f.be.matmul(f.w.output, f.b.h.data(), n_out, f.logits_out);
  if (logit_scale != 1.0f) {
    const float inv = 1.0f / logit_scale;
    for (int64_t i = 0; i < n_out * c.n_vocab; ++i) f.logits_out[i] *= inv;
  }
}

void decoder_forward(ForwardPass& f, const DecoderScales& s) {
  const ModelConfig& c = f.c;
  embed_tokens(f, s.embedding);
  const backend::RopeParams rope = rope_params(c, f.w);
  const float attn_scale = s.attention != 0.0f ? s.attention : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    attention_block(f, l, rope, attn_scale, s.residual);
    if (l == c.n_layer - 1) keep_output_rows(f);
    swiglu_ffn_block(f, l, s.residual);
  }
  output_head(f, s.logit);
}

Status allocate_work_buffers(WorkBuffers& b, const ModelConfig& c, int64_t n_batch, int64_t n_kv_rows,
                             int64_t n_slots) {
  b.kv_layer.assign(static_cast<size_t>(c.n_layer), -1);
  int32_t n_attention = 0;
  for (int64_t l = 0; l < c.n_layer; ++l)
    if (!c.is_recurrent(l)) b.kv_layer[static_cast<size_t>(l)] = n_attention++;
  b.kv = FRAGUA_TRY(KvCache::create(n_attention, n_kv_rows, c.n_embd_kv()));
  FRAGUA_TRY(allocate_recurrent_state(b.rs, c, n_slots));
  const auto B = static_cast<size_t>(n_batch);
  const auto sz = [](int64_t v) { return static_cast<size_t>(v); };
  try {
    const size_t ff = sz(std::max(c.n_ff, c.n_ff_shexp));
    b.moe_probs.resize(B * sz(c.n_expert));
    b.moe_w.resize(B * sz(c.n_expert_used));
    b.moe_sel.resize(B * sz(c.n_expert_used));
    // Up to kMoeGroupedTokens tokens, every chosen expert's rows at once (moe.cpp).
    const size_t grouped = c.n_expert > 0 ? std::min(B, sz(kMoeGroupedTokens)) * sz(c.n_expert_used) : 0;
    b.moe_rows.resize(c.n_expert > 0 ? std::max(B, grouped) : 0);
    b.moe_acc.resize(c.n_expert > 0 ? B * sz(c.n_embd) : 0);
    for (auto* v : {&b.moe_in, &b.moe_out}) v->resize(c.n_expert > 0 ? std::max(B, grouped) * sz(c.n_embd) : 0);
    b.moe_slot.resize(B * sz(c.n_expert_used) * sz(c.n_embd));
    b.moe_first.resize(c.n_expert > 0 ? sz(c.n_expert) + 1 : 0);
    const size_t grouped_tokens = c.n_expert > 0 ? std::min(B, sz(kMoeGroupedTokens)) : 0;
    b.moe_sh_gate.resize(grouped_tokens * sz(c.n_ff_shexp));
    b.moe_sh_up.resize(grouped_tokens * sz(c.n_ff_shexp));
    b.moe_sh_out.resize(c.n_ff_shexp > 0 ? grouped_tokens * sz(c.n_embd) : 0);
    if (c.has_recurrent()) {
      b.ssm_zx.resize(B * sz(c.ssm_in_rows()));
      b.ssm_xbc.resize(B * sz(c.ssm_conv_channels()));
      b.ssm_y.resize(B * sz(c.ssm_d_inner));
      b.ssm_yn.resize(B * sz(c.ssm_d_inner));
    }
    b.gate.resize(std::max(B * ff, grouped * sz(c.n_ff)));
    b.up.resize(std::max(B * ff, grouped * sz(c.n_ff)));
    b.x.resize(B * static_cast<size_t>(c.n_embd));
    b.h.resize(B * static_cast<size_t>(std::max(c.n_embd, c.n_embd_q())));
    b.q.resize(B * static_cast<size_t>(c.n_embd_q()));
    b.k.resize(B * static_cast<size_t>(c.n_embd_kv()));
    b.v.resize(B * static_cast<size_t>(c.n_embd_kv()));
    b.att.resize(B * static_cast<size_t>(c.n_embd_q()));
    b.pos.resize(B);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("cannot allocate work buffers for batch {}", n_batch);
  }
  return {};
}

}  // namespace fragua::model
