#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference forward pass of the llama, granite and qwen2 architectures in PyTorch (float64),
written from the papers and model cards (Llama: Touvron et al. 2023; RoPE: Su et al. 2021; Llama
3.1 frequency scaling from Meta's reference code; Granite 3 multipliers as documented by IBM;
Qwen2: Yang et al. 2024, biases on the q/k/v projections and RoPE rotating halves), reading
the GGUF with the independent reader of tests/reference/format/gguf_dump.py and dequantizing with
tests/reference/tensor/dequant_ref.py.

Usage: llama_ref.py MODEL.gguf TOKENS_CSV OUT.f32 [MODEL.gguf TOKENS_CSV OUT.f32 ...]
Writes the logits of every position, [n_tokens, n_vocab] float32 little-endian, for each model
(several in one run: importing torch is most of the time)."""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "format"))
sys.path.insert(0, os.path.join(HERE, "..", "tensor"))
import gguf_dump  # noqa: E402
import dequant_ref  # noqa: E402

# ggml type id -> (block elements, block bytes, numpy dequantizer or None for plain types)
BLOCKS = {2: (32, 18, dequant_ref.q4_0), 8: (32, 34, dequant_ref.q8_0), 12: (256, 144, dequant_ref.q4_k),
          13: (256, 176, dequant_ref.q5_k), 14: (256, 210, dequant_ref.q6_k)}


def load(path):
    data = open(path, "rb").read()
    r = gguf_dump.Reader(data)
    assert r.take("<I") == 0x46554747
    r.take("<I")
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        ne = [r.take("<Q") for _ in range(nd)]
        infos.append((name, ne, r.take("<I"), r.take("<Q")))
    align = meta.get("general.alignment", 32)
    start = (r.p + align - 1) // align * align
    tensors = {}
    for name, ne, t, off in infos:
        n = int(np.prod(ne))
        if t == 0:
            a = np.frombuffer(data, "<f4", n, start + off).astype(np.float64)
        elif t == 1:
            a = np.frombuffer(data, "<f2", n, start + off).astype(np.float64)
        elif t == 30:
            u = np.frombuffer(data, "<u2", n, start + off).astype(np.uint32) << 16
            a = u.view(np.float32).astype(np.float64)
        else:
            qk, size, fn = BLOCKS[t]
            nb = n // qk
            raw = np.frombuffer(data, np.uint8, nb * size, start + off).reshape(nb, size)
            a = fn(raw).astype(np.float64).reshape(-1)
        tensors[name] = torch.from_numpy(a.reshape(list(reversed(ne))).copy())
    return meta, tensors


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def llama31_inv_freq(inv_freq, factor=8.0, low=1.0, high=4.0, old_ctx=8192):
    low_wavelen, high_wavelen = old_ctx / low, old_ctx / high
    out = []
    for f in inv_freq.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high_wavelen:
            out.append(f)
        elif wavelen > low_wavelen:
            out.append(f / factor)
        else:
            smooth = (old_ctx / wavelen - low) / (high - low)
            out.append((1 - smooth) * f / factor + smooth * f)
    return torch.tensor(out, dtype=torch.float64)


def rope(x, pos, inv_freq):
    # x: [T, H, D]; rotate adjacent pairs (x[2i], x[2i+1]) as complex numbers.
    T, H, D = x.shape
    ang = pos[:, None].double() * inv_freq[None, :]  # [T, D/2]
    rot = torch.polar(torch.ones_like(ang), ang)[:, None, :]
    xc = torch.view_as_complex(x.reshape(T, H, D // 2, 2).contiguous())
    return torch.view_as_real(xc * rot).reshape(T, H, D)


def rope_halves(x, pos, inv_freq):
    # x: [T, H, D]; rotate the pairs (x[i], x[i + D/2]), as GPT-NeoX and Qwen2 do.
    T, H, D = x.shape
    ang = pos[:, None].double() * inv_freq[None, :]  # [T, D/2]
    cos, sin = torch.cos(ang)[:, None, :], torch.sin(ang)[:, None, :]
    a, b = x[..., :D // 2], x[..., D // 2:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


def forward(meta, W, tokens, observe=None):
    """Logits of every position; observe(step, layer, rows), when given, sees the input of each
    matmul under llama.cpp's graph names (attn_norm, kqv_out, ffn_norm, ffn_swiglu; result_norm at
    layer -1), for the importance-matrix reference (imatrix_ref.py)."""
    see = observe or (lambda step, layer, rows: None)
    arch = meta["general.architecture"]
    p = arch + "."
    E, L = meta[p + "embedding_length"], meta[p + "block_count"]
    H, KV = meta[p + "attention.head_count"], meta.get(p + "attention.head_count_kv", meta[p + "attention.head_count"])
    eps, theta = meta[p + "attention.layer_norm_rms_epsilon"], meta.get(p + "rope.freq_base", 10000.0)
    D = E // H
    emb_scale = meta.get("granite.embedding_scale", 1.0)
    attn_scale = meta.get("granite.attention.scale", 1.0 / math.sqrt(D))
    res_scale = meta.get("granite.residual_scale", 1.0)
    logit_scale = meta.get("granite.logit_scale", 1.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    if "rope_freqs.weight" in W:
        scaled = llama31_inv_freq(inv_freq)
        # The file's factors must be Meta's rule, computed here independently.
        assert torch.allclose(inv_freq / W["rope_freqs.weight"], scaled, rtol=1e-6), "rope_freqs.weight disagrees"
        inv_freq = scaled
    rotate = rope_halves if arch == "qwen2" else rope
    T = len(tokens)
    pos = torch.arange(T)
    x = W["token_embd.weight"][torch.tensor(tokens)] * emb_scale
    mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
    for l in range(L):
        g = lambda n: W[f"blk.{l}.{n}.weight"]  # noqa: E731
        h = rms_norm(x, g("attn_norm"), eps)
        see("attn_norm", l, h)
        bias = lambda n: W.get(f"blk.{l}.{n}.bias", 0.0)  # noqa: E731  (qwen2's q/k/v biases)
        q = (h @ g("attn_q").T + bias("attn_q")).reshape(T, H, D)
        k = (h @ g("attn_k").T + bias("attn_k")).reshape(T, KV, D)
        v = (h @ g("attn_v").T + bias("attn_v")).reshape(T, KV, D)
        q, k = rotate(q, pos, inv_freq), rotate(k, pos, inv_freq)
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = torch.einsum("thd,shd->hts", q, k) * attn_scale + mask
        a = torch.einsum("hts,shd->thd", torch.softmax(s, -1), v).reshape(T, H * D)
        see("kqv_out", l, a)
        x = x + (a @ g("attn_output").T) * res_scale
        h = rms_norm(x, g("ffn_norm"), eps)
        see("ffn_norm", l, h)
        f = torch.nn.functional.silu(h @ g("ffn_gate").T) * (h @ g("ffn_up").T)
        see("ffn_swiglu", l, f)
        x = x + (f @ g("ffn_down").T) * res_scale
    x = rms_norm(x, W["output_norm.weight"], eps)
    see("result_norm", -1, x)
    out = W.get("output.weight", W["token_embd.weight"])
    return (x @ out.T) / logit_scale


def main():
    args = sys.argv[1:]
    if not args or len(args) % 3:
        sys.exit(__doc__)
    for i in range(0, len(args), 3):
        meta, W = load(args[i])
        tokens = [int(t) for t in args[i + 1].split(",")]
        logits = forward(meta, W, tokens)
        logits.numpy().astype("<f4").tofile(args[i + 2])


if __name__ == "__main__":
    main()
