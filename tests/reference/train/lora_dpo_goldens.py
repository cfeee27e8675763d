#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent PyTorch references (float64) for LoRA and DPO on the training engine
(tests/train/lora_test.cpp, tests/train/dpo_test.cpp).

lora_grads.safetensors: base weights "w/<name>", adapters "a/<name>.lora_a" (r, in) and
    "a/<name>.lora_b" (out, r) on every projection (q, k, v, o, gate, up, down), a batch
    ("tokens", "targets", I32; "mask", F32 0/1) and the gradient of the masked mean
    cross-entropy sum(mask * ce) / sum(mask) with respect to every adapter tensor ("g/...").
    The LoRA path is computed as PEFT computes it, beside the frozen weight:
    y = x W^T + (alpha / r) * (x A^T) B^T (Hu et al. 2021), not through a merged weight.
lora_dropout_grads.safetensors: the same with lora_dropout p = 0.25 (PEFT's: inverted dropout on
    the adapter's input, y = x W^T + s * ((drop(x)) A^T) B^T), the mask of each target given as
    "drop/<name>" (F32 0/1, (B*T, in)) and metadata "dropout" and "dropout_seed". The mask is the
    trainer's counter-based one (src/train/lora.cpp, lora.h), recomputed here so that the
    reference sees the very mask the trainer draws; the test checks the two masks agree.
dpo_grads.safetensors: policy weights "w/<name>", rows (2 per pair: chosen, rejected) "tokens",
    "targets", "mask" (the answer positions), reference log-probabilities "ref_logp" (F32, one a
    row), and the gradient of the DPO loss (Rafailov et al. 2023)
    mean_i -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r))), pi = sum of the masked
    log-probabilities of the row, with respect to every weight ("g/<name>").
The model is make_goldens.py's (its logits_of), so the two references share one Llama.
Run: /usr/bin/python3 tests/reference/train/lora_dpo_goldens.py
"""
import json
import os
import sys

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as e:  # the Debian packages python3-torch / python3-numpy
    print(f"skipped: {e} (install python3-torch and python3-numpy)")
    sys.exit(0)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_goldens as mg  # noqa: E402

torch.set_default_dtype(torch.float64)
TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def f32(t):
    return t.detach().numpy().astype(np.float32)


def leaf(a):
    return torch.tensor(np.asarray(a, dtype=np.float32).astype(np.float64), requires_grad=True)


M64 = (1 << 64) - 1


def dropout_mix(x):
    """SplitMix64's output function on uint64 arrays (lora.h's mask hash)."""
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def dropout_keep(seed, target, rows, cols, p):
    """(rows, cols) 0/1: kept when the top 24 bits of mix(mix(mix(seed ^ t) ^ n) ^ i) >= p * 2^24."""
    t_key = dropout_mix(np.array([seed ^ target], dtype=np.uint64))[0]
    row_keys = dropout_mix(t_key ^ np.arange(rows, dtype=np.uint64))
    h = dropout_mix(row_keys[:, None] ^ np.arange(cols, dtype=np.uint64)[None, :])
    thr = np.uint64(int(round(p * (1 << 24))))
    return ((h >> np.uint64(40)) >= thr).astype(np.float64)


def make_lora(seed, rank=4, alpha=8.0, dropout=0.0, drop_seed=0, filename="lora_grads.safetensors"):
    c = mg.config(False)
    rng = np.random.default_rng(seed)
    W = mg.random_weights(c, rng)
    shapes = dict(mg.param_shapes(c))
    AB = {}
    for l in range(c["n_layer"]):
        for t in TARGETS:
            name = f"blk.{l}.{t}.weight"
            out_f, in_f = shapes[name]
            AB[name + ".lora_a"] = leaf(0.3 * rng.standard_normal((rank, in_f)))
            AB[name + ".lora_b"] = leaf(0.3 * rng.standard_normal((out_f, rank)))
    s = alpha / rank
    B, T = 2, 8
    masks = {}
    if dropout > 0:
        for l in range(c["n_layer"]):
            for j, t in enumerate(TARGETS):
                name = f"blk.{l}.{t}.weight"
                masks[name] = dropout_keep(drop_seed, l * len(TARGETS) + j, B * T, shapes[name][1], dropout)

    def linear(name, x):
        y = x @ W[name].T
        if name + ".lora_a" in AB:
            xa = x
            if name in masks:
                xa = x * torch.tensor(masks[name].reshape(x.shape)) / (1.0 - dropout)
            y = y + s * ((xa @ AB[name + ".lora_a"].T) @ AB[name + ".lora_b"].T)
        return y

    tokens = rng.integers(0, c["n_vocab"], size=(B, T)).astype(np.int32)
    targets = rng.integers(0, c["n_vocab"], size=(B, T)).astype(np.int32)
    mask = (rng.random((B, T)) < 0.6).astype(np.float32)
    mask[0, -1] = 1.0
    logits = mg.logits_of(c, W, torch.tensor(tokens, dtype=torch.long), linear)
    ce = F.cross_entropy(logits.reshape(B * T, -1), torch.tensor(targets, dtype=torch.long).reshape(-1),
                         reduction="none")
    m = torch.tensor(mask.reshape(-1), dtype=torch.float64)
    loss = (ce * m).sum() / m.sum()
    loss.backward()
    out = [("tokens", tokens), ("targets", targets), ("mask", mask)]
    out += [("w/" + n, f32(W[n])) for n, _ in mg.param_shapes(c)]
    out += [("a/" + n, f32(v)) for n, v in AB.items()]
    out += [("g/" + n, v.grad.numpy().astype(np.float32)) for n, v in AB.items()]
    out += [("drop/" + n, m.astype(np.float32)) for n, m in masks.items()]
    meta = {"config": json.dumps(c), "loss": repr(loss.item()), "rank": str(rank), "alpha": repr(alpha),
            "generator": "tests/reference/train/lora_dpo_goldens.py"}
    if dropout > 0:
        meta["dropout"] = repr(dropout)
        meta["dropout_seed"] = str(drop_seed)
    mg.write_safetensors(os.path.join(HERE, filename), out, meta)


def make_dpo(seed, beta=0.5, pairs=2, T=8):
    c = mg.config(False)
    rng = np.random.default_rng(seed)
    W = mg.random_weights(c, rng)
    rows = 2 * pairs
    tokens = rng.integers(0, c["n_vocab"], size=(rows, T)).astype(np.int32)
    targets = np.concatenate([tokens[:, 1:], np.zeros((rows, 1), np.int32)], axis=1)
    mask = np.zeros((rows, T), np.float32)
    for r in range(rows):
        start = int(rng.integers(2, 5))  # the prompt, then the answer up to the last target
        mask[r, start - 1:T - 1] = 1.0
    logits = mg.logits_of(c, W, torch.tensor(tokens, dtype=torch.long))
    logp = -F.cross_entropy(logits.reshape(rows * T, -1), torch.tensor(targets, dtype=torch.long).reshape(-1),
                            reduction="none").reshape(rows, T)
    seq = (logp * torch.tensor(mask, dtype=torch.float64)).sum(-1)
    ref = (seq.detach() + torch.tensor(rng.standard_normal(rows) * 0.5)).numpy().astype(np.float32)
    ref_t = torch.tensor(ref.astype(np.float64))
    z = beta * ((seq[0::2] - ref_t[0::2]) - (seq[1::2] - ref_t[1::2]))
    loss = -F.logsigmoid(z).mean()
    loss.backward()
    out = [("tokens", tokens), ("targets", targets), ("mask", mask), ("ref_logp", ref)]
    out += [("w/" + n, f32(W[n])) for n, _ in mg.param_shapes(c)]
    out += [("g/" + n, W[n].grad.numpy().astype(np.float32)) for n, _ in mg.param_shapes(c)]
    meta = {"config": json.dumps(c), "loss": repr(loss.item()), "beta": repr(beta),
            "logp": json.dumps([float(v) for v in seq.detach().numpy()]),
            "generator": "tests/reference/train/lora_dpo_goldens.py"}
    mg.write_safetensors(os.path.join(HERE, "dpo_grads.safetensors"), out, meta)


if __name__ == "__main__":
    make_lora(2468)
    make_lora(2468, dropout=0.25, drop_seed=0x5EED1234ABCD, filename="lora_dropout_grads.safetensors")
    make_dpo(1357)
    print("wrote lora_grads.safetensors, lora_dropout_grads.safetensors and dpo_grads.safetensors to", HERE)
