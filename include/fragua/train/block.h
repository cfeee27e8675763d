// SPDX-License-Identifier: Apache-2.0
// One pre-norm transformer block, forward and backward, composed from the paired kernels:
//   res_mid = res_in + W_o Attention(RMSNorm(res_in))
//   res_out = res_mid + W_down SwiGLU(W_gate RMSNorm(res_mid), W_up RMSNorm(res_mid))
// The attention in the middle belongs to the caller (the Llama trainer: RoPE then causal
// grouped-query attention; the element transformer: bidirectional attention over padded sets),
// passed as a pair of callbacks. Everything else is shared.
#pragma once

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "fragua/train/kernels.h"
#include "fragua/train/param_store.h"

namespace fragua::train {

struct BlockWeights {
  float *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *wgate, *wup, *wdown;
};

// Activations kept for backward.
struct BlockActs {
  float *res_in, *ln1, *rstd1, *q, *k, *v, *att, *atty, *res_mid, *ln2, *rstd2, *gate, *up, *hb;
};

// Gradient scratch shared by all blocks (backward visits them one at a time). dq is as large as
// dk (QD >= KVD).
struct BlockGrads {
  float *dres_mid, *dln, *dq, *dk, *dv, *datty, *dgate, *dup, *dhb;
};

struct BlockDims {
  int N = 0, C = 0, F = 0, QD = 0, KVD = 0;  // rows, width, MLP width, query and key/value widths
  float eps = 1e-5f;
};

// forward: reads a.q, a.k, a.v (after the projections; it may change q and k in place, as RoPE
// does), writes a.atty and a.att.
using AttentionForward = std::function<void(BlockActs& a)>;
// backward: from g.datty, accumulates into zeroed g.dq, g.dk, g.dv; returns where the gradients
// of the projected q and k ended up (they differ from g.dq / g.dk when it undid a rotation into
// other scratch: g.datty, g.dhb and the consumed g.dq are free to use).
struct QKGrads {
  float *dq, *dk;
};
using AttentionBackward = std::function<QKGrads(const BlockActs& a, const BlockGrads& g)>;

// A side branch on the block's seven projections (LoRA with dropout, lora.h: the adapter beside
// the frozen weight, as PEFT computes it). forward adds to y (N x out) a function of the
// projection's input x (N x in), right after y = x W^T and before anything changes y (RoPE);
// backward, given dy, adds to dx and accumulates the branch's own parameter gradients.
enum class BlockLinear { q, k, v, o, gate, up, down };
class BlockLinearHook {
 public:
  virtual ~BlockLinearHook() = default;
  virtual void forward(int layer, BlockLinear which, const float* x, float* y, int N, const KernelOptions& opts) = 0;
  virtual void backward(int layer, BlockLinear which, const float* x, const float* dy, float* dx, int N,
                        const KernelOptions& opts) = 0;

 protected:
  BlockLinearHook() = default;
  BlockLinearHook(const BlockLinearHook&) = default;
  BlockLinearHook& operator=(const BlockLinearHook&) = default;
};

// Appends block l's nine tensors, GGUF-named ("blk.<l>.attn_norm.weight", "blk.<l>.attn_q.weight",
// ..., "blk.<l>.ffn_down.weight"), in the order of BlockWeights; returns the index of the first.
size_t append_block_params(ParamStore& store, int l, const BlockDims& d);
// The BlockWeights of the nine tensors that start at infos[first] inside buf.
BlockWeights block_weights(float* buf, const std::vector<ParamInfo>& infos, size_t first);

// Floats one block keeps for backward (att_floats: its attention probabilities), and the same
// carved out of p, which advances.
size_t block_act_floats(const BlockDims& d, size_t att_floats);
BlockActs carve_block_acts(float*& p, const BlockDims& d, size_t att_floats);

// hook (may be null): the branch of layer `layer`'s projections.
void block_forward(const BlockDims& d, const BlockWeights& w, BlockActs& a, float* res_out, float* tmp,
                   const AttentionForward& attend, const KernelOptions& opts, BlockLinearHook* hook = nullptr,
                   int layer = 0);
// dres holds d(loss)/d(res_out) on entry and d(loss)/d(res_in) on exit.
void block_backward(const BlockDims& d, const BlockWeights& w, const BlockWeights& gw, const BlockActs& a,
                    const BlockGrads& g, float* dres, const AttentionBackward& attend_back, const KernelOptions& opts,
                    BlockLinearHook* hook = nullptr, int layer = 0);

}  // namespace fragua::train
