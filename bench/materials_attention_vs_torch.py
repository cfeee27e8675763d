#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Training speed of Fragua's attention materials model against the same network in PyTorch.

The network (element transformer: d_model 64, 3 pre-norm encoder blocks with 4 heads and a
SwiGLU MLP, fraction-weighted pooling, a 64-wide MLP head with two outputs: L1 on the non-zero
gaps, BCE for gap = 0) is written here in PyTorch, float32, trained with torch.optim.AdamW on
batches of 64 compositions padded to their longest, with the same number of element tokens per
composition as the data set (read through `fragua materials parse`). Inputs on the PyTorch side
are random with the right shapes: only time is compared here; the accuracy of the model is
measured by `fragua materials cv --model attention` (docs/benchmarks/materials.md).

Fragua: `fragua materials train --model attention --models 1` (one member trains on one thread);
its seconds per epoch come from the timestamps of its metrics file (startup excluded).
PyTorch: torch.set_num_threads(1) for the single-thread row; the two-core row compares Fragua
training 2 members on 2 threads (its way of using cores: members in parallel) with PyTorch
training 2 members one after the other on 2 threads (intra-op parallelism).

Runs interleave (Fragua, PyTorch, Fragua, ...) and report medians; ratio = PyTorch time / Fragua
time (> 1: Fragua is faster).
Run: bench/materials_attention_vs_torch.py [--epochs 6] [--reps 3]
"""
import argparse
import csv
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

# bench/tokenize.py would shadow the standard library's tokenize module that torch imports.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ElementTransformer(torch.nn.Module):
    def __init__(self, n_elements, n_input, d=64, layers=3, heads=4, ff=192, hidden=64, n_out=2):
        super().__init__()
        self.heads = heads
        self.embd = torch.nn.Embedding(n_elements, d)
        self.inp = torch.nn.Linear(n_input, d, bias=False)
        self.blocks = torch.nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(torch.nn.ModuleDict(dict(
                n1=torch.nn.RMSNorm(d, eps=1e-5) if hasattr(torch.nn, "RMSNorm") else RMS(d),
                q=torch.nn.Linear(d, d, bias=False), k=torch.nn.Linear(d, d, bias=False),
                v=torch.nn.Linear(d, d, bias=False), o=torch.nn.Linear(d, d, bias=False),
                n2=torch.nn.RMSNorm(d, eps=1e-5) if hasattr(torch.nn, "RMSNorm") else RMS(d),
                gate=torch.nn.Linear(d, ff, bias=False), up=torch.nn.Linear(d, ff, bias=False),
                down=torch.nn.Linear(ff, d, bias=False))))
        self.nf = torch.nn.RMSNorm(d, eps=1e-5) if hasattr(torch.nn, "RMSNorm") else RMS(d)
        self.h1 = torch.nn.Linear(d, hidden)
        self.h2 = torch.nn.Linear(hidden, n_out)

    def forward(self, ids, u, frac, valid):
        B, T = ids.shape
        x = self.embd(ids) + self.inp(u)
        mask = ~valid[:, None, None, :]
        for b in self.blocks:
            h = b["n1"](x)
            q, k, v = (t.view(B, T, self.heads, -1).transpose(1, 2) for t in (b["q"](h), b["k"](h), b["v"](h)))
            s = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
            a = torch.softmax(s.masked_fill(mask, float("-inf")), -1) @ v
            x = x + b["o"](a.transpose(1, 2).reshape(B, T, -1) * valid[:, :, None])
            h = b["n2"](x)
            x = x + b["down"](F.silu(b["gate"](h)) * b["up"](h))
        pooled = (self.nf(x) * frac[:, :, None]).sum(1)
        return self.h2(F.silu(self.h1(pooled)))


class RMS(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-5) * self.w


def token_counts(fragua, data):
    with open(data) as f:
        rows = list(csv.DictReader(f))
    formulas = [r.get("composition") or r.get("formula") for r in rows]
    out = subprocess.run([fragua, "-q", "materials", "parse"] + formulas, check=True, capture_output=True,
                         text=True).stdout
    counts = []
    for line in out.splitlines():
        fields = line.split("\t")[1].split()
        counts.append(sum(1 for f in fields if "=" in f and not f.startswith(("reduced=", "hhi_"))))
    return counts, [float(r["gap_expt_eV"]) for r in rows]


def torch_epochs(counts, gaps, epochs, threads, members, n_input=45):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    n = len(counts)
    T = max(counts)
    ids = torch.randint(0, 103, (n, T))
    u = torch.randn(n, T, n_input)
    lens = torch.tensor(counts)
    valid = torch.arange(T)[None, :] < lens[:, None]
    frac = valid.float() / lens[:, None].float()
    y = torch.tensor(gaps, dtype=torch.float32)
    zero = (y == 0).float()
    t0 = time.perf_counter()
    for _ in range(members):
        model = ElementTransformer(103, n_input)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4)
        for _ in range(epochs):
            perm = torch.randperm(n)
            for s in range(0, n, 64):
                idx = perm[s:s + 64]
                t = int(lens[idx].max())
                out = model(ids[idx, :t], u[idx, :t], frac[idx, :t], valid[idx, :t])
                nz = zero[idx] == 0
                loss = (F.l1_loss(out[:, 0], torch.log1p(y[idx]), reduction="none") * nz).sum() / len(idx)
                loss = loss + F.binary_cross_entropy_with_logits(out[:, 1], zero[idx])
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
    return (time.perf_counter() - t0) / (epochs * members)


def fragua_epochs(fragua, data, epochs, threads, members, tmp):
    metrics = os.path.join(tmp, "m.jsonl")
    if os.path.exists(metrics):
        os.remove(metrics)
    subprocess.run([fragua, "-q", "materials", "train", "--model", "attention", "--data", data, "--out",
                    os.path.join(tmp, "m.att"), "--models", str(members), "--epochs", str(epochs), "-t", str(threads),
                    "--metrics", metrics], check=True, capture_output=True)
    times = {}
    with open(metrics) as f:
        for line in f:
            r = json.loads(line)
            times.setdefault(r["member"], []).append(r["time"])
    # Seconds per member-epoch: (last - first) over (epochs - 1) epochs, all members together.
    first = min(v[0] for v in times.values())
    last = max(v[-1] for v in times.values())
    return (last - first) / ((epochs - 1) * members)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data", "materials",
                                                   "matbench_expt_gap_train80.csv"))
    ap.add_argument("--fragua", default=os.path.join(ROOT, "build", "release", "fragua"))
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    counts, gaps = token_counts(a.fragua, a.data)
    tmp = tempfile.mkdtemp(prefix="fragua-att-bench-")
    print("%d compositions, %d element tokens, up to %d per composition; %d epochs per run, %d reps"
          % (len(counts), sum(counts), max(counts), a.epochs, a.reps))
    for threads, members in ((1, 1), (2, 2)):
        fr, pt = [], []
        for _ in range(a.reps):
            fr.append(fragua_epochs(a.fragua, a.data, a.epochs, threads, members, tmp))
            pt.append(torch_epochs(counts, gaps, a.epochs, threads, members))
        f, p = statistics.median(fr), statistics.median(pt)
        print("%d thread(s), %d member(s): fragua %.3f s/epoch, pytorch %s %.3f s/epoch, ratio pytorch/fragua %.2f"
              % (threads, members, f, torch.__version__, p, p / f))


if __name__ == "__main__":
    main()
