#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent PyTorch reference for the element transformer (materials/element_transformer.h),
checked by tests/materials/attention_model_test.cpp.

Writes element_transformer.safetensors next to this script: random weights ("w/<name>", F32,
shapes (out, in) as PyTorch stores them), a padded batch of compositions ("id", "len" I32;
"u", "frac" F32), a random upstream gradient "r" (B, n_out), the network's output "out" and
the gradient of sum(out * r) with respect to every weight ("g/<name>"), computed in float64.
Metadata "net" holds the network config.

The model is written from its description: token x0 = E[id] + W_in u; pre-norm encoder blocks
with bidirectional multi-head attention whose keys are masked past each row's length (padded
queries output 0) and a SwiGLU MLP; a final RMSNorm; pooling by atomic fraction; head
W2 silu(W1 p + b1) + b2.
Run: /usr/bin/python3 tests/reference/materials/make_attention_golden.py
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
from make_goldens import write_safetensors  # noqa: E402  (the hand-written safetensors writer)

torch.set_default_dtype(torch.float64)

NET = dict(n_elements=11, n_input=7, d_model=16, n_layer=2, n_head=4, n_ff=24, head_hidden=12, n_out=2,
           norm_eps=1e-5)


def shapes(c):
    C, Fh, H = c["d_model"], c["n_ff"], c["head_hidden"]
    out = [("element_embd.weight", (c["n_elements"], C)), ("input_proj.weight", (C, c["n_input"]))]
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        out += [(p + "attn_norm.weight", (C,)), (p + "attn_q.weight", (C, C)), (p + "attn_k.weight", (C, C)),
                (p + "attn_v.weight", (C, C)), (p + "attn_output.weight", (C, C)), (p + "ffn_norm.weight", (C,)),
                (p + "ffn_gate.weight", (Fh, C)), (p + "ffn_up.weight", (Fh, C)), (p + "ffn_down.weight", (C, Fh))]
    out += [("output_norm.weight", (C,)), ("head_1.weight", (H, C)), ("head_1.bias", (H,)),
            ("head_2.weight", (c["n_out"], H)), ("head_2.bias", (c["n_out"],))]
    return out


def rms(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def forward(c, W, ids, u, frac, lens):
    B, T = ids.shape
    C, NH = c["d_model"], c["n_head"]
    hs = C // NH
    x = W["element_embd.weight"][ids.long()] + u @ W["input_proj.weight"].T
    valid = torch.arange(T)[None, :] < lens[:, None].long()                    # (B, T)
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        h = rms(x, W[p + "attn_norm.weight"], c["norm_eps"])
        q, k, v = (h @ W[p + n].T for n in ("attn_q.weight", "attn_k.weight", "attn_v.weight"))
        q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in (q, k, v))  # (B, NH, T, hs)
        s = q @ k.transpose(-1, -2) / math.sqrt(hs)
        s = s.masked_fill(~valid[:, None, None, :], float("-inf"))
        a = torch.softmax(s, dim=-1) @ v                                         # (B, NH, T, hs)
        a = a.transpose(1, 2).reshape(B, T, C) * valid[:, :, None]
        x = x + a @ W[p + "attn_output.weight"].T
        h = rms(x, W[p + "ffn_norm.weight"], c["norm_eps"])
        x = x + (F.silu(h @ W[p + "ffn_gate.weight"].T) * (h @ W[p + "ffn_up.weight"].T)) @ W[p + "ffn_down.weight"].T
    xf = rms(x, W["output_norm.weight"], c["norm_eps"])
    pooled = (xf * frac[:, :, None]).sum(1)
    hid = F.silu(pooled @ W["head_1.weight"].T + W["head_1.bias"])
    return hid @ W["head_2.weight"].T + W["head_2.bias"]


def main():
    c = NET
    rng = np.random.default_rng(7)
    W32 = {}
    for name, shp in shapes(c):
        sd = 1.0 if name.endswith("norm.weight") else 0.4
        base = 1.0 if name.endswith("norm.weight") else 0.0
        W32[name] = (base + sd * rng.standard_normal(shp)).astype(np.float32)
    B, T = 4, 5
    lens = np.array([5, 2, 3, 1], dtype=np.int32)
    ids = np.zeros((B, T), dtype=np.int32)
    u = np.zeros((B, T, c["n_input"]), dtype=np.float32)
    frac = np.zeros((B, T), dtype=np.float32)
    for b in range(B):
        n = lens[b]
        ids[b, :n] = rng.choice(c["n_elements"], size=n, replace=False)
        u[b, :n] = rng.standard_normal((n, c["n_input"]))
        f = rng.uniform(0.1, 1.0, size=n)
        frac[b, :n] = f / f.sum()
    r = rng.standard_normal((B, c["n_out"])).astype(np.float32)
    W = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in W32.items()}
    out = forward(c, W, torch.tensor(ids), torch.tensor(u.astype(np.float64)), torch.tensor(frac.astype(np.float64)),
                  torch.tensor(lens))
    (out * torch.tensor(r.astype(np.float64))).sum().backward()
    tensors = [("w/" + k, v) for k, v in W32.items()]
    tensors += [("id", ids), ("len", lens), ("u", u), ("frac", frac), ("r", r),
                ("out", out.detach().numpy().astype(np.float32))]
    tensors += [("g/" + k, W[k].grad.numpy().astype(np.float32)) for k in W32]
    write_safetensors(os.path.join(HERE, "element_transformer.safetensors"), tensors, {"net": json.dumps(c)})


if __name__ == "__main__":
    main()
