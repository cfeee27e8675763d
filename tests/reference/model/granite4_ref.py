#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference forward pass of IBM's granitemoe (Granite 3.x MoE) and granitehybrid (Granite 4.0-H)
architectures in PyTorch (float64), written from the published descriptions, not from Fragua:

- mixture of experts as transformers documents GraniteMoe: the router's logits, the top-k of
  them, a softmax over those k, and the weighted sum of SwiGLU experts; plus the shared expert
  ("shared_mlp") of GraniteMoeShared / GraniteMoeHybrid;
- Mamba-2 (Dao & Gu 2024, "Transformers are SSMs"): in_proj split into z, x, B, C, dt; causal
  depthwise conv1d + SiLU; dt = softplus(dt + dt_bias); the SSM computed in its *quadratic dual
  form* (section 3: y = (L o C B^T) x with L[t, s] = exp(sum_{r=s+1..t} dt_r A), the
  "segment sum"), which is independent of the recurrent scan that Fragua runs; D skip; gated
  RMSNorm (y * silu(z), then RMS over each group of channels); out_proj;
- attention layers as Granite's (multipliers, RoPE unless rope.scaling.finetuned is false).

The layer pattern comes from attention.head_count_kv as an array (0 = Mamba-2 layer), as
llama.cpp's GGUF conversion writes it. GGUF reading, RMSNorm and RoPE are shared with llama_ref.py.

Usage: granite4_ref.py MODEL.gguf TOKENS_CSV OUT.f32
Writes the logits of every position, [n_tokens, n_vocab] float32 little-endian."""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama_ref import load, rms_norm, rope  # noqa: E402

F = torch.nn.functional


def swiglu(h, gate, up, down):
    return (F.silu(h @ gate.T) * (h @ up.T)) @ down.T


def moe(h, W, l, k):
    router = W[f"blk.{l}.ffn_gate_inp.weight"]  # [n_expert, E]
    gate, up, down = (W[f"blk.{l}.ffn_{n}_exps.weight"] for n in ("gate", "up", "down"))  # [n_expert, out, in]
    logits = h @ router.T
    top, idx = torch.topk(logits, k, dim=-1)
    weights = torch.softmax(top, dim=-1)
    out = torch.zeros_like(h)
    for t in range(h.shape[0]):
        for j in range(k):
            e = int(idx[t, j])
            out[t] += weights[t, j] * swiglu(h[t:t + 1], gate[e], up[e], down[e])[0]
    if f"blk.{l}.ffn_gate_shexp.weight" in W:
        out = out + swiglu(h, *(W[f"blk.{l}.ffn_{n}_shexp.weight"] for n in ("gate", "up", "down")))
    return out


def mamba2(h, W, l, meta, p, eps):
    g = lambda n: W[f"blk.{l}.{n}"]  # noqa: E731
    K, DI, N = meta[p + "ssm.conv_kernel"], meta[p + "ssm.inner_size"], meta[p + "ssm.state_size"]
    H, G = meta[p + "ssm.time_step_rank"], meta[p + "ssm.group_count"]
    P = DI // H
    T = h.shape[0]
    zxbcdt = h @ g("ssm_in.weight").T
    z, xbc, dt = zxbcdt[:, :DI], zxbcdt[:, DI:2 * DI + 2 * G * N], zxbcdt[:, 2 * DI + 2 * G * N:]
    # Causal depthwise convolution over the sequence (zeros before the first token).
    w = g("ssm_conv1d.weight")  # [channels, K]
    padded = torch.cat([torch.zeros(K - 1, xbc.shape[1], dtype=h.dtype), xbc], 0)
    conv = torch.stack([(padded[t:t + K] * w.T).sum(0) for t in range(T)]) + g("ssm_conv1d.bias")
    xbc = F.silu(conv)
    x = xbc[:, :DI].reshape(T, H, P)
    B = xbc[:, DI:DI + G * N].reshape(T, G, N).repeat_interleave(H // G, dim=1)  # [T, H, N]
    C = xbc[:, DI + G * N:].reshape(T, G, N).repeat_interleave(H // G, dim=1)
    dt = F.softplus(dt + g("ssm_dt.bias"))  # [T, H]
    A = g("ssm_a").reshape(H)
    cum = torch.cumsum(dt * A, 0)  # [T, H]
    seg = cum[:, None, :] - cum[None, :, :]  # [t, s, H]: sum over r in (s, t] of dt_r A
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    L = torch.where(causal[:, :, None], torch.exp(seg.masked_fill(~causal[:, :, None], 0.0)), 0.0)
    scores = torch.einsum("thn,shn->tsh", C, B) * L * dt[None, :, :]
    y = torch.einsum("tsh,shp->thp", scores, x) + g("ssm_d").reshape(H)[None, :, None] * x
    y = y.reshape(T, DI) * F.silu(z)
    y = y.reshape(T, G, DI // G)
    y = y / torch.sqrt((y * y).mean(-1, keepdim=True) + eps) * g("ssm_norm.weight")  # gain [G, DI/G]
    return y.reshape(T, DI) @ g("ssm_out.weight").T


def attention(h, W, l, H, KV, D, pos, inv_freq, use_rope, attn_scale):
    g = lambda n: W[f"blk.{l}.{n}.weight"]  # noqa: E731
    T = h.shape[0]
    q = (h @ g("attn_q").T).reshape(T, H, D)
    k = (h @ g("attn_k").T).reshape(T, KV, D)
    v = (h @ g("attn_v").T).reshape(T, KV, D)
    if use_rope:
        q, k = rope(q, pos, inv_freq), rope(k, pos, inv_freq)
    k = k.repeat_interleave(H // KV, dim=1)
    v = v.repeat_interleave(H // KV, dim=1)
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    s = torch.einsum("thd,shd->hts", q, k) * attn_scale + mask
    a = torch.einsum("hts,shd->thd", torch.softmax(s, -1), v).reshape(T, H * D)
    return a @ g("attn_output").T


def forward(meta, W, tokens):
    arch = meta["general.architecture"]
    assert arch in ("granitemoe", "granitehybrid"), arch
    p = arch + "."
    E, n_layer, H = meta[p + "embedding_length"], meta[p + "block_count"], meta[p + "attention.head_count"]
    kv = meta.get(p + "attention.head_count_kv", H)
    kv_per_layer = kv if isinstance(kv, list) else [kv] * n_layer
    KV = max(kv_per_layer)
    eps, theta = meta[p + "attention.layer_norm_rms_epsilon"], meta.get(p + "rope.freq_base", 10000.0)
    D = E // H
    use_rope = meta.get(p + "rope.scaling.finetuned", True)
    attn_scale = meta.get(p + "attention.scale", 1.0 / math.sqrt(D))
    res_scale = meta.get(p + "residual_scale", 1.0)
    n_used = meta.get(p + "expert_used_count", 0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    T = len(tokens)
    pos = torch.arange(T)
    x = W["token_embd.weight"][torch.tensor(tokens)] * meta.get(p + "embedding_scale", 1.0)
    for l in range(n_layer):
        h = rms_norm(x, W[f"blk.{l}.attn_norm.weight"], eps)
        if kv_per_layer[l] == 0:
            out = mamba2(h, W, l, meta, p, eps)
        else:
            out = attention(h, W, l, H, KV, D, pos, inv_freq, use_rope, attn_scale)
        x = x + out * res_scale
        h = rms_norm(x, W[f"blk.{l}.ffn_norm.weight"], eps)
        if n_used:
            f = moe(h, W, l, n_used)
        else:
            f = swiglu(h, *(W[f"blk.{l}.ffn_{n}.weight"] for n in ("gate", "up", "down")))
        x = x + f * res_scale
    x = rms_norm(x, W["output_norm.weight"], eps)
    out = W.get("output.weight", W["token_embd.weight"])
    return (x @ out.T) / meta.get(p + "logit_scale", 1.0)


def main():
    meta, W = load(sys.argv[1])
    tokens = [int(t) for t in sys.argv[2].split(",")]
    forward(meta, W, tokens).numpy().astype("<f4").tofile(sys.argv[3])


if __name__ == "__main__":
    main()
