// SPDX-License-Identifier: Apache-2.0
// The shared pre-norm transformer block (block.h).
#include "fragua/train/block.h"

namespace fragua::train {

namespace k = kernels;

size_t append_block_params(ParamStore& store, int l, const BlockDims& d) {
  const int64_t C = d.C, F = d.F, QD = d.QD, KVD = d.KVD;
  std::string p = "blk." + std::to_string(l) + ".";
  const size_t first = store.add(p + "attn_norm.weight", {C}, false);
  store.add(p + "attn_q.weight", {C, QD}, true);
  store.add(p + "attn_k.weight", {C, KVD}, true);
  store.add(p + "attn_v.weight", {C, KVD}, true);
  store.add(p + "attn_output.weight", {QD, C}, true);
  store.add(p + "ffn_norm.weight", {C}, false);
  store.add(p + "ffn_gate.weight", {C, F}, true);
  store.add(p + "ffn_up.weight", {C, F}, true);
  store.add(p + "ffn_down.weight", {F, C}, true);
  return first;
}

BlockWeights block_weights(float* buf, const std::vector<ParamInfo>& infos, size_t i) {
  auto at = [&](size_t j) { return buf + infos[i + j].offset; };
  return {at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7), at(8)};
}

size_t block_act_floats(const BlockDims& d, size_t att_floats) {
  const size_t N = d.N, C = d.C, F = d.F, QD = d.QD, KVD = d.KVD;
  return N * C * 4 + 2 * N + N * QD * 2 + N * KVD * 2 + att_floats + N * F * 3;
}

BlockActs carve_block_acts(float*& p, const BlockDims& d, size_t att_floats) {
  const size_t N = d.N, C = d.C, F = d.F, QD = d.QD, KVD = d.KVD;
  auto take = [&](size_t n) {
    float* r = p;
    p += n;
    return r;
  };
  BlockActs a;
  a.res_in = take(N * C);
  a.ln1 = take(N * C);
  a.rstd1 = take(N);
  a.q = take(N * QD);
  a.k = take(N * KVD);
  a.v = take(N * KVD);
  a.att = take(att_floats);
  a.atty = take(N * QD);
  a.res_mid = take(N * C);
  a.ln2 = take(N * C);
  a.rstd2 = take(N);
  a.gate = take(N * F);
  a.up = take(N * F);
  a.hb = take(N * F);
  return a;
}

void block_forward(const BlockDims& d, const BlockWeights& w, BlockActs& a, float* res_out, float* tmp,
                   const AttentionForward& attend, const KernelOptions& opts, BlockLinearHook* hook, int layer) {
  const int N = d.N, C = d.C, F = d.F;
  auto branch = [&](BlockLinear which, const float* x, float* y) {
    if (hook) hook->forward(layer, which, x, y, N, opts);
  };
  const size_t NC = static_cast<size_t>(N) * C;
  k::rmsnorm_forward(a.ln1, a.rstd1, a.res_in, w.attn_norm, N, C, d.eps, opts);
  k::matmul_forward(a.q, a.ln1, w.wq, N, C, d.QD, opts);
  branch(BlockLinear::q, a.ln1, a.q);
  k::matmul_forward(a.k, a.ln1, w.wk, N, C, d.KVD, opts);
  branch(BlockLinear::k, a.ln1, a.k);
  k::matmul_forward(a.v, a.ln1, w.wv, N, C, d.KVD, opts);
  branch(BlockLinear::v, a.ln1, a.v);
  attend(a);
  k::matmul_forward(tmp, a.atty, w.wo, N, d.QD, C, opts);
  branch(BlockLinear::o, a.atty, tmp);
  k::residual_forward(a.res_mid, a.res_in, tmp, NC, opts);
  k::rmsnorm_forward(a.ln2, a.rstd2, a.res_mid, w.ffn_norm, N, C, d.eps, opts);
  k::matmul_forward(a.gate, a.ln2, w.wgate, N, C, F, opts);
  branch(BlockLinear::gate, a.ln2, a.gate);
  k::matmul_forward(a.up, a.ln2, w.wup, N, C, F, opts);
  branch(BlockLinear::up, a.ln2, a.up);
  k::swiglu_forward(a.hb, a.gate, a.up, N, F, opts);
  k::matmul_forward(tmp, a.hb, w.wdown, N, F, C, opts);
  branch(BlockLinear::down, a.hb, tmp);
  k::residual_forward(res_out, a.res_mid, tmp, NC, opts);
}

void block_backward(const BlockDims& d, const BlockWeights& w, const BlockWeights& gw, const BlockActs& a,
                    const BlockGrads& g, float* dres, const AttentionBackward& attend_back, const KernelOptions& opts,
                    BlockLinearHook* hook, int layer) {
  const int N = d.N, C = d.C, F = d.F;
  auto branch_back = [&](BlockLinear which, const float* x, const float* dy, float* dx) {
    if (hook) hook->backward(layer, which, x, dy, dx, N, opts);
  };
  const size_t NC = static_cast<size_t>(N) * C, NF = static_cast<size_t>(N) * F;
  auto zero = [](float* p, size_t n) { std::memset(p, 0, n * sizeof(float)); };
  zero(g.dhb, NF);
  zero(g.dgate, NF);
  zero(g.dup, NF);
  zero(g.dln, NC);
  // res_out = res_mid + ffn(ln2(res_mid)): the identity path passes dres straight through.
  std::memcpy(g.dres_mid, dres, sizeof(float) * NC);
  k::matmul_backward(g.dhb, gw.wdown, dres, a.hb, w.wdown, N, F, C, opts);
  branch_back(BlockLinear::down, a.hb, dres, g.dhb);
  k::swiglu_backward(g.dgate, g.dup, g.dhb, a.gate, a.up, N, F, opts);
  k::matmul_backward(g.dln, gw.wgate, g.dgate, a.ln2, w.wgate, N, C, F, opts);
  branch_back(BlockLinear::gate, a.ln2, g.dgate, g.dln);
  k::matmul_backward(g.dln, gw.wup, g.dup, a.ln2, w.wup, N, C, F, opts);
  branch_back(BlockLinear::up, a.ln2, g.dup, g.dln);
  k::rmsnorm_backward(g.dres_mid, gw.ffn_norm, g.dln, a.res_mid, w.ffn_norm, a.rstd2, N, C, opts);
  // res_mid = res_in + wo(attention(...)).
  std::memcpy(dres, g.dres_mid, sizeof(float) * NC);
  zero(g.datty, static_cast<size_t>(N) * d.QD);
  zero(g.dq, static_cast<size_t>(N) * d.QD);
  zero(g.dk, static_cast<size_t>(N) * d.KVD);
  zero(g.dv, static_cast<size_t>(N) * d.KVD);
  zero(g.dln, NC);
  k::matmul_backward(g.datty, gw.wo, g.dres_mid, a.atty, w.wo, N, d.QD, C, opts);
  branch_back(BlockLinear::o, a.atty, g.dres_mid, g.datty);
  QKGrads qk = attend_back(a, g);
  k::matmul_backward(g.dln, gw.wq, qk.dq, a.ln1, w.wq, N, C, d.QD, opts);
  branch_back(BlockLinear::q, a.ln1, qk.dq, g.dln);
  k::matmul_backward(g.dln, gw.wk, qk.dk, a.ln1, w.wk, N, C, d.KVD, opts);
  branch_back(BlockLinear::k, a.ln1, qk.dk, g.dln);
  k::matmul_backward(g.dln, gw.wv, g.dv, a.ln1, w.wv, N, C, d.KVD, opts);
  branch_back(BlockLinear::v, a.ln1, g.dv, g.dln);
  k::rmsnorm_backward(dres, gw.attn_norm, g.dln, a.res_in, w.attn_norm, a.rstd1, N, C, opts);
}

}  // namespace fragua::train
