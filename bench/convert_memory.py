#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Peak memory of `fragua convert` against the model's size: BF16 Llama checkpoints of growing
depth (same width and vocabulary, hence the same largest tensor) written as Hugging Face
directories (config.json, two safetensors shards with model.safetensors.index.json, the byte-level
tokenizer.json of tests/reference/model/hf/granite_tied), converted to f16. A converter that
streams tensor by tensor peaks near the largest tensor whatever the depth; memory that grows with
the number of layers is kept per tensor.

Prints per depth: tensors, input and output bytes, the largest tensor, peak RSS (wait4's
ru_maxrss, which counts the file-backed pages of the mapped input too) and peak anonymous RSS
(RssAnon of /proc/PID/status sampled every 2 ms: heap and buffers, not the mapping).
Usage: bench/convert_memory.py [--layers 2,8,24] [--width 1024] [--ff 2048] [--vocab 32000]
  env FRAGUA (default build/release/fragua, else build/asan/fragua; under ASan the shadow memory
  of every buffer stays resident, so its figures grow with the model: measure the release build).
Standard library only; the weights are a repeated pattern of finite BF16 values (what they are
does not change what the converter keeps in memory).
"""
import argparse
import json
import math
import os
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import fragua_bench  # noqa: E402  (bench/ is the script's directory, first on sys.path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(ROOT, "tests", "reference", "model", "hf", "granite_tied", "tokenizer.json")
# 64 BF16 values (the top halves of f32 values in [-0.5, 0.5)), repeated.
PATTERN = b"".join(struct.pack("<f", (i * 37 % 64 - 32) / 64.0)[2:] for i in range(64))


def fragua_bin():
    return fragua_bench.fragua_bin("convert_memory.py")


def shapes(layers, width, ff, vocab):
    n_kv = width // 4  # GQA: 4 query heads per KV head
    out = [("model.embed_tokens.weight", (vocab, width))]
    for l in range(layers):
        p = "model.layers.%d." % l
        out += [(p + "input_layernorm.weight", (width,)), (p + "self_attn.q_proj.weight", (width, width)),
                (p + "self_attn.k_proj.weight", (n_kv, width)), (p + "self_attn.v_proj.weight", (n_kv, width)),
                (p + "self_attn.o_proj.weight", (width, width)), (p + "post_attention_layernorm.weight", (width,)),
                (p + "mlp.gate_proj.weight", (ff, width)), (p + "mlp.up_proj.weight", (ff, width)),
                (p + "mlp.down_proj.weight", (width, ff))]
    return out + [("model.norm.weight", (width,)), ("lm_head.weight", (vocab, width))]


def write_shard(path, tensors):
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        n = 2
        for d in shape:
            n *= d
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for name, shape in tensors:
            n = header[name]["data_offsets"][1] - header[name]["data_offsets"][0]
            f.write(PATTERN * (n // len(PATTERN)) + PATTERN[:n % len(PATTERN)])
    return off


def write_checkpoint(d, layers, width, ff, vocab):
    os.makedirs(d)
    cfg = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab, "hidden_size": width,
        "intermediate_size": ff, "num_hidden_layers": layers, "num_attention_heads": width // 64,
        "num_key_value_heads": width // 256, "max_position_embeddings": 2048, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "tie_word_embeddings": False, "hidden_act": "silu", "torch_dtype": "bfloat16",
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    shutil.copy(TOKENIZER, os.path.join(d, "tokenizer.json"))
    all_t = shapes(layers, width, ff, vocab)
    first = [t for t in all_t if t[0] == "model.embed_tokens.weight" or t[0].startswith("model.layers.0.")]
    rest = [t for t in all_t if t not in first]
    weight_map, total = {}, 0
    for i, part in enumerate((first, rest)):
        name = "model-%05d-of-00002.safetensors" % (i + 1)
        total += write_shard(os.path.join(d, name), part)
        weight_map.update({t[0]: name for t in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f)
    sizes = [2 * math.prod(s) for _, s in all_t]
    return len(all_t), total, max(sizes)


def rss_anon_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def convert(hf_dir, out):
    p = subprocess.Popen([fragua_bin(), "convert", hf_dir, "-o", out, "--outtype", "f16"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_anon = 0
    while p.poll() is None:
        peak_anon = max(peak_anon, rss_anon_kb(p.pid))
        time.sleep(0.002)
    return p.returncode, p.stderr.read().decode(errors="replace"), peak_anon


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", default="2,8,24")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--ff", type=int, default=2048)
    ap.add_argument("--vocab", type=int, default=32000)
    a = ap.parse_args()
    print("fragua %s, width %d, ff %d, vocab %d, BF16 -> f16\n" % (fragua_bin(), a.width, a.ff, a.vocab))
    print("| layers | tensors | input MB | output MB | largest tensor MB | peak RSS MB | peak anonymous RSS MB |")
    print("|---|---|---|---|---|---|---|")
    for layers in (int(x) for x in a.layers.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "hf")
            n, total, largest = write_checkpoint(d, layers, a.width, a.ff, a.vocab)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            out = os.path.join(tmp, "out.gguf")
            rc, err, anon = convert(d, out)
            if rc != 0:
                sys.exit("convert failed (%d): %s" % (rc, err[-2000:]))
            maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            # ru_maxrss of RUSAGE_CHILDREN is the largest child so far: grow the depths upwards.
            print("| %d | %d | %.1f | %.1f | %.1f | %s | %.1f |" % (
                layers, n, total / 1e6, os.path.getsize(out) / 1e6, largest / 1e6,
                "%.1f" % (maxrss / 1024) if maxrss > before else "<= previous", anon / 1024), flush=True)


if __name__ == "__main__":
    main()
