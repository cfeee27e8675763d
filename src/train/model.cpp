// SPDX-License-Identifier: Apache-2.0
// Forward and backward of the Llama block stack, composed from the paired kernels in
// train/kernels/. Activations that backward needs are kept per layer; gradient scratch for
// activations is shared between layers (backward walks them one at a time).
#include "fragua/train/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fragua/format/llama_tensors.h"
#include "fragua/train/block.h"
#include "fragua/train/kernels.h"

namespace fragua::train {

namespace k = kernels;

namespace {

using LayerParams = BlockWeights;
using LayerActs = BlockActs;

BlockDims block_dims(const ModelConfig& c, size_t B, size_t T) {
  const int HS = static_cast<int>(c.head_dim);
  return {static_cast<int>(B * T), static_cast<int>(c.n_embd), static_cast<int>(c.n_ff), static_cast<int>(c.n_head) * HS,
          static_cast<int>(c.n_head_kv) * HS, c.rms_eps};
}

size_t layer_act_floats(const ModelConfig& c, size_t B, size_t T) {
  // Attention keeps one log-sum-exp per query row and head (kernels.h), not the probabilities.
  return block_act_floats(block_dims(c, B, T), B * c.n_head * T);
}

}  // namespace

struct Model::Impl {
  ModelConfig cfg;
  ParamStore store;
  // Activations for the current (B, T).
  int B = 0, T = 0;
  std::vector<float> acts;
  std::vector<LayerActs> layer_acts;
  float *res_final = nullptr, *lnf = nullptr, *rstdf = nullptr, *probs = nullptr, *losses = nullptr, *tmp = nullptr;
  std::vector<float> dbuf;
  float *dres = nullptr, *dres_mid = nullptr, *dln = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr,
        *datty = nullptr, *dgate = nullptr, *dup = nullptr, *dhb = nullptr, *dlogits = nullptr;
  std::vector<int32_t> tokens, targets;
  bool have_targets = false;
  BlockLinearHook* linear_hook = nullptr;  // set_linear_hook

  LayerParams layer(std::span<float> buf, int l) {
    // Layer l's tensors follow token_embd in the order append_block_params created them.
    return block_weights(buf.data(), store.infos(), 1 + static_cast<size_t>(l) * 9);
  }
  float* wte(std::span<float> buf) { return buf.data(); }
  float* out_norm(std::span<float> buf) { return buf.data() + store.infos()[1 + 9 * cfg.n_layer].offset; }
  float* wout(std::span<float> buf) {
    return cfg.tied_output ? buf.data() : buf.data() + store.infos()[2 + 9 * cfg.n_layer].offset;
  }
  void ensure_acts(int b, int t);
  BlockDims dims() const;
  void layer_forward(int l, const KernelOptions& opts);
  void layer_backward(int l, const KernelOptions& opts);
  void backward_from_dlogits(const KernelOptions& opts);  // dlogits filled: the rest of backward
};

Model::Model() : impl_(std::make_unique<Impl>()) {}
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;
Model::~Model() = default;

Result<Model> Model::create(const ModelConfig& config) {
  ModelConfig cfg = config;
  FRAGUA_TRY(cfg.finalize());
  Model m;
  auto& I = *m.impl_;
  I.cfg = cfg;
  // The parameters are the tensors of the Llama table that the inference engine binds and export
  // writes (format/llama_tensors.h), in its order; optional ones (rope_freqs) are not trained.
  // Norm gains (vectors) get no weight decay.
  for (const auto& slot : format::tensor_slots(format::llama_tensors(), cfg))
    if (slot.spec->presence != format::Presence::optional)
      I.store.add(slot.name, slot.ne, /*decay=*/!slot.spec->is_vector());
  // The forward and backward passes address tensors by position: token_embd, 9 per layer in
  // append_block_params's order (shared with the element transformer), output_norm, output.
  ParamStore expected;
  expected.add("token_embd.weight", {cfg.n_embd, cfg.n_vocab}, true);
  for (int l = 0; l < cfg.n_layer; ++l) append_block_params(expected, l, block_dims(cfg, 0, 0));
  expected.add("output_norm.weight", {cfg.n_embd}, false);
  if (!cfg.tied_output) expected.add("output.weight", {cfg.n_embd, cfg.n_vocab}, true);
  const auto& got = I.store.infos();
  const auto& want = expected.infos();
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i)
    if (i >= got.size() || i >= want.size() || got[i].name != want[i].name || got[i].ne != want[i].ne ||
        got[i].decay != want[i].decay)
      return unsupported_error("train: parameter {} of the Llama tensor table ({}) is not the block's {}", i,
                            i < got.size() ? got[i].name : "none", i < want.size() ? want[i].name : "none");
  I.store.allocate();
  return m;
}

const ModelConfig& Model::config() const { return impl_->cfg; }
const std::vector<ParamInfo>& Model::param_infos() const { return impl_->store.infos(); }
const ParamInfo* Model::find_param(std::string_view name) const { return impl_->store.find(name); }
std::span<float> Model::params() { return impl_->store.params(); }
std::span<const float> Model::params() const { return impl_->store.params(); }
std::span<float> Model::grads() { return impl_->store.grads(); }
ParamStore& Model::param_store() { return impl_->store; }
const ParamStore& Model::param_store() const { return impl_->store; }
std::span<const float> Model::losses() const { return {impl_->losses, static_cast<size_t>(impl_->B) * impl_->T}; }
std::span<const float> Model::probs() const {
  return {impl_->probs, static_cast<size_t>(impl_->B) * impl_->T * impl_->cfg.n_vocab};
}
void Model::set_linear_hook(BlockLinearHook* hook) { impl_->linear_hook = hook; }
void Model::zero_grad() { impl_->store.zero_grad(); }

void Model::init_random(uint64_t seed) {
  auto& I = *impl_;
  const float resid_std = 0.02f / std::sqrt(2.0f * I.cfg.n_layer);
  I.store.init_random(seed, [&](const ParamInfo& p) {
    bool resid = p.name.ends_with("attn_output.weight") || p.name.ends_with("ffn_down.weight");
    return resid ? resid_std : 0.02f;
  });
}

uint64_t Model::training_bytes(const ModelConfig& config, int B, int T) {
  ModelConfig c = config;
  if (c.n_ff == 0) c.n_ff = ((8 * c.n_embd / 3) + 31) / 32 * 32;
  if (c.head_dim == 0 && c.n_head > 0) c.head_dim = c.n_embd / c.n_head;
  uint64_t n_params = static_cast<uint64_t>(c.n_params());
  uint64_t N = static_cast<uint64_t>(B) * T, C = c.n_embd, V = c.n_vocab, F = c.n_ff;
  uint64_t acts = c.n_layer * layer_act_floats(c, B, T) + N * C * 3 + 2 * N + N * V;
  uint64_t dacts = N * C * 3 + N * c.n_head * c.head_dim * 2 + N * c.n_head_kv * c.head_dim * 2 + N * F * 3 + N * V;
  return 4 * (4 * n_params + acts + dacts);
}

void Model::Impl::ensure_acts(int b, int t) {
  if (b == B && t == T) return;
  B = b;
  T = t;
  size_t N = static_cast<size_t>(B) * T, C = cfg.n_embd, V = cfg.n_vocab, F = cfg.n_ff, HS = cfg.head_dim;
  size_t QD = cfg.n_head * HS, KVD = cfg.n_head_kv * HS;
  // Buffers only grow: evaluation with fewer rows reuses the training allocation.
  size_t n_acts = cfg.n_layer * layer_act_floats(cfg, B, T) + N * C * 3 + 2 * N + N * V;
  if (acts.size() < n_acts) acts.assign(n_acts, 0.0f);
  float* p = acts.data();
  auto take = [&](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  layer_acts.resize(cfg.n_layer);
  for (auto& a : layer_acts) a = carve_block_acts(p, dims(), static_cast<size_t>(B) * cfg.n_head * T);
  res_final = take(N * C);
  lnf = take(N * C);
  tmp = take(N * C);
  rstdf = take(N);
  losses = take(N);
  probs = take(N * V);
  size_t n_dbuf = N * C * 3 + N * QD * 2 + N * KVD * 2 + N * F * 3 + N * V;
  if (dbuf.size() < n_dbuf) dbuf.assign(n_dbuf, 0.0f);
  p = dbuf.data();
  dres = take(N * C);
  dres_mid = take(N * C);
  dln = take(N * C);
  dq = take(N * QD);
  datty = take(N * QD);
  dk = take(N * KVD);
  dv = take(N * KVD);
  dgate = take(N * F);
  dup = take(N * F);
  dhb = take(N * F);
  dlogits = take(N * V);
}

BlockDims Model::Impl::dims() const { return block_dims(cfg, B, T); }

void Model::Impl::layer_forward(int l, const KernelOptions& opts) {
  const int NH = cfg.n_head, NKV = cfg.n_head_kv, HS = cfg.head_dim;
  float* res_out = (l + 1 < cfg.n_layer) ? layer_acts[l + 1].res_in : res_final;
  // Llama's attention: RoPE on q and k, then causal grouped-query attention.
  auto attend = [&](BlockActs& a) {
    k::rope_forward(a.q, a.q, B, T, NH, HS, cfg.rope_theta, opts);
    k::rope_forward(a.k, a.k, B, T, NKV, HS, cfg.rope_theta, opts);
    k::attention_forward(a.atty, a.att, a.q, a.k, a.v, B, T, NH, NKV, HS, opts);
  };
  block_forward(dims(), layer(store.params(), l), layer_acts[l], res_out, tmp, attend, opts, linear_hook, l);
}

float Model::forward(const int32_t* tokens, const int32_t* targets, int B, int T, const KernelOptions& opts) {
  auto& I = *impl_;
  I.ensure_acts(B, T);
  const int N = B * T, C = I.cfg.n_embd, V = I.cfg.n_vocab;
  I.tokens.assign(tokens, tokens + N);
  I.have_targets = targets != nullptr;
  if (targets) I.targets.assign(targets, targets + N);
  k::embedding_forward(I.layer_acts[0].res_in, tokens, I.wte(I.store.params()), N, C, opts);
  for (int l = 0; l < I.cfg.n_layer; ++l) I.layer_forward(l, opts);
  k::rmsnorm_forward(I.lnf, I.rstdf, I.res_final, I.out_norm(I.store.params()), N, C, I.cfg.rms_eps, opts);
  k::matmul_forward(I.probs, I.lnf, I.wout(I.store.params()), N, C, V, opts);
  k::crossentropy_forward(targets ? I.losses : nullptr, I.probs, I.probs, targets, N, V, opts);
  if (!targets) return 0.0f;
  double sum = 0;
  for (int n = 0; n < N; ++n) sum += I.losses[n];
  return static_cast<float>(sum / N);
}

void Model::Impl::layer_backward(int l, const KernelOptions& opts) {
  const int N = B * T, NH = cfg.n_head, NKV = cfg.n_head_kv, HS = cfg.head_dim;
  auto attend_back = [&](const BlockActs& a, const BlockGrads& g) -> QKGrads {
    k::attention_backward(g.dq, g.dk, g.dv, g.datty, a.att, a.q, a.k, a.v, B, T, NH, NKV, HS, opts);
    // RoPE backward into the pre-rotation gradients (datty is free scratch now, and so is dq
    // once rotated back; dq is at least as large as dk).
    float* dq_pre = g.datty;
    std::memset(dq_pre, 0, sizeof(float) * N * NH * HS);
    k::rope_backward(dq_pre, g.dq, B, T, NH, HS, cfg.rope_theta, opts);
    float* dk_pre = g.dq;
    std::memset(dk_pre, 0, sizeof(float) * N * NKV * HS);
    k::rope_backward(dk_pre, g.dk, B, T, NKV, HS, cfg.rope_theta, opts);
    return {dq_pre, dk_pre};
  };
  BlockGrads g{dres_mid, dln, dq, dk, dv, datty, dgate, dup, dhb};
  block_backward(dims(), layer(store.params(), l), layer(store.grads(), l), layer_acts[l], g, dres, attend_back, opts,
                 linear_hook, l);
}

void Model::backward(float loss_scale, const KernelOptions& opts) {
  auto& I = *impl_;
  const int N = I.B * I.T, V = I.cfg.n_vocab;
  std::memset(I.dlogits, 0, sizeof(float) * N * V);
  k::crossentropy_backward(I.dlogits, I.probs, I.targets.data(), loss_scale / static_cast<float>(N), N, V, opts);
  I.backward_from_dlogits(opts);
}

void Model::backward_weighted(std::span<const float> weights, const KernelOptions& opts) {
  auto& I = *impl_;
  const int N = I.B * I.T, V = I.cfg.n_vocab;
  std::memset(I.dlogits, 0, sizeof(float) * N * V);
  // One row at a time: the fused kernel takes one scale for all rows.
  for (int n = 0; n < N && n < static_cast<int>(weights.size()); ++n)
    if (weights[n] != 0.0f)
      k::crossentropy_backward(I.dlogits + static_cast<size_t>(n) * V, I.probs + static_cast<size_t>(n) * V,
                               I.targets.data() + n, weights[n], 1, V, opts);
  I.backward_from_dlogits(opts);
}

void Model::Impl::backward_from_dlogits(const KernelOptions& opts) {
  Impl& I = *this;
  const int N = I.B * I.T, C = I.cfg.n_embd, V = I.cfg.n_vocab;
  std::memset(I.dln, 0, sizeof(float) * N * C);
  std::memset(I.dres, 0, sizeof(float) * N * C);
  k::matmul_backward(I.dln, I.wout(I.store.grads()), I.dlogits, I.lnf, I.wout(I.store.params()), N, C, V, opts);
  k::rmsnorm_backward(I.dres, I.out_norm(I.store.grads()), I.dln, I.res_final, I.out_norm(I.store.params()), I.rstdf, N, C, opts);
  for (int l = I.cfg.n_layer - 1; l >= 0; --l) I.layer_backward(l, opts);
  k::embedding_backward(I.wte(I.store.grads()), I.dres, I.tokens.data(), N, C, V, opts);
}

}  // namespace fragua::train
