// SPDX-License-Identifier: Apache-2.0
// The mixture-of-experts feed-forward block (Shazeer et al. 2017, "Outrageously large neural
// networks"), as Granite 3.x MoE and Granite 4.0 use it: llama.cpp's build_moe_ffn with softmax
// gating and norm_w (src/llama-graph.cpp), transformers' GraniteMoeTopKGating + GraniteMoeMoE.
// Per token: p = softmax over every expert of router(h); the n_expert_used largest (ties to the
// lower index) renormalised to sum 1 -- the same weights as a softmax over the chosen logits,
// which is how transformers computes them; out = sum_k p_k * down_k(silu(gate_k h) * up_k h),
// plus the shared expert's SwiGLU when the file has one.
#include <algorithm>
#include <cmath>

#include "model/graph.h"

namespace fragua::model {

namespace {

// The chosen experts of one token and their weights, from its router probabilities (already
// softmaxed by Backend::router_softmax). As llama.cpp's build_moe_ffn: the k most probable in
// descending order (ggml_argsort_top_k; ties here to the lower index), their probabilities
// summed in double (ggml_vec_sum_f32), the sum clamped to the smallest normal f16 against a
// division by zero, each weight divided by it in f32.
void route_moe_token(const float* p, int64_t n_expert, int64_t k, int32_t* sel, float* w) {
  // Selection by repeated maximum (k is small: 2 to 10 in released models).
  double wsum = 0.0;
  for (int64_t i = 0; i < k; ++i) {
    int32_t best = -1;
    for (int32_t e = 0; e < static_cast<int32_t>(n_expert); ++e) {
      if (std::find(sel, sel + i, e) != sel + i) continue;
      if (best < 0 || p[e] > p[best]) best = e;
    }
    sel[i] = best;
    w[i] = p[best];
    wsum += static_cast<double>(w[i]);
  }
  const float sum = std::max(static_cast<float>(wsum), 6.103515625e-5f);
  for (int64_t i = 0; i < k; ++i) w[i] = w[i] / sum;
}

}  // namespace

void moe_ffn_block(ForwardPass& f, int64_t l, float residual_scale) {
  const ModelConfig& c = f.c;
  const LayerWeights& L = f.w.layers[static_cast<size_t>(l)];
  WorkBuffers& b = f.b;
  backend::Backend& be = f.be;
  const int64_t T = f.n_rows(), E = c.n_embd, F = c.n_ff, NE = c.n_expert, K = c.n_expert_used;
  be.rmsnorm(b.x.data(), L.ffn_norm.f32(), T, E, c.rms_eps, b.h.data());
  f.trace("ffn_norm", l, b.h.data(), E);
  be.matmul(L.ffn_gate_inp, b.h.data(), T, b.moe_probs.data());
  f.trace("ffn_moe_logits", l, b.moe_probs.data(), NE);
  be.router_softmax(b.moe_probs.data(), T, NE);
  f.trace("ffn_moe_probs", l, b.moe_probs.data(), NE);
  for (int64_t t = 0; t < T; ++t)
    route_moe_token(b.moe_probs.data() + t * NE, NE, K, b.moe_sel.data() + t * K, b.moe_w.data() + t * K);
  f.trace("ffn_moe_weights_norm", l, b.moe_w.data(), K);

  // Each chosen expert's tokens' inputs gathered into consecutive rows (experts in index order),
  // the three matmuls on the expert's 2-D slices (the backend's kernels for the file's dtype), each
  // output row times its weight (rounded, then added: llama.cpp's ggml_mul) into the slot of its
  // (token, rank). Then each token's slots added in rank order, ((e0 + e1) + e2) + ..., as
  // llama.cpp's chain of ggml_add over the chosen experts: the same bits as the peer, and a
  // token's result does not depend on what else is in its batch.
  float* acc = b.moe_acc.data();
  float* slots = b.moe_slot.data();
  auto scatter = [&](const float* out, const int32_t* rows, int64_t n) {
    for (int64_t r = 0; r < n; ++r) {
      const int32_t slot = rows[r];
      const float w = b.moe_w[static_cast<size_t>(slot)];
      float* dst = slots + slot * E;
      const float* src = out + r * E;
      for (int64_t i = 0; i < E; ++i) dst[i] = w * src[i];
    }
  };
  if (T <= kMoeGroupedTokens) {
    // Decode-sized batches: every chosen expert at once, so that the backend can spread their
    // small products over its threads (Backend::matmuls) instead of splitting each one: gate and
    // up of all of them and of the shared expert, the SwiGLUs, then the downs. Each product has
    // the rows it would have alone, so the bits are those of the expert-by-expert loop below.
    int64_t n_rows = 0;
    for (int64_t e = 0; e < NE; ++e) {
      b.moe_first[static_cast<size_t>(e)] = n_rows;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < K; ++i)
          if (b.moe_sel[static_cast<size_t>(t * K + i)] == e) {
            b.moe_rows[static_cast<size_t>(n_rows)] = static_cast<int32_t>(t * K + i);
            std::copy_n(b.h.data() + t * E, E, b.moe_in.data() + n_rows * E);
            ++n_rows;
          }
    }
    b.moe_first[static_cast<size_t>(NE)] = n_rows;
    auto expert_jobs = [&](bool down) {
      b.moe_jobs.clear();
      for (int64_t e = 0; e < NE; ++e) {
        const int64_t first = b.moe_first[static_cast<size_t>(e)], n = b.moe_first[static_cast<size_t>(e + 1)] - first;
        if (n == 0) continue;
        const auto ue = static_cast<size_t>(e);
        if (down) {
          b.moe_jobs.push_back({&L.down_exp[ue], b.gate.data() + first * F, n, b.moe_out.data() + first * E});
        } else {
          b.moe_jobs.push_back({&L.gate_exp[ue], b.moe_in.data() + first * E, n, b.gate.data() + first * F});
          b.moe_jobs.push_back({&L.up_exp[ue], b.moe_in.data() + first * E, n, b.up.data() + first * F});
        }
      }
    };
    expert_jobs(false);
    if (!L.gate_shexp.empty()) {
      b.moe_jobs.push_back({&L.gate_shexp, b.h.data(), T, b.moe_sh_gate.data()});
      b.moe_jobs.push_back({&L.up_shexp, b.h.data(), T, b.moe_sh_up.data()});
    }
    be.matmuls(b.moe_jobs);
    be.swiglu(b.gate.data(), b.up.data(), n_rows * F, b.gate.data());
    expert_jobs(true);
    if (!L.gate_shexp.empty()) {
      be.swiglu(b.moe_sh_gate.data(), b.moe_sh_up.data(), T * c.n_ff_shexp, b.moe_sh_gate.data());
      b.moe_jobs.push_back({&L.down_shexp, b.moe_sh_gate.data(), T, b.moe_sh_out.data()});
    }
    be.matmuls(b.moe_jobs);
    scatter(b.moe_out.data(), b.moe_rows.data(), n_rows);
  } else {
    for (int64_t e = 0; e < NE; ++e) {
      int64_t n = 0;
      for (int64_t t = 0; t < T; ++t)
        for (int64_t i = 0; i < K; ++i)
          if (b.moe_sel[static_cast<size_t>(t * K + i)] == e) {
            b.moe_rows[static_cast<size_t>(n)] = static_cast<int32_t>(t * K + i);
            std::copy_n(b.h.data() + t * E, E, b.moe_in.data() + n * E);
            ++n;
          }
      if (n == 0) continue;
      const auto ue = static_cast<size_t>(e);
      be.matmul(L.gate_exp[ue], b.moe_in.data(), n, b.gate.data());
      be.matmul(L.up_exp[ue], b.moe_in.data(), n, b.up.data());
      be.swiglu(b.gate.data(), b.up.data(), n * F, b.gate.data());
      be.matmul(L.down_exp[ue], b.gate.data(), n, b.moe_out.data());
      scatter(b.moe_out.data(), b.moe_rows.data(), n);
    }
  }
  for (int64_t t = 0; t < T; ++t) {
    float* dst = acc + t * E;
    std::copy_n(slots + t * K * E, E, dst);
    for (int64_t i = 1; i < K; ++i) {
      const float* src = slots + (t * K + i) * E;
      for (int64_t j = 0; j < E; ++j) dst[j] = dst[j] + src[j];
    }
  }
  f.trace("ffn_moe_out", l, acc, E);
  if (!L.gate_shexp.empty()) {
    const float* shared = b.moe_sh_out.data();  // decode-sized batches: computed beside the experts
    if (T > kMoeGroupedTokens) {
      const int64_t S = c.n_ff_shexp;
      be.matmul(L.gate_shexp, b.h.data(), T, b.gate.data());
      be.matmul(L.up_shexp, b.h.data(), T, b.up.data());
      be.swiglu(b.gate.data(), b.up.data(), T * S, b.gate.data());
      be.matmul(L.down_shexp, b.gate.data(), T, b.moe_out.data());
      shared = b.moe_out.data();
    }
    f.trace("ffn_shexp", l, shared, E);
    be.add_scaled(acc, shared, T * E, 1.0f);
  }
  f.trace("ffn_out", l, acc, E);
  be.add_scaled(b.x.data(), acc, T * E, residual_scale);
  f.trace("l_out", l, b.x.data(), E);
}

}  // namespace fragua::model
