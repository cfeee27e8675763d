// The shared pre-norm transformer block (block.h).
#include "fragua/train/block.h"

namespace fragua::train {

namespace k = kernels;

void append_param(std::vector<ParamInfo>& infos, std::string name, std::vector<int64_t> ne, bool decay) {
  size_t n = 1;
  for (int64_t d : ne) n *= static_cast<size_t>(d);
  size_t off = infos.empty() ? 0 : infos.back().offset + infos.back().size;
  infos.push_back({std::move(name), std::move(ne), off, n, decay});
}

void append_block_params(std::vector<ParamInfo>& infos, int l, const BlockDims& d) {
  const int64_t C = d.C, F = d.F, QD = d.QD, KVD = d.KVD;
  std::string p = "blk." + std::to_string(l) + ".";
  append_param(infos, p + "attn_norm.weight", {C}, false);
  append_param(infos, p + "attn_q.weight", {C, QD}, true);
  append_param(infos, p + "attn_k.weight", {C, KVD}, true);
  append_param(infos, p + "attn_v.weight", {C, KVD}, true);
  append_param(infos, p + "attn_output.weight", {QD, C}, true);
  append_param(infos, p + "ffn_norm.weight", {C}, false);
  append_param(infos, p + "ffn_gate.weight", {C, F}, true);
  append_param(infos, p + "ffn_up.weight", {C, F}, true);
  append_param(infos, p + "ffn_down.weight", {F, C}, true);
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
                   const AttentionForward& attend, const k::Ctx& ctx) {
  const int N = d.N, C = d.C, F = d.F;
  const size_t NC = static_cast<size_t>(N) * C;
  k::rmsnorm_forward(a.ln1, a.rstd1, a.res_in, w.attn_norm, N, C, d.eps, ctx);
  k::matmul_forward(a.q, a.ln1, w.wq, N, C, d.QD, ctx);
  k::matmul_forward(a.k, a.ln1, w.wk, N, C, d.KVD, ctx);
  k::matmul_forward(a.v, a.ln1, w.wv, N, C, d.KVD, ctx);
  attend(a);
  k::matmul_forward(tmp, a.atty, w.wo, N, d.QD, C, ctx);
  k::residual_forward(a.res_mid, a.res_in, tmp, NC, ctx);
  k::rmsnorm_forward(a.ln2, a.rstd2, a.res_mid, w.ffn_norm, N, C, d.eps, ctx);
  k::matmul_forward(a.gate, a.ln2, w.wgate, N, C, F, ctx);
  k::matmul_forward(a.up, a.ln2, w.wup, N, C, F, ctx);
  k::swiglu_forward(a.hb, a.gate, a.up, N, F, ctx);
  k::matmul_forward(tmp, a.hb, w.wdown, N, F, C, ctx);
  k::residual_forward(res_out, a.res_mid, tmp, NC, ctx);
}

void block_backward(const BlockDims& d, const BlockWeights& w, const BlockWeights& gw, const BlockActs& a,
                    const BlockGrads& g, float* dres, const AttentionBackward& attend_back, const k::Ctx& ctx) {
  const int N = d.N, C = d.C, F = d.F;
  const size_t NC = static_cast<size_t>(N) * C, NF = static_cast<size_t>(N) * F;
  auto zero = [](float* p, size_t n) { std::memset(p, 0, n * sizeof(float)); };
  zero(g.dhb, NF);
  zero(g.dgate, NF);
  zero(g.dup, NF);
  zero(g.dln, NC);
  // res_out = res_mid + ffn(ln2(res_mid)): the identity path passes dres straight through.
  std::memcpy(g.dres_mid, dres, sizeof(float) * NC);
  k::matmul_backward(g.dhb, gw.wdown, dres, a.hb, w.wdown, N, F, C, ctx);
  k::swiglu_backward(g.dgate, g.dup, g.dhb, a.gate, a.up, N, F, ctx);
  k::matmul_backward(g.dln, gw.wgate, g.dgate, a.ln2, w.wgate, N, C, F, ctx);
  k::matmul_backward(g.dln, gw.wup, g.dup, a.ln2, w.wup, N, C, F, ctx);
  k::rmsnorm_backward(g.dres_mid, gw.ffn_norm, g.dln, a.res_mid, w.ffn_norm, a.rstd2, N, C, ctx);
  // res_mid = res_in + wo(attention(...)).
  std::memcpy(dres, g.dres_mid, sizeof(float) * NC);
  zero(g.datty, static_cast<size_t>(N) * d.QD);
  zero(g.dq, static_cast<size_t>(N) * d.QD);
  zero(g.dk, static_cast<size_t>(N) * d.KVD);
  zero(g.dv, static_cast<size_t>(N) * d.KVD);
  zero(g.dln, NC);
  k::matmul_backward(g.datty, gw.wo, g.dres_mid, a.atty, w.wo, N, d.QD, C, ctx);
  QKGrads qk = attend_back(a, g);
  k::matmul_backward(g.dln, gw.wq, qk.dq, a.ln1, w.wq, N, C, d.QD, ctx);
  k::matmul_backward(g.dln, gw.wk, qk.dk, a.ln1, w.wk, N, C, d.KVD, ctx);
  k::matmul_backward(g.dln, gw.wv, g.dv, a.ln1, w.wv, N, C, d.KVD, ctx);
  k::rmsnorm_backward(dres, gw.attn_norm, g.dln, a.res_in, w.attn_norm, a.rstd1, N, C, ctx);
}

}  // namespace fragua::train
