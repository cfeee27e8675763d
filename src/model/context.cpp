// The decoder forward pass shared by the llama-family architectures (model/arch/*), in the
// order of the reference implementation: pre-norm attention and SwiGLU blocks with residuals.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "fragua/base/thread_pool.h"
#include "fragua/model/model.h"
#include "model/kv_cache.h"

namespace fragua::model {

struct Context::Buffers {
  KvCache kv;
  std::vector<float> x, h, q, k, v, att, gate, up, last;
  std::vector<int32_t> pos;
};

Context::Context(const Model& model, ContextParams params) : model_(model), params_(params) {}
Context::~Context() = default;

Result<std::unique_ptr<Context>> Context::create(const Model& model, ContextParams params) {
  const ModelConfig& c = model.config();
  if (params.n_ctx <= 0) params.n_ctx = std::min<int64_t>(c.n_ctx_train > 0 ? c.n_ctx_train : 4096, 4096);
  if (params.n_batch <= 0) params.n_batch = 512;
  params.n_batch = std::min(params.n_batch, params.n_ctx);
  std::unique_ptr<Context> ctx(new Context(model, params));
  ctx->backend_ = params.backend ? params.backend : backend::make_cpu_backend(params.n_threads);
  if (ctx->backend_->name() != model.weights_backend())
    return invalid_argument_error(
        "the model's weights were prepared for the '{}' backend, not for '{}' (load it with "
        "ModelParams::backend set to the context's backend)",
        model.weights_backend(), ctx->backend_->name());
  // A thread the OS refused is an error here rather than a slower run the user did not ask for.
  if (const Status& st = ctx->backend_->pool().status(); !st.ok()) return st.error();
  ctx->buf_ = std::make_unique<Buffers>();
  auto& b = *ctx->buf_;
  b.kv = FRAGUA_TRY(KvCache::create(c.n_layer, params.n_ctx, c.n_embd_kv()));
  const auto B = static_cast<size_t>(params.n_batch);
  try {
    b.x.resize(B * static_cast<size_t>(c.n_embd));
    b.h.resize(B * static_cast<size_t>(std::max(c.n_embd, c.n_embd_q())));
    b.q.resize(B * static_cast<size_t>(c.n_embd_q()));
    b.k.resize(B * static_cast<size_t>(c.n_embd_kv()));
    b.v.resize(B * static_cast<size_t>(c.n_embd_kv()));
    b.att.resize(B * static_cast<size_t>(c.n_embd_q()));
    b.gate.resize(B * static_cast<size_t>(c.n_ff));
    b.up.resize(B * static_cast<size_t>(c.n_ff));
    b.pos.resize(B);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("cannot allocate work buffers for batch {}", params.n_batch);
  }
  return ctx;
}

void Context::truncate(int64_t n) { n_past_ = std::clamp<int64_t>(n, 0, n_past_); }

Result<std::span<const float>> Context::decode(std::span<const int32_t> tokens, bool all_logits) {
  const ModelConfig& c = model_.config();
  if (tokens.empty()) return invalid_argument_error("decode: no tokens");
  for (size_t i = 0; i < tokens.size(); ++i)
    if (tokens[i] < 0 || tokens[i] >= c.n_vocab)
      return invalid_argument_error("token {} at index {} is outside the vocabulary (0..{})", tokens[i], i,
                                    c.n_vocab - 1);
  if (n_past_ + static_cast<int64_t>(tokens.size()) > params_.n_ctx)
    return resource_exhausted_error("context full: {} cached + {} new tokens exceed the context size {}", n_past_,
                                    tokens.size(), params_.n_ctx);
  const auto V = static_cast<size_t>(c.n_vocab);
  logits_.resize(all_logits ? tokens.size() * V : V);
  for (size_t start = 0; start < tokens.size(); start += static_cast<size_t>(params_.n_batch)) {
    size_t n = std::min(tokens.size() - start, static_cast<size_t>(params_.n_batch));
    bool last_batch = start + n == tokens.size();
    float* out = all_logits ? logits_.data() + start * V : (last_batch ? logits_.data() : nullptr);
    FRAGUA_TRY(forward(tokens.subspan(start, n), all_logits, out));
  }
  return std::span<const float>(logits_);
}

Status Context::forward(std::span<const int32_t> tokens, bool all_logits, float* logits_out) {
  const ModelConfig& c = model_.config();
  const Weights& w = model_.weights();
  Buffers& b = *buf_;
  backend::Backend& be = *backend_;
  const int64_t T = static_cast<int64_t>(tokens.size());
  const int64_t E = c.n_embd, Q = c.n_embd_q(), KV = c.n_embd_kv(), F = c.n_ff;
  for (int64_t t = 0; t < T; ++t) b.pos[static_cast<size_t>(t)] = static_cast<int32_t>(n_past_ + t);

  be.get_rows(w.tok_embd, tokens.data(), T, b.x.data());
  if (c.embedding_scale != 1.0f)
    for (int64_t i = 0; i < T * E; ++i) b.x[static_cast<size_t>(i)] *= c.embedding_scale;

  backend::RopeParams rope;
  rope.mode = c.rope_mode;
  rope.n_rot = static_cast<int>(c.n_rot);
  rope.theta_base = c.rope_theta;
  rope.freq_scale = c.rope_scaling == RopeScaling::linear ? 1.0f / c.rope_scale_factor : 1.0f;
  rope.freq_factors = w.rope_freqs.empty() ? nullptr : w.rope_freqs.f32();
  const float attn_scale =
      c.attention_scale != 0.0f ? c.attention_scale : 1.0f / std::sqrt(static_cast<float>(c.head_dim));

  const EvalCallback& cb = params_.eval_callback;
  auto trace = [&](const char* name, int64_t layer, const float* data, int64_t n) {
    if (cb) cb(name, static_cast<int>(layer), data, T, n);
  };
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[static_cast<size_t>(l)];
    // Attention block.
    be.rmsnorm(b.x.data(), L.attn_norm.f32(), T, E, c.rms_eps, b.h.data());
    trace("attn_norm", l, b.h.data(), E);
    be.matmul(L.wq, b.h.data(), T, b.q.data());
    be.matmul(L.wk, b.h.data(), T, b.k.data());
    be.matmul(L.wv, b.h.data(), T, b.v.data());
    be.rope(b.q.data(), T, c.n_head, c.head_dim, b.pos.data(), rope);
    be.rope(b.k.data(), T, c.n_head_kv, c.head_dim, b.pos.data(), rope);
    trace("Qcur", l, b.q.data(), Q);
    trace("Kcur", l, b.k.data(), KV);
    trace("Vcur", l, b.v.data(), KV);
    // Keys (rotated) and values go into the f16 cache rows of their positions.
    be.to_f16(b.k.data(), T * KV, b.kv.k(l, n_past_));
    be.to_f16(b.v.data(), T * KV, b.kv.v(l, n_past_));
    backend::AttentionArgs a;
    a.q = b.q.data();
    a.k = b.kv.k(l, 0);
    a.v = b.kv.v(l, 0);
    a.out = b.att.data();
    a.pos = b.pos.data();
    a.n_tokens = T;
    a.n_head = c.n_head;
    a.n_head_kv = c.n_head_kv;
    a.head_dim = c.head_dim;
    a.n_kv = n_past_ + T;
    a.scale = attn_scale;
    be.attention(a);
    trace("kqv_out", l, b.att.data(), Q);
    be.matmul(L.wo, b.att.data(), T, b.h.data());
    trace("attn_out", l, b.h.data(), E);
    be.add_scaled(b.x.data(), b.h.data(), T * E, c.residual_scale);
    trace("ffn_inp", l, b.x.data(), E);
    // Feed-forward block: down(silu(gate(x)) * up(x)).
    be.rmsnorm(b.x.data(), L.ffn_norm.f32(), T, E, c.rms_eps, b.h.data());
    trace("ffn_norm", l, b.h.data(), E);
    be.matmul(L.w_gate, b.h.data(), T, b.gate.data());
    be.matmul(L.w_up, b.h.data(), T, b.up.data());
    trace("ffn_gate", l, b.gate.data(), F);
    trace("ffn_up", l, b.up.data(), F);
    be.swiglu(b.gate.data(), b.up.data(), T * F, b.gate.data());
    trace("ffn_swiglu", l, b.gate.data(), F);
    be.matmul(L.w_down, b.gate.data(), T, b.h.data());
    trace("ffn_out", l, b.h.data(), E);
    be.add_scaled(b.x.data(), b.h.data(), T * E, c.residual_scale);
    trace("l_out", l, b.x.data(), E);
  }
  (void)Q;
  n_past_ += T;
  if (!logits_out) return {};
  // Output head over every token, or only the last one (what generation needs).
  const int64_t n_out = all_logits ? T : 1;
  const float* xin = b.x.data() + (all_logits ? 0 : (T - 1) * E);
  be.rmsnorm(xin, w.output_norm.f32(), n_out, E, c.rms_eps, b.h.data());
  be.matmul(w.output, b.h.data(), n_out, logits_out);
  if (c.logit_scale != 1.0f) {
    const float inv = 1.0f / c.logit_scale;
    for (int64_t i = 0; i < n_out * c.n_vocab; ++i) logits_out[i] *= inv;
  }
  return {};
}

}  // namespace fragua::model
