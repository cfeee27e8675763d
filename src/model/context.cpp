// SPDX-License-Identifier: Apache-2.0
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
  std::vector<int32_t> all_rows;  // 0..n_batch-1: the output rows of an all_logits batch
};

Result<ContextSetup> setup_context(const Model& model, std::shared_ptr<backend::Backend> backend, int n_threads) {
  ContextSetup s;
  s.backend = backend ? std::move(backend) : backend::make_cpu_backend(n_threads);
  if (s.backend->name() != model.weights_backend())
    return invalid_argument_error(
        "the model's weights were prepared for the '{}' backend, not for '{}' (load it with "
        "ModelParams::backend set to the context's backend)",
        model.weights_backend(), s.backend->name());
  // A thread the OS refused is an error here rather than a slower run the user did not ask for.
  if (const Status& st = s.backend->pool().status(); !st.ok()) return st.error();
  s.arch = find_architecture(model.config().arch);
  if (!s.arch)
    return unsupported_error("architecture '{}' is not supported (supported: {})", model.config().arch,
                             known_architectures());
  return s;
}

int64_t default_n_ctx(const ModelConfig& c) {
  return std::min<int64_t>(c.n_ctx_train > 0 ? c.n_ctx_train : 4096, 4096);
}

Context::Context(const Model& model, ContextParams params) : model_(model), params_(params) {}
Context::~Context() = default;

Result<std::unique_ptr<Context>> Context::create(const Model& model, ContextParams params) {
  const ModelConfig& c = model.config();
  if (params.n_ctx <= 0) params.n_ctx = default_n_ctx(c);
  if (params.n_batch <= 0) params.n_batch = 512;
  params.n_batch = std::min(params.n_batch, params.n_ctx);
  std::unique_ptr<Context> ctx(new Context(model, params));
  ContextSetup setup = FRAGUA_TRY(setup_context(model, params.backend, params.n_threads));
  ctx->backend_ = std::move(setup.backend);
  ctx->buf_ = std::make_unique<Buffers>();
  auto& b = *ctx->buf_;
  b.arch = setup.arch;
  FRAGUA_TRY(allocate_work_buffers(b, c, params.n_batch, params.n_ctx));
  b.all_rows.resize(static_cast<size_t>(params.n_batch));
  std::iota(b.all_rows.begin(), b.all_rows.end(), 0);
  return ctx;
}

int64_t kept_prefix(const ModelConfig& c, int64_t n, int64_t n_past) {
  n = std::clamp<int64_t>(n, 0, n_past);
  return c.has_recurrent() && n != n_past ? 0 : n;
}

void Context::truncate(int64_t n) { n_past_ = kept_prefix(model_.config(), n, n_past_); }

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
  // One sequence, in cache rows 0..n_ctx-1; logits of every token or of the last one.
  const SeqRun run{.begin = 0, .n = T, .n_past = n_past_, .cache_row = 0};
  const int32_t last = static_cast<int32_t>(T - 1);
  const auto rows = all_logits ? std::span<const int32_t>(b.all_rows.data(), static_cast<size_t>(T))
                               : std::span<const int32_t>(&last, 1);
  ForwardPass pass{model_.config(), model_.weights(), *backend_, b,         params_.eval_callback,
                   tokens,          {&run, 1},        rows,      logits_out};
  b.arch->forward(pass);
  n_past_ += T;
  return {};
}

}  // namespace fragua::model
