// The inference Context: work buffers and KV cache for a model, batching of decode(), and the
// dispatch of each batch to the architecture's forward (model/arch/<name>.cpp, built from the
// blocks of model/graph.h).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "fragua/base/thread_pool.h"
#include "fragua/model/model.h"
#include "model/arch.h"
#include "model/graph.h"
#include "model/kv_cache.h"

namespace fragua::model {

struct Context::Buffers : WorkBuffers {
  const Architecture* arch = nullptr;
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
  b.arch = find_architecture(c.arch);
  if (!b.arch)
    return unsupported_error("architecture '{}' is not supported (supported: {})", c.arch, known_architectures());
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
  Buffers& b = *buf_;
  const int64_t T = static_cast<int64_t>(tokens.size());
  for (int64_t t = 0; t < T; ++t) b.pos[static_cast<size_t>(t)] = static_cast<int32_t>(n_past_ + t);
  ForwardPass pass{model_.config(), model_.weights(), *backend_,  b,         params_.eval_callback,
                   tokens,          n_past_,          all_logits, logits_out};
  b.arch->forward(pass);
  n_past_ += T;
  return {};
}

}  // namespace fragua::model
