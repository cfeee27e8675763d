// SPDX-License-Identifier: Apache-2.0
// BatchContext: sequence slots over one KV cache (slot s owns rows s * n_ctx_per_seq onwards of
// every layer), and the split of a list of items into forward passes of at most n_batch tokens,
// each cut into runs of consecutive tokens of one sequence (model/graph.h SeqRun): the forward of
// the architecture is the one Context runs.
#include <algorithm>
#include <cmath>
#include <new>

#include "fragua/model/batch.h"
#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

struct BatchContext::Impl {
  const Model& model;
  BatchContextParams params;
  std::shared_ptr<backend::Backend> be;
  const Architecture* arch = nullptr;
  WorkBuffers b;
  struct Slot {
    std::vector<int32_t> tokens;
    std::vector<float> hidden;  // [n_ctx_per_seq, n_embd] with params.embeddings
  };
  std::vector<Slot> slots;
  std::vector<float> logits;
  // Per pass: tokens, runs, output rows, hidden states; per sequence: the next position.
  std::vector<int32_t> pass_tokens, out_rows;
  std::vector<SeqRun> runs;
  std::vector<float> hidden;
  std::vector<int64_t> next;

  Impl(const Model& m, BatchContextParams p) : model(m), params(std::move(p)) {}
  void forward_pass(std::span<const BatchItem> items, float* logits_out);
};

BatchContext::BatchContext(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BatchContext::~BatchContext() = default;

Result<std::unique_ptr<BatchContext>> BatchContext::create(const Model& model, BatchContextParams params) {
  const ModelConfig& c = model.config();
  if (params.n_seq < 1) return invalid_argument_error("a batch context needs at least one slot, got {}", params.n_seq);
  if (params.n_ctx_per_seq <= 0) params.n_ctx_per_seq = default_n_ctx(c);
  if (params.n_batch <= 0) params.n_batch = 512;
  params.n_batch = std::min(params.n_batch, params.n_ctx_per_seq * params.n_seq);
  auto impl = std::make_unique<Impl>(model, params);
  ContextSetup setup = FRAGUA_TRY(setup_context(model, params.backend, params.n_threads));
  impl->be = std::move(setup.backend);
  impl->arch = setup.arch;
  FRAGUA_TRY(allocate_work_buffers(impl->b, c, params.n_batch, params.n_ctx_per_seq * params.n_seq, params.n_seq));
  const auto E = static_cast<size_t>(c.n_embd);
  try {
    impl->slots.resize(static_cast<size_t>(params.n_seq));
    impl->next.resize(static_cast<size_t>(params.n_seq));
    if (params.embeddings) {
      impl->hidden.resize(static_cast<size_t>(params.n_batch) * E);
      for (auto& s : impl->slots) s.hidden.resize(static_cast<size_t>(params.n_ctx_per_seq) * E);
    }
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("cannot allocate the hidden states of {} slots x {} positions", params.n_seq,
                                    params.n_ctx_per_seq);
  }
  return std::unique_ptr<BatchContext>(new BatchContext(std::move(impl)));
}

Result<std::span<const float>> BatchContext::decode(std::span<const BatchItem> items) {
  Impl& m = *impl_;
  const ModelConfig& c = m.model.config();
  if (items.empty()) return invalid_argument_error("decode: no items");
  // Everything is checked before the first pass, so that an error leaves every slot as it was.
  std::fill(m.next.begin(), m.next.end(), 0);
  size_t n_out = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const BatchItem& it = items[i];
    if (it.seq < 0 || it.seq >= m.params.n_seq)
      return invalid_argument_error("item {}: sequence {} is out of range (0..{})", i, it.seq, m.params.n_seq - 1);
    if (it.token < 0 || it.token >= c.n_vocab)
      return invalid_argument_error("item {}: token {} is outside the vocabulary (0..{})", i, it.token, c.n_vocab - 1);
    ++m.next[static_cast<size_t>(it.seq)];
    n_out += it.logits ? 1 : 0;
  }
  for (int32_t s = 0; s < m.params.n_seq; ++s) {
    const int64_t held = n_past(s), added = m.next[static_cast<size_t>(s)];
    if (held + added > m.params.n_ctx_per_seq)
      return resource_exhausted_error("slot {} is full: {} cached + {} new tokens exceed its capacity of {}", s, held,
                                      added, m.params.n_ctx_per_seq);
  }
  const auto V = static_cast<size_t>(c.n_vocab);
  m.logits.resize(n_out * V);
  for (int32_t s = 0; s < m.params.n_seq; ++s) m.next[static_cast<size_t>(s)] = n_past(s);
  size_t out = 0;
  for (size_t start = 0; start < items.size(); start += static_cast<size_t>(m.params.n_batch)) {
    const auto part = items.subspan(start, std::min(items.size() - start, static_cast<size_t>(m.params.n_batch)));
    m.forward_pass(part, m.logits.data() + out * V);
    out += m.out_rows.size();
  }
  return std::span<const float>(m.logits);
}

void BatchContext::Impl::forward_pass(std::span<const BatchItem> items, float* logits_out) {
  const ModelConfig& c = model.config();
  const int64_t T = static_cast<int64_t>(items.size()), E = c.n_embd;
  pass_tokens.resize(items.size());
  out_rows.clear();
  runs.clear();
  for (int64_t t = 0; t < T; ++t) {
    const BatchItem& it = items[static_cast<size_t>(t)];
    const auto s = static_cast<size_t>(it.seq);
    if (runs.empty() || items[static_cast<size_t>(t - 1)].seq != it.seq)
      runs.push_back(
          {.begin = t, .n = 0, .n_past = next[s], .cache_row = it.seq * params.n_ctx_per_seq, .slot = it.seq});
    ++runs.back().n;
    pass_tokens[static_cast<size_t>(t)] = it.token;
    b.pos[static_cast<size_t>(t)] = static_cast<int32_t>(next[s]++);
    if (it.logits) out_rows.push_back(static_cast<int32_t>(t));
  }
  ForwardPass pass{c,
                   model.weights(),
                   *be,
                   b,
                   params.eval_callback,
                   pass_tokens,
                   runs,
                   out_rows,
                   logits_out,
                   params.embeddings ? hidden.data() : nullptr};
  arch->forward(pass);
  for (int64_t t = 0; t < T; ++t) {
    const BatchItem& it = items[static_cast<size_t>(t)];
    Slot& slot = slots[static_cast<size_t>(it.seq)];
    if (params.embeddings)
      std::copy_n(hidden.data() + t * E, E, slot.hidden.data() + static_cast<int64_t>(slot.tokens.size()) * E);
    slot.tokens.push_back(it.token);
  }
}

int32_t BatchContext::n_seq() const { return impl_->params.n_seq; }
int64_t BatchContext::n_ctx_per_seq() const { return impl_->params.n_ctx_per_seq; }
int64_t BatchContext::n_batch() const { return impl_->params.n_batch; }

int64_t BatchContext::n_past(int32_t seq) const { return static_cast<int64_t>(tokens(seq).size()); }

std::span<const int32_t> BatchContext::tokens(int32_t seq) const {
  if (seq < 0 || seq >= impl_->params.n_seq) return {};
  return impl_->slots[static_cast<size_t>(seq)].tokens;
}

Status BatchContext::truncate(int32_t seq, int64_t n) {
  if (seq < 0 || seq >= impl_->params.n_seq)
    return invalid_argument_error("truncate: sequence {} is out of range (0..{})", seq, impl_->params.n_seq - 1);
  auto& tokens = impl_->slots[static_cast<size_t>(seq)].tokens;
  tokens.resize(static_cast<size_t>(kept_prefix(impl_->model.config(), n, static_cast<int64_t>(tokens.size()))));
  return {};
}

Result<int64_t> BatchContext::reuse_prefix(int32_t seq, std::span<const int32_t> prompt) {
  if (seq < 0 || seq >= impl_->params.n_seq)
    return invalid_argument_error("reuse_prefix: sequence {} is out of range (0..{})", seq, impl_->params.n_seq - 1);
  auto& tokens = impl_->slots[static_cast<size_t>(seq)].tokens;
  const auto n = static_cast<size_t>(std::mismatch(tokens.begin(), tokens.end(), prompt.begin(), prompt.end()).first -
                                     tokens.begin());
  tokens.resize(static_cast<size_t>(
      kept_prefix(impl_->model.config(), static_cast<int64_t>(n), static_cast<int64_t>(tokens.size()))));
  return static_cast<int64_t>(tokens.size());
}

Result<std::vector<float>> BatchContext::embedding(int32_t seq) const {
  const Impl& m = *impl_;
  if (!m.params.embeddings)
    return invalid_argument_error("embedding: the batch context was created without embeddings");
  if (seq < 0 || seq >= m.params.n_seq)
    return invalid_argument_error("embedding: sequence {} is out of range (0..{})", seq, m.params.n_seq - 1);
  const Impl::Slot& slot = m.slots[static_cast<size_t>(seq)];
  if (slot.tokens.empty()) return invalid_argument_error("embedding: sequence {} holds no tokens", seq);
  const auto E = static_cast<size_t>(m.model.config().n_embd);
  std::vector<double> sum(E, 0.0);
  for (size_t p = 0; p < slot.tokens.size(); ++p)
    for (size_t i = 0; i < E; ++i) sum[i] += slot.hidden[p * E + i];
  double norm = 0.0;
  for (double& v : sum) {
    v /= static_cast<double>(slot.tokens.size());
    norm += v * v;
  }
  // The mean's direction: a zero vector (all-zero output norm weights) stays zero.
  norm = norm > 0.0 ? 1.0 / std::sqrt(norm) : 0.0;
  std::vector<float> out(E);
  for (size_t i = 0; i < E; ++i) out[i] = static_cast<float>(sum[i] * norm);
  return out;
}

const Model& BatchContext::model() const { return impl_->model; }
backend::Backend& BatchContext::backend() { return *impl_->be; }

}  // namespace fragua::model
