// SPDX-License-Identifier: Apache-2.0
// The Mamba-2 mixer (Dao & Gu 2024, "Transformers are SSMs", sections 3 and 7; the layout of
// llama.cpp's build_mamba2_layer, src/models/mamba-base.cpp, and transformers' Mamba2Mixer):
//   zxBCdt = in_proj(h)                     z, x [d_inner]; B, C [groups, d_state]; dt [heads]
//   xBC    = silu(conv1d(xBC) + bias)       causal, depthwise, kernel d_conv, over the sequence
//   dt     = softplus(dt + dt_bias)
//   per head h, channel p, state n:   s = exp(dt A_h) s + dt B_g(h) x     (g: the head's group)
//                                     y = C_g(h) . s + D_h x
//   y      = rmsnorm_per_group(y * silu(z)) * norm_weight
//   out    = out_proj(y)
// The scan is the recurrent form token after token, for prompts too: the state after a prompt
// is the same whether it came in one batch or one token at a time, bit for bit (each head's
// arithmetic runs in the same order either way), and the same as llama.cpp's ggml_ssm_scan.
// FRAGUA_SSM_CHUNK=N runs prompt batches in the chunked (SSD) form instead, equal up to rounding
// and not faster on the CPU (docs/engine.md). Both run on the backend (Backend::ssm_conv,
// ssm_scan: on the CPU, bit-identical on every SIMD level and thread count, threads over heads and
// over blocks of channels).
#include <algorithm>
#include <new>

#include "fragua/base/runtime_options.h"
#include "model/graph.h"

namespace fragua::model {

Status allocate_recurrent_state(RecurrentState& rs, const ModelConfig& c, int64_t n_slots) {
  rs = RecurrentState{};
  rs.index.assign(static_cast<size_t>(c.n_layer), -1);
  for (int64_t l = 0; l < c.n_layer; ++l)
    if (c.is_recurrent(l)) rs.index[static_cast<size_t>(l)] = static_cast<int32_t>(rs.n_rec++);
  if (rs.n_rec == 0) return {};
  rs.conv_size = (c.ssm_d_conv - 1) * c.ssm_conv_channels();
  rs.ssm_size = c.ssm_d_inner * c.ssm_d_state;
  try {
    rs.conv.assign(static_cast<size_t>(n_slots * rs.n_rec * rs.conv_size), 0.0f);
    rs.ssm.assign(static_cast<size_t>(n_slots * rs.n_rec * rs.ssm_size), 0.0f);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("cannot allocate the recurrent state of {} slots x {} Mamba layers", n_slots,
                                    rs.n_rec);
  }
  return {};
}

void mamba2_block(ForwardPass& f, int64_t l, float residual_scale) {
  const ModelConfig& c = f.c;
  const LayerWeights& L = f.w.layers[static_cast<size_t>(l)];
  WorkBuffers& b = f.b;
  backend::Backend& be = f.be;
  const int64_t T = f.n_tokens(), E = c.n_embd, DI = c.ssm_d_inner, N = c.ssm_d_state, H = c.ssm_n_head,
                G = c.ssm_n_group, P = c.ssm_head_dim(), K = c.ssm_d_conv, C = c.ssm_conv_channels(),
                R = c.ssm_in_rows();
  be.rmsnorm(b.x.data(), L.attn_norm.f32(), T, E, c.rms_eps, b.h.data());
  f.trace("attn_norm", l, b.h.data(), E);
  be.matmul(L.ssm_in, b.h.data(), T, b.ssm_zx.data());
  const float* A = L.ssm_a.f32();
  const float* D = L.ssm_d.f32();
  const float* dt_bias = L.ssm_dt_b.f32();
  // FRAGUA_SSM_CHUNK: prompt batches in the chunked form (read per pass: tests and A/B runs switch it).
  const int64_t ssm_chunk = T > 1 ? runtime_options().ssm_chunk : 0;
  for (const SeqRun& r : f.runs) {
    float* conv_state = b.rs.conv_of(r.slot, l);
    float* ssm_state = b.rs.ssm_of(r.slot, l);
    // A sequence that starts over starts from a zero state (a cleared or truncated slot).
    if (r.n_past == 0) {
      std::fill(conv_state, conv_state + b.rs.conv_size, 0.0f);
      std::fill(ssm_state, ssm_state + b.rs.ssm_size, 0.0f);
    }
    const float* zx = b.ssm_zx.data() + r.begin * R;
    float* xbc = b.ssm_xbc.data() + r.begin * C;
    backend::SsmConvArgs conv;
    conv.in = zx + DI;
    conv.in_stride = R;
    conv.out = xbc;
    conv.weight = L.ssm_conv1d.f32();
    conv.bias = L.ssm_conv1d_b.f32();
    conv.state = conv_state;
    conv.n = r.n;
    conv.channels = C;
    conv.d_conv = K;
    be.ssm_conv(conv);
    backend::SsmScanArgs scan;
    scan.xbc = xbc;
    scan.xbc_stride = C;
    scan.dt = zx + 2 * DI + 2 * G * N;
    scan.dt_stride = R;
    scan.dt_bias = dt_bias;
    scan.A = A;
    scan.D = D;
    scan.state = ssm_state;
    scan.y = b.ssm_y.data() + r.begin * DI;
    scan.y_stride = DI;
    scan.n = r.n;
    scan.n_head = H;
    scan.head_dim = P;
    scan.d_state = N;
    scan.n_group = G;
    scan.chunk = ssm_chunk;
    be.ssm_scan(scan);
  }
  f.trace("mamba2_y_add_d", l, b.ssm_y.data(), DI);
  // Gate with z, then RMSNorm over each group of d_inner / n_group channels, each group with its
  // own slice of the gain (transformers' MambaRMSNormGated with norm_before_gate=False).
  const int64_t GW = DI / G;
  for (int64_t t = 0; t < T; ++t) {
    float* yt = b.ssm_y.data() + t * DI;
    be.swiglu(b.ssm_zx.data() + t * R, yt, DI, yt);
    for (int64_t g = 0; g < G; ++g)
      be.rmsnorm(yt + g * GW, L.ssm_norm.f32() + g * GW, 1, GW, c.rms_eps, b.ssm_yn.data() + t * DI + g * GW);
  }
  be.matmul(L.ssm_out, b.ssm_yn.data(), T, b.h.data());
  f.trace("mamba_out", l, b.h.data(), E);
  be.add_scaled(b.x.data(), b.h.data(), T * E, residual_scale);
  f.trace("ffn_inp", l, b.x.data(), E);
}

}  // namespace fragua::model
