#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden quantized rows from llama.cpp's own quantizer, for the byte-exact quantizer tests.

Runs llama.cpp's llama-quantize (built by bench/llama_cpp_setup.sh from the source that
node-llama-cpp@3.21.1 ships) with --pure on an F16 Llama GGUF (bench/engine.py's random model
llama-110M-F16.gguf by default), and cuts the first ROWS rows of one weight matrix out of the
input and of each output:
  golden/llama_quant_in.f32       the input rows as float32 (exactly the F16 values)
  golden/llama_quant_<type>.bin   the same rows as llama.cpp quantized them
With an importance matrix (llama-quantize --imatrix, a legacy imatrix.dat written here with
deterministic values for that one tensor, ncall 1, so llama.cpp reads them unchanged):
  golden/llama_quant_imatrix.f32          the importance of each input column
  golden/llama_quant_<type>_imatrix.bin   the rows quantized with it (ggml's quantize_row_*_impl)
And rows of output.weight on which float rounding order matters: ggml-quants.c sums w*l*l as
(w*l)*l; w*(l*l) picks other levels on these rows for q4_k, q5_k and q6_k:
  golden/llama_quant_ties_in.f32, golden/llama_quant_ties_<type>.bin   (k-quants only)
Tests never run llama.cpp; this script is run by hand and its outputs are committed.
Usage: tests/reference/tensor/llama_quantize_ref.py [F16.gguf]   (stdlib only)
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "golden")
CACHE = os.environ.get("FRAGUA_BENCH_CACHE", os.path.expanduser("~/.cache/fragua-bench"))
TENSOR = "blk.0.ffn_down.weight"
ROWS = 8
TIES_TENSOR = "output.weight"
TIES_ROWS = [38, 66, 221, 255, 473, 639, 746, 1281]
# llama-quantize type name -> (ggml type id, block elements, block bytes, our file name)
TYPES = {
    "Q8_0": (8, 32, 34, "q8_0"), "Q4_0": (2, 32, 18, "q4_0"), "Q4_1": (3, 32, 20, "q4_1"),
    "Q5_0": (6, 32, 22, "q5_0"), "Q5_1": (7, 32, 24, "q5_1"), "Q2_K": (10, 256, 84, "q2_k"),
    "Q3_K_M": (11, 256, 110, "q3_k"), "Q4_K_M": (12, 256, 144, "q4_k"), "Q5_K_M": (13, 256, 176, "q5_k"),
    "Q6_K": (14, 256, 210, "q6_k"),
}
SCALAR = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


def read_tensor_table(path):
    """(data offset, {name: (dims, type, offset)}) of a GGUF v3 file, from its header alone."""
    with open(path, "rb") as f:
        buf = f.read(64 << 20)
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("Q")
        s = buf[pos:pos + n].decode()
        pos += n
        return s

    def skip_value(t):
        nonlocal pos
        if t == 8:
            string()
        elif t == 9:
            et, n = take("I"), take("Q")
            for _ in range(n):
                skip_value(et)
        else:
            pos += SCALAR[t]

    assert buf[:4] == b"GGUF", path
    pos = 4
    _, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    alignment = 32
    for _ in range(n_kv):
        key, t = string(), take("I")
        if key == "general.alignment":
            alignment = take("I")
        else:
            skip_value(t)
    table = {}
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        table[name] = (dims, take("I"), take("Q"))
    return (pos + alignment - 1) // alignment * alignment, table


def rows_bytes(path, row_bytes, tensor=TENSOR, rows=range(ROWS)):
    data, table = read_tensor_table(path)
    _, _, off = table[tensor]
    out = b""
    with open(path, "rb") as f:
        for r in rows:
            f.seek(data + off + r * row_bytes)
            out += f.read(row_bytes)
    return out


def importance(n):
    """Deterministic positive weights spanning four decades, one column in 16 marked heavy."""
    return [(1 + (j * 2654435761) % 997) / 100.0 * (50.0 if j % 16 == 3 else 1.0) for j in range(n)]


def write_imatrix_dat(path, name, values):
    """llama.cpp's legacy imatrix.dat with one entry (ncall 1: the loader divides by it)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<i", 1))
        f.write(struct.pack("<i", len(name)) + name.encode())
        f.write(struct.pack("<ii", 1, len(values)))
        f.write(struct.pack("<%df" % len(values), *values))


def half_to_float(b):
    return struct.pack("<%df" % (len(b) // 2), *struct.unpack("<%de" % (len(b) // 2), b))


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(CACHE, "models", "llama-110M-F16.gguf")
    quantize = os.path.join(CACHE, "llama.cpp", "build", "bin", "llama-quantize")
    data, table = read_tensor_table(src)
    dims, ttype, _ = table[TENSOR]
    tdims, tties, _ = table[TIES_TENSOR]
    assert ttype == 1 and tties == 1, "the input tensors must be F16"
    with open(os.path.join(OUT, "llama_quant_in.f32"), "wb") as f:
        f.write(half_to_float(rows_bytes(src, dims[0] * 2)))
    with open(os.path.join(OUT, "llama_quant_ties_in.f32"), "wb") as f:
        f.write(half_to_float(rows_bytes(src, tdims[0] * 2, TIES_TENSOR, TIES_ROWS)))
    imp = importance(dims[0])
    with open(os.path.join(OUT, "llama_quant_imatrix.f32"), "wb") as f:
        f.write(struct.pack("<%df" % len(imp), *imp))
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, "imatrix.dat")
        write_imatrix_dat(dat, TENSOR, imp)
        for name, (tid, blk, size, ours) in TYPES.items():
            runs = [("", [], TENSOR, range(ROWS), dims)]
            if name != "Q8_0":  # ggml's quantize_q8_0 ignores the importance
                runs.append(("_imatrix", ["--imatrix", dat], TENSOR, range(ROWS), dims))
            if blk == 256:
                runs.append(("ties", [], TIES_TENSOR, TIES_ROWS, tdims))
            for suffix, extra, tensor, rows, tdim in runs:
                dst = os.path.join(tmp, name + suffix + ".gguf")
                subprocess.run([quantize, "--pure"] + extra + [src, dst, name, "2"], check=True, capture_output=True)
                _, t2 = read_tensor_table(dst)
                assert t2[tensor][1] == tid, (name, t2[tensor][1])
                got = rows_bytes(dst, tdim[0] // blk * size, tensor, rows)
                out = "llama_quant_ties_%s.bin" % ours if suffix == "ties" else "llama_quant_%s%s.bin" % (ours, suffix)
                with open(os.path.join(OUT, out), "wb") as f:
                    f.write(got)
                print("%-7s %s: %d bytes" % (name, out, len(got)))


if __name__ == "__main__":
    main()
