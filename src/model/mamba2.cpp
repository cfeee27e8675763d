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
// arithmetic runs in the same order either way), which is what the chunked (SSD) form would only
// give up to rounding. Threads split the heads; the convolution is split over channels.
#include <algorithm>
#include <cmath>
#include <new>

#include "fragua/base/thread_pool.h"
#include "model/graph.h"

namespace fragua::model {

namespace {

// ggml's softplus (ggml_compute_softplus_f32): the identity above 20, where log1p(exp(x))
// rounds to x in f32.
float softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }
float silu(float x) { return x / (1.0f + std::exp(-x)); }

// One run's convolution: in [n, row stride ld] -> out [n, C], with the rolling state [C, K-1]
// (oldest first) read before and written after.
void conv_run(const float* in, int64_t ld, int64_t n, const float* w, const float* bias, int64_t C, int64_t K,
              float* state, float* out, ThreadPool& pool) {
  pool.parallel_for(static_cast<size_t>(C), [&](size_t c0, size_t c1) {
    std::vector<float> win(static_cast<size_t>(K - 1 + n));
    for (auto c = static_cast<int64_t>(c0); c < static_cast<int64_t>(c1); ++c) {
      float* st = state + c * (K - 1);
      std::copy_n(st, K - 1, win.data());
      for (int64_t t = 0; t < n; ++t) win[static_cast<size_t>(K - 1 + t)] = in[t * ld + c];
      const float* wc = w + c * K;
      for (int64_t t = 0; t < n; ++t) {
        float acc = 0.0f;
        for (int64_t k = 0; k < K; ++k) acc += win[static_cast<size_t>(t + k)] * wc[k];
        out[t * C + c] = silu(acc + bias[c]);
      }
      std::copy_n(win.data() + n, K - 1, st);
    }
  });
}

}  // namespace

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
    conv_run(zx + DI, R, r.n, L.ssm_conv1d.f32(), L.ssm_conv1d_b.f32(), C, K, conv_state, xbc, be.pool());
    float* y = b.ssm_y.data() + r.begin * DI;
    be.pool().parallel_for(static_cast<size_t>(H), [&](size_t h0, size_t h1) {
      for (int64_t t = 0; t < r.n; ++t) {
        const float* xt = xbc + t * C;
        const float* Bt = xt + DI;
        const float* Ct = Bt + G * N;
        const float* dtt = zx + t * R + 2 * DI + 2 * G * N;
        for (auto h = static_cast<int64_t>(h0); h < static_cast<int64_t>(h1); ++h) {
          const float dt = softplus(dtt[h] + dt_bias[h]);
          const float dA = std::exp(dt * A[h]);
          const int64_t g = h / (H / G);
          const float* Bg = Bt + g * N;
          const float* Cg = Ct + g * N;
          for (int64_t p = 0; p < P; ++p) {
            const float x = xt[h * P + p];
            const float xdt = x * dt;
            float* s = ssm_state + (h * P + p) * N;
            float acc = 0.0f;
            for (int64_t n = 0; n < N; ++n) {
              s[n] = s[n] * dA + Bg[n] * xdt;
              acc += s[n] * Cg[n];
            }
            y[t * DI + h * P + p] = acc + D[h] * x;
          }
        }
      }
    });
  }
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
