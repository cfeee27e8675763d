// SPDX-License-Identifier: Apache-2.0
// Forward and backward of the element transformer (element_transformer.h), composed from the
// training engine's paired kernels in train/kernels/, as train/model.cpp composes the Llama
// stack. The differences from that stack: inputs are element tokens plus a projected feature
// vector, attention is bidirectional over padded sets (no RoPE, no causal mask), and the head
// pools tokens by atomic fraction into one small MLP per composition.
#include "fragua/materials/element_transformer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "fragua/base/json.h"
#include "fragua/train/block.h"
#include "fragua/train/kernels.h"

namespace fragua::materials {

namespace k = train::kernels;
using train::ParamInfo;

Status ElementTransformerConfig::finalize() {
  if (n_ff == 0) n_ff = ((8 * d_model / 3) + 31) / 32 * 32;
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  if (!in(n_elements, 1, 1024))
    return invalid_argument_error("element transformer: n_elements {} not in [1, 1024]", n_elements);
  if (!in(n_input, 0, 4096)) return invalid_argument_error("element transformer: n_input {} not in [0, 4096]", n_input);
  if (!in(d_model, 1, 4096)) return invalid_argument_error("element transformer: d_model {} not in [1, 4096]", d_model);
  if (!in(n_layer, 0, 64)) return invalid_argument_error("element transformer: n_layer {} not in [0, 64]", n_layer);
  if (!in(n_head, 1, 64) || d_model % n_head != 0)
    return invalid_argument_error("element transformer: n_head {} must divide d_model {}", n_head, d_model);
  if (!in(n_ff, 1, 16384)) return invalid_argument_error("element transformer: n_ff {} not in [1, 16384]", n_ff);
  if (!in(head_hidden, 1, 4096))
    return invalid_argument_error("element transformer: head_hidden {} not in [1, 4096]", head_hidden);
  if (!in(n_out, 1, 16)) return invalid_argument_error("element transformer: n_out {} not in [1, 16]", n_out);
  if (!(norm_eps > 0 && norm_eps < 1))
    return invalid_argument_error("element transformer: norm_eps {} not in (0, 1)", norm_eps);
  return ok_status();
}

int64_t ElementTransformerConfig::n_params() const {
  const int64_t C = d_model, F = n_ff, H = head_hidden;
  return C * n_elements + C * std::max(n_input, 1) + n_layer * (2 * C + 4 * C * C + 3 * C * F) + C + H * C + H +
         n_out * H + n_out;
}

nlohmann::json ElementTransformerConfig::to_json() const {
  return {{"n_elements", n_elements},   {"n_input", n_input}, {"d_model", d_model},
          {"n_layer", n_layer},         {"n_head", n_head},   {"n_ff", n_ff},
          {"head_hidden", head_hidden}, {"n_out", n_out},     {"norm_eps", norm_eps}};
}

Result<ElementTransformerConfig> ElementTransformerConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return corruption_error("element transformer config is not a JSON object");
  ElementTransformerConfig c;
  auto get_int = [&](const char* key, int& dst) -> Status {
    if (!j.contains(key)) return corruption_error("element transformer config lacks '{}'", key);
    dst = static_cast<int>(FRAGUA_TRY(json_integer(j.at(key), key, 0, 1 << 20)));
    return ok_status();
  };
  FRAGUA_TRY(get_int("n_elements", c.n_elements));
  FRAGUA_TRY(get_int("n_input", c.n_input));
  FRAGUA_TRY(get_int("d_model", c.d_model));
  FRAGUA_TRY(get_int("n_layer", c.n_layer));
  FRAGUA_TRY(get_int("n_head", c.n_head));
  FRAGUA_TRY(get_int("n_ff", c.n_ff));
  FRAGUA_TRY(get_int("head_hidden", c.head_hidden));
  FRAGUA_TRY(get_int("n_out", c.n_out));
  if (!j.contains("norm_eps")) return corruption_error("element transformer config lacks 'norm_eps'");
  c.norm_eps = static_cast<float>(FRAGUA_TRY(json_float(j.at("norm_eps"), "norm_eps")));
  if (c.n_ff == 0) return corruption_error("element transformer config: n_ff is 0");
  FRAGUA_TRY(c.finalize());
  return c;
}

namespace {

constexpr int kPerLayer = 9;

using LayerParams = train::BlockWeights;
using LayerActs = train::BlockActs;

float silu(float x) { return x / (1.0f + std::exp(-x)); }

}  // namespace

struct ElementTransformer::Impl {
  ElementTransformerConfig cfg;
  train::ParamStore store;
  int B = 0, T = 0;
  std::vector<float> acts, dbuf;
  std::vector<LayerActs> layer_acts;
  float *res_final = nullptr, *lnf = nullptr, *rstdf = nullptr, *tmp = nullptr, *pooled = nullptr, *h_pre = nullptr,
        *h = nullptr, *out = nullptr;
  float *dres = nullptr, *dres_mid = nullptr, *dln = nullptr, *dq = nullptr, *dk = nullptr, *dv = nullptr,
        *datty = nullptr, *dgate = nullptr, *dup = nullptr, *dhb = nullptr, *du = nullptr, *dpooled = nullptr,
        *dh = nullptr;
  std::vector<int32_t> id, len;
  std::vector<float> u, frac;

  float* at(std::span<float> buf, size_t i) { return buf.data() + store.infos()[i].offset; }
  LayerParams layer(std::span<float> buf, int l) {
    return train::block_weights(buf.data(), store.infos(), 2 + static_cast<size_t>(l) * kPerLayer);
  }
  size_t tail(int j) const { return 2 + static_cast<size_t>(cfg.n_layer) * kPerLayer + j; }
  float* out_norm(std::span<float> buf) { return at(buf, tail(0)); }
  float* w1(std::span<float> buf) { return at(buf, tail(1)); }
  float* b1(std::span<float> buf) { return at(buf, tail(2)); }
  float* w2(std::span<float> buf) { return at(buf, tail(3)); }
  float* b2(std::span<float> buf) { return at(buf, tail(4)); }

  void ensure_acts(int b, int t);
  train::BlockDims dims() const;
  void layer_forward(int l, const train::KernelOptions& opts);
  void layer_backward(int l, const train::KernelOptions& opts);
};

ElementTransformer::ElementTransformer() : impl_(std::make_unique<Impl>()) {}
ElementTransformer::ElementTransformer(ElementTransformer&&) noexcept = default;
ElementTransformer& ElementTransformer::operator=(ElementTransformer&&) noexcept = default;
ElementTransformer::~ElementTransformer() = default;

Result<ElementTransformer> ElementTransformer::create(const ElementTransformerConfig& config) {
  ElementTransformerConfig cfg = config;
  FRAGUA_TRY(cfg.finalize());
  ElementTransformer m;
  auto& I = *m.impl_;
  I.cfg = cfg;
  int64_t C = cfg.d_model, H = cfg.head_hidden;
  I.store.add("element_embd.weight", {C, cfg.n_elements}, true);
  I.store.add("input_proj.weight", {std::max(cfg.n_input, 1), C}, true);
  for (int l = 0; l < cfg.n_layer; ++l) train::append_block_params(I.store, l, I.dims());
  I.store.add("output_norm.weight", {C}, false);
  I.store.add("head_1.weight", {C, H}, true);
  I.store.add("head_1.bias", {H}, false);
  I.store.add("head_2.weight", {H, cfg.n_out}, true);
  I.store.add("head_2.bias", {cfg.n_out}, false);
  I.store.allocate();
  return m;
}

const ElementTransformerConfig& ElementTransformer::config() const { return impl_->cfg; }
const std::vector<ParamInfo>& ElementTransformer::param_infos() const { return impl_->store.infos(); }
std::span<float> ElementTransformer::params() { return impl_->store.params(); }
std::span<const float> ElementTransformer::params() const { return impl_->store.params(); }
std::span<float> ElementTransformer::grads() { return impl_->store.grads(); }
train::ParamStore& ElementTransformer::param_store() { return impl_->store; }
const train::ParamStore& ElementTransformer::param_store() const { return impl_->store; }
void ElementTransformer::zero_grad() { impl_->store.zero_grad(); }

void ElementTransformer::init_random(uint64_t seed) {
  auto& I = *impl_;
  const float resid_std = 0.02f / std::sqrt(2.0f * std::max(I.cfg.n_layer, 1));
  I.store.init_random(seed, [&](const ParamInfo& p) {
    if (p.name.starts_with("head_")) return 1.0f / std::sqrt(static_cast<float>(p.ne[0]));
    if (p.name.ends_with("attn_output.weight") || p.name.ends_with("ffn_down.weight")) return resid_std;
    return 0.02f;
  });
}

void ElementTransformer::Impl::ensure_acts(int b, int t) {
  if (b == B && t == T) return;
  B = b;
  T = t;
  const size_t N = static_cast<size_t>(B) * T, C = cfg.d_model, F = cfg.n_ff, H = cfg.head_hidden;
  const size_t NB = B, NI = std::max(cfg.n_input, 1), NH = cfg.n_head;
  const size_t att_floats = NB * NH * T * T;
  size_t n_acts =
      cfg.n_layer * train::block_act_floats(dims(), att_floats) + N * C * 3 + N + NB * (C + 2 * H + cfg.n_out);
  if (acts.size() < n_acts) acts.assign(n_acts, 0.0f);
  float* p = acts.data();
  auto take = [&](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  layer_acts.resize(cfg.n_layer + 1);  // layer_acts[n_layer].res_in aliases res_final
  for (int l = 0; l < cfg.n_layer; ++l) layer_acts[l] = train::carve_block_acts(p, dims(), att_floats);
  res_final = take(N * C);
  layer_acts[cfg.n_layer].res_in = res_final;
  lnf = take(N * C);
  tmp = take(N * C);
  rstdf = take(N);
  pooled = take(NB * C);
  h_pre = take(NB * H);
  h = take(NB * H);
  out = take(NB * cfg.n_out);
  size_t n_dbuf = N * C * 7 + N * F * 3 + N * NI + NB * (C + H);
  if (dbuf.size() < n_dbuf) dbuf.assign(n_dbuf, 0.0f);
  p = dbuf.data();
  dres = take(N * C);
  dres_mid = take(N * C);
  dln = take(N * C);
  dq = take(N * C);
  dk = take(N * C);
  dv = take(N * C);
  datty = take(N * C);
  dgate = take(N * F);
  dup = take(N * F);
  dhb = take(N * F);
  du = take(N * NI);
  dpooled = take(NB * C);
  dh = take(NB * H);
}

train::BlockDims ElementTransformer::Impl::dims() const {
  return {B * T, cfg.d_model, cfg.n_ff, cfg.d_model, cfg.d_model, cfg.norm_eps};
}

void ElementTransformer::Impl::layer_forward(int l, const train::KernelOptions& opts) {
  const int HS = cfg.d_model / cfg.n_head;
  auto attend = [&](train::BlockActs& a) {
    k::set_attention_forward(a.atty, a.att, a.q, a.k, a.v, len.data(), B, T, cfg.n_head, HS, opts);
  };
  train::block_forward(dims(), layer(store.params(), l), layer_acts[l], layer_acts[l + 1].res_in, tmp, attend, opts);
}

Result<std::span<const float>> ElementTransformer::forward(const ElementBatch& batch,
                                                           const train::KernelOptions& opts) {
  auto& I = *impl_;
  const int B = batch.B, T = batch.T, C = I.cfg.d_model, H = I.cfg.head_hidden, O = I.cfg.n_out;
  const int NI = I.cfg.n_input;
  if (B < 1 || T < 1) return invalid_argument_error("element batch: empty ({} x {})", B, T);
  const size_t N = static_cast<size_t>(B) * T;
  if (batch.id.size() != N || batch.frac.size() != N || batch.len.size() != static_cast<size_t>(B) ||
      batch.u.size() != N * NI)
    return invalid_argument_error("element batch: sizes do not match {} x {} tokens with {} inputs", B, T, NI);
  for (size_t n = 0; n < N; ++n)
    if (batch.id[n] < 0 || batch.id[n] >= I.cfg.n_elements)
      return invalid_argument_error("element batch: token id {} outside [0, {})", batch.id[n], I.cfg.n_elements);
  for (int b = 0; b < B; ++b)
    if (batch.len[b] < 1 || batch.len[b] > T)
      return invalid_argument_error("element batch: row {} has length {} outside [1, {}]", b, batch.len[b], T);
  I.ensure_acts(B, T);
  I.id = batch.id;
  I.len = batch.len;
  I.u = batch.u;
  I.frac = batch.frac;
  float* x0 = I.layer_acts[0].res_in;
  const int n = static_cast<int>(N);
  k::embedding_forward(x0, I.id.data(), I.at(I.store.params(), 0), n, C, opts);
  if (NI > 0) {
    k::matmul_forward(I.tmp, I.u.data(), I.at(I.store.params(), 1), n, NI, C, opts);
    k::residual_forward(x0, x0, I.tmp, N * C, opts);
  }
  for (int l = 0; l < I.cfg.n_layer; ++l) I.layer_forward(l, opts);
  k::rmsnorm_forward(I.lnf, I.rstdf, I.res_final, I.out_norm(I.store.params()), n, C, I.cfg.norm_eps, opts);
  // pooled[b] = sum_t frac[b, t] lnf[b, t]  (padding has frac 0)
  std::fill(I.pooled, I.pooled + static_cast<size_t>(B) * C, 0.0f);
  for (size_t r = 0; r < N; ++r) {
    const float f = I.frac[r];
    if (f == 0.0f) continue;
    float* pb = I.pooled + (r / T) * C;
    const float* x = I.lnf + r * C;
    for (int c = 0; c < C; ++c) pb[c] += f * x[c];
  }
  k::matmul_forward(I.h_pre, I.pooled, I.w1(I.store.params()), B, C, H, opts);
  const float* b1 = I.b1(I.store.params());
  for (int b = 0; b < B; ++b)
    for (int j = 0; j < H; ++j) {
      float& v = I.h_pre[static_cast<size_t>(b) * H + j];
      v += b1[j];
      I.h[static_cast<size_t>(b) * H + j] = silu(v);
    }
  k::matmul_forward(I.out, I.h, I.w2(I.store.params()), B, H, O, opts);
  const float* b2 = I.b2(I.store.params());
  for (int b = 0; b < B; ++b)
    for (int o = 0; o < O; ++o) I.out[static_cast<size_t>(b) * O + o] += b2[o];
  return std::span<const float>(I.out, static_cast<size_t>(B) * O);
}

void ElementTransformer::Impl::layer_backward(int l, const train::KernelOptions& opts) {
  const int HS = cfg.d_model / cfg.n_head;
  auto attend_back = [&](const train::BlockActs& a, const train::BlockGrads& g) -> train::QKGrads {
    k::set_attention_backward(g.dq, g.dk, g.dv, g.datty, a.att, a.q, a.k, a.v, len.data(), B, T, cfg.n_head, HS, opts);
    return {g.dq, g.dk};
  };
  train::BlockGrads g{dres_mid, dln, dq, dk, dv, datty, dgate, dup, dhb};
  train::block_backward(dims(), layer(store.params(), l), layer(store.grads(), l), layer_acts[l], g, dres, attend_back,
                        opts);
}

void ElementTransformer::backward(std::span<const float> dout, const train::KernelOptions& opts) {
  auto& I = *impl_;
  const int B = I.B, T = I.T, C = I.cfg.d_model, H = I.cfg.head_hidden, O = I.cfg.n_out, NI = I.cfg.n_input;
  const size_t N = static_cast<size_t>(B) * T;
  // out = h W2^T + b2
  float* gb2 = I.b2(I.store.grads());
  for (int b = 0; b < B; ++b)
    for (int o = 0; o < O; ++o) gb2[o] += dout[static_cast<size_t>(b) * O + o];
  std::fill(I.dh, I.dh + static_cast<size_t>(B) * H, 0.0f);
  k::matmul_backward(I.dh, I.w2(I.store.grads()), dout.data(), I.h, I.w2(I.store.params()), B, H, O, opts);
  // h = silu(h_pre): silu'(x) = s (1 + x (1 - s)), s = sigmoid(x)
  float* gb1 = I.b1(I.store.grads());
  for (size_t i = 0; i < static_cast<size_t>(B) * H; ++i) {
    const float x = I.h_pre[i], s = 1.0f / (1.0f + std::exp(-x));
    I.dh[i] *= s * (1.0f + x * (1.0f - s));
    gb1[i % H] += I.dh[i];
  }
  std::fill(I.dpooled, I.dpooled + static_cast<size_t>(B) * C, 0.0f);
  k::matmul_backward(I.dpooled, I.w1(I.store.grads()), I.dh, I.pooled, I.w1(I.store.params()), B, C, H, opts);
  // pooled = sum_t frac lnf  ->  dlnf[b, t] = frac[b, t] dpooled[b]
  std::fill(I.dln, I.dln + N * C, 0.0f);
  std::fill(I.dres, I.dres + N * C, 0.0f);
  for (size_t r = 0; r < N; ++r) {
    const float f = I.frac[r];
    if (f == 0.0f) continue;
    const float* dp = I.dpooled + (r / T) * C;
    float* d = I.dln + r * C;
    for (int c = 0; c < C; ++c) d[c] = f * dp[c];
  }
  const int n = static_cast<int>(N);
  k::rmsnorm_backward(I.dres, I.out_norm(I.store.grads()), I.dln, I.res_final, I.out_norm(I.store.params()), I.rstdf, n,
                      C, opts);
  for (int l = I.cfg.n_layer - 1; l >= 0; --l) I.layer_backward(l, opts);
  k::embedding_backward(I.at(I.store.grads(), 0), I.dres, I.id.data(), n, C, I.cfg.n_elements, opts);
  if (NI > 0) {
    std::fill(I.du, I.du + N * NI, 0.0f);
    k::matmul_backward(I.du, I.at(I.store.grads(), 1), I.dres, I.u.data(), I.at(I.store.params(), 1), n, NI, C, opts);
  }
}

}  // namespace fragua::materials
