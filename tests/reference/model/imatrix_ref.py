#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference importance matrix (llama.cpp's tools/imatrix semantics) from the float64 PyTorch
forward of llama_ref.py, for tests/model/imatrix_test.cpp.

Usage: imatrix_ref.py MODEL.gguf TOKENS_CSV N_CTX BOS_ID OUT.dat [--process-output]
TOKENS_CSV is the whole tokenized text; it is cut into len // N_CTX chunks of N_CTX tokens, the
first token of each replaced by BOS_ID when BOS_ID >= 0 (llama.cpp's compute_imatrix), and each
chunk runs alone (empty cache). For every weight matrix a matmul reads, the sum over token rows
of x_j^2 of its input: attn_q/k/v read the attention norm, attn_output the attention output,
ffn_gate/up the FFN norm, ffn_down silu(gate) * up, output.weight (with --process-output, when
untied) the output norm. Writes llama.cpp's legacy imatrix.dat (save_imatrix_legacy: names in
order, ncall = ceil(count / N_CTX), values sum / count * ncall, then the chunk count and a
dataset name), and OUT.dat.ppl: the perplexity over the second half of each chunk."""
import math
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import torch
    import llama_ref
except ImportError as e:  # Debian python3-torch, python3-numpy
    print("imatrix_ref.py: skipped, %s" % e)
    sys.exit(77)

READERS = {"attn_norm": ["attn_q", "attn_k", "attn_v"], "kqv_out": ["attn_output"],
           "ffn_norm": ["ffn_gate", "ffn_up"], "ffn_swiglu": ["ffn_down"]}


def main():
    path, tokens, n_ctx, bos, out = sys.argv[1:6]
    process_output = "--process-output" in sys.argv[6:]
    tokens = [int(t) for t in tokens.split(",")]
    n_ctx, bos = int(n_ctx), int(bos)
    meta, W = llama_ref.load(path)
    sums, counts = {}, {}

    def observe(step, layer, rows):
        if step == "result_norm":
            names = ["output.weight"] if process_output and "output.weight" in W else []
        else:
            names = ["blk.%d.%s.weight" % (layer, t) for t in READERS.get(step, [])]
        sq = (rows * rows).sum(0)
        for n in names:
            sums[n] = sums.get(n, 0) + sq
            counts[n] = counts.get(n, 0) + rows.shape[0]

    n_chunks = len(tokens) // n_ctx
    nll, count = 0.0, 0
    for c in range(n_chunks):
        chunk = tokens[c * n_ctx:(c + 1) * n_ctx]
        target = list(chunk)
        if bos >= 0:
            chunk[0] = bos
        logits = llama_ref.forward(meta, W, chunk, observe)
        logp = torch.log_softmax(logits, -1)
        for t in range(n_ctx // 2, n_ctx - 1):
            nll -= float(logp[t, target[t + 1]])
            count += 1
    with open(out, "wb") as f:
        f.write(struct.pack("<i", len(sums)))
        for name in sorted(sums):
            ncall = (counts[name] + n_ctx - 1) // n_ctx
            vals = (sums[name] / counts[name] * ncall).tolist()
            f.write(struct.pack("<i", len(name)) + name.encode())
            f.write(struct.pack("<ii", ncall, len(vals)))
            f.write(struct.pack("<%df" % len(vals), *vals))
        f.write(struct.pack("<ii", n_chunks, 9) + b"reference")
    with open(out + ".ppl", "w") as f:
        f.write("%.12g\n" % math.exp(nll / count))


if __name__ == "__main__":
    main()
