// The shared pre-norm transformer block (block.h).
#include "train/block.h"

namespace fragua::train {

namespace k = kernels;

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
