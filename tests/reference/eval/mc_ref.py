#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Reference scoring of log-likelihood multiple choice (lm-evaluation-harness's definition) with
the float64 PyTorch forward of tests/reference/model/llama_ref.py, for
tests/eval/multiple_choice_test.cpp.

Usage: mc_ref.py MODEL.gguf IN.json OUT.json
IN.json: {"questions": [{"context": [ids], "continuations": [[ids], ...], "choice_chars": [n, ...],
"gold": i}, ...]}. Each choice runs alone on context + continuation (no cache shared between
choices); its log-likelihood is the sum of log_softmax over the continuation's tokens. acc and
acc_norm as the harness's process_results (numpy argmax of ll and of ll / len(choice)), their
standard errors as its mean_stderr (sample std, ddof 1, over sqrt(n)).
OUT.json: {"loglikelihoods": [[...]], "acc", "acc_stderr", "acc_norm", "acc_norm_stderr"}."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))

try:
    import numpy as np
    import torch
    import llama_ref
except ImportError as e:  # Debian python3-torch, python3-numpy
    print("mc_ref.py: skipped, %s" % e)
    sys.exit(77)


def stderr(values):
    v = np.asarray(values, dtype=np.float64)
    return float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) > 1 else 0.0


def main():
    meta, W = llama_ref.load(sys.argv[1])
    with open(sys.argv[2]) as f:
        questions = json.load(f)["questions"]
    lls, acc, acc_norm = [], [], []
    for q in questions:
        row = []
        for cont in q["continuations"]:
            tokens = q["context"] + cont
            logits = llama_ref.forward(meta, W, tokens[:-1])
            logp = torch.log_softmax(logits, -1)
            n = len(q["context"])
            row.append(float(sum(logp[n - 1 + i, t] for i, t in enumerate(cont))))
        lls.append(row)
        a = np.asarray(row)
        acc.append(1.0 if int(np.argmax(a)) == q["gold"] else 0.0)
        acc_norm.append(1.0 if int(np.argmax(a / np.asarray(q["choice_chars"], dtype=np.float64))) == q["gold"] else 0.0)
    out = {"loglikelihoods": lls, "acc": float(np.mean(acc)), "acc_stderr": stderr(acc),
           "acc_norm": float(np.mean(acc_norm)), "acc_norm_stderr": stderr(acc_norm)}
    with open(sys.argv[3], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
