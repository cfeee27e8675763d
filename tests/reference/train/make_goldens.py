#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent PyTorch reference for the Fragua trainer (tests/train/gradients_test.cpp).

Writes, next to this script:
  grads_untied.safetensors, grads_tied.safetensors: random weights ("w/<gguf name>", F32),
      a batch ("tokens", "targets", I32), the gradient of the mean cross-entropy of every
      parameter ("g/<name>", computed in float64, stored F32) and metadata: config, loss.
  adamw_trajectory.json: the loss of 20 AdamW steps on a fixed batch (warmup + cosine learning
      rate, gradient clipping, decoupled weight decay except on norm gains), starting from the
      weights of grads_untied.safetensors.

The model is written from the Llama definition (Touvron et al. 2023) with GGUF's conventions:
linear weights (out, in); RoPE rotating adjacent pairs (x[2i], x[2i+1]) by t * base^(-2i/hd)
(done here with complex numbers); RMSNorm; SwiGLU; grouped-query attention.
The safetensors files are written by hand here (8-byte length, JSON header, data) so the C++
reader is checked against an independent writer.
Run: /usr/bin/python3 tests/reference/train/make_goldens.py
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_default_dtype(torch.float64)


def config(tied):
    return dict(n_vocab=37, n_ctx=16, n_embd=16, n_layer=2, n_head=4, n_head_kv=2, n_ff=40,
                rope_base=10000.0, norm_eps=1e-5, tied_embeddings=tied)


def param_shapes(c):
    """(name, torch shape (out, in) / (V, C) / (C,)) in the trainer's order."""
    C, V, F_, hd = c["n_embd"], c["n_vocab"], c["n_ff"], c["n_embd"] // c["n_head"]
    out = [("token_embd.weight", (V, C))]
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        out += [(p + "attn_norm.weight", (C,)), (p + "attn_q.weight", (c["n_head"] * hd, C)),
                (p + "attn_k.weight", (c["n_head_kv"] * hd, C)), (p + "attn_v.weight", (c["n_head_kv"] * hd, C)),
                (p + "attn_output.weight", (C, c["n_head"] * hd)), (p + "ffn_norm.weight", (C,)),
                (p + "ffn_gate.weight", (F_, C)), (p + "ffn_up.weight", (F_, C)), (p + "ffn_down.weight", (C, F_))]
    out.append(("output_norm.weight", (C,)))
    if not c["tied_embeddings"]:
        out.append(("output.weight", (V, C)))
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rope(x, base):
    # x (B, T, H, hd): view adjacent pairs as complex numbers and multiply by e^{i t theta_j}.
    B, T, H, hd = x.shape
    theta = base ** (-torch.arange(0, hd, 2, dtype=torch.float64) / hd)
    ang = torch.outer(torch.arange(T, dtype=torch.float64), theta)          # (T, hd/2)
    rot = torch.polar(torch.ones_like(ang), ang)[None, :, None, :]          # (1, T, 1, hd/2)
    xc = torch.view_as_complex(x.reshape(B, T, H, hd // 2, 2).contiguous())
    return torch.view_as_real(xc * rot).reshape(B, T, H, hd)


def logits_of(c, W, tokens, linear=None):
    """Logits (B, T, V). linear(name, x) computes x through the weight `name` (default x @ W^T);
    the LoRA reference (train_lora_dpo.py) adds its low-rank path there."""
    if linear is None:
        def linear(name, x):
            return x @ W[name].T
    B, T = tokens.shape
    C, NH, NKV = c["n_embd"], c["n_head"], c["n_head_kv"]
    hd = C // NH
    x = W["token_embd.weight"][tokens]
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for l in range(c["n_layer"]):
        p = f"blk.{l}."
        h = rms_norm(x, W[p + "attn_norm.weight"], c["norm_eps"])
        q = linear(p + "attn_q.weight", h).view(B, T, NH, hd)
        k = linear(p + "attn_k.weight", h).view(B, T, NKV, hd)
        v = linear(p + "attn_v.weight", h).view(B, T, NKV, hd)
        q, k = rope(q, c["rope_base"]), rope(k, c["rope_base"])
        rep = NH // NKV
        k = k.repeat_interleave(rep, dim=2)
        v = v.repeat_interleave(rep, dim=2)
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))                     # (B, H, T, hd)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(mask, float("-inf"))
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + linear(p + "attn_output.weight", y)
        h = rms_norm(x, W[p + "ffn_norm.weight"], c["norm_eps"])
        g = F.silu(linear(p + "ffn_gate.weight", h)) * linear(p + "ffn_up.weight", h)
        x = x + linear(p + "ffn_down.weight", g)
    x = rms_norm(x, W["output_norm.weight"], c["norm_eps"])
    head = W["token_embd.weight"] if c["tied_embeddings"] else W["output.weight"]
    return x @ head.T


def forward(c, W, tokens, targets):
    logits = logits_of(c, W, tokens)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def random_weights(c, rng):
    W = {}
    for name, shape in param_shapes(c):
        if len(shape) == 1:
            a = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            a = 0.3 * rng.standard_normal(shape)
        # Round to float32 first: the C++ side starts from exactly these values.
        W[name] = torch.tensor(a.astype(np.float32).astype(np.float64), requires_grad=True)
    return W


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array of float32 or int32)."""
    header, blobs, off = {"__metadata__": metadata}, [], 0
    for name, a in tensors:
        dt = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}[a.dtype]
        b = np.ascontiguousarray(a).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def batch(c, rng, B=2, T=8):
    tokens = rng.integers(0, c["n_vocab"], size=(B, T)).astype(np.int32)
    targets = rng.integers(0, c["n_vocab"], size=(B, T)).astype(np.int32)
    return tokens, targets


def make_gradients(tied, seed):
    c = config(tied)
    rng = np.random.default_rng(seed)
    W = random_weights(c, rng)
    tokens, targets = batch(c, rng)
    loss = forward(c, W, torch.tensor(tokens, dtype=torch.long), torch.tensor(targets, dtype=torch.long))
    loss.backward()
    out = [("tokens", tokens), ("targets", targets)]
    out += [("w/" + n, W[n].detach().numpy().astype(np.float32)) for n, _ in param_shapes(c)]
    out += [("g/" + n, W[n].grad.numpy().astype(np.float32)) for n, _ in param_shapes(c)]
    meta = {"config": json.dumps(c), "loss": repr(loss.item()), "generator": "tests/reference/train/make_goldens.py"}
    name = "grads_tied.safetensors" if tied else "grads_untied.safetensors"
    write_safetensors(os.path.join(HERE, name), out, meta)
    return c, W, tokens, targets


def lr_at(step, hp):
    """Warmup then cosine: linear (step+1)/warmup, then min + (max-min)(1+cos(pi p))/2."""
    if step < hp["warmup"]:
        return hp["lr"] * (step + 1) / hp["warmup"]
    p = (step - hp["warmup"]) / max(1, hp["steps"] - hp["warmup"])
    lo = hp["lr"] * hp["min_lr_ratio"]
    return lo + 0.5 * (hp["lr"] - lo) * (1 + math.cos(math.pi * min(1.0, p)))


def make_trajectory(c, W0, tokens, targets):
    hp = dict(steps=20, lr=1e-2, warmup=3, min_lr_ratio=0.1, beta1=0.9, beta2=0.95, eps=1e-8,
              weight_decay=0.1, grad_clip=1.0)
    W = {n: w.detach().clone().requires_grad_(True) for n, w in W0.items()}
    decay = [w for n, w in W.items() if w.dim() > 1]
    no_decay = [w for n, w in W.items() if w.dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": hp["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=hp["lr"], betas=(hp["beta1"], hp["beta2"]), eps=hp["eps"])
    tk = torch.tensor(tokens, dtype=torch.long)
    tg = torch.tensor(targets, dtype=torch.long)
    losses, norms, lrs = [], [], []
    for step in range(hp["steps"]):
        for g in opt.param_groups:
            g["lr"] = lr_at(step, hp)
        opt.zero_grad()
        loss = forward(c, W, tk, tg)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(list(W.values()), hp["grad_clip"])
        opt.step()
        losses.append(loss.item())
        norms.append(norm.item())
        lrs.append(lr_at(step, hp))
    with open(os.path.join(HERE, "adamw_trajectory.json"), "w") as f:
        json.dump({"generator": "tests/reference/train/make_goldens.py", "torch": torch.__version__,
                   "start": "grads_untied.safetensors", "hparams": hp, "loss": losses, "grad_norm": norms,
                   "lr": lrs}, f, indent=1)


if __name__ == "__main__":
    c, W, tokens, targets = make_gradients(False, 1234)
    make_gradients(True, 5678)
    make_trajectory(c, W, tokens, targets)
    print("wrote goldens to", HERE)
