#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent GGUF v3 reader, written from the format specification (llama.cpp docs/gguf.md),
used to cross-check Fragua's writer. Prints metadata and, per F32/F16 tensor, its shape and sum,
as JSON."""
import json
import struct
import sys

import numpy as np

SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.d, self.p)[0]
        self.p += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.take("<Q")
        s = self.d[self.p:self.p + n].decode("utf-8")
        self.p += n
        return s

    def value(self, t):
        if t in SCALARS:
            return self.take(SCALARS[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("<I"), self.take("<Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError(f"bad type {t}")


def main(path):
    data = open(path, "rb").read()
    r = Reader(data)
    assert r.take("<I") == 0x46554747, "bad magic"
    version = r.take("<I")
    n_tensors, n_kv = r.take("<Q"), r.take("<Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("<I"))
    align = meta.get("general.alignment", 32)
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("<I")
        shape = [r.take("<Q") for _ in range(nd)]
        infos.append((name, shape, r.take("<I"), r.take("<Q")))
    start = (r.p + align - 1) // align * align
    tensors = {}
    for name, shape, t, off in infos:
        n = int(np.prod(shape))
        entry = {"shape": shape, "type": t}
        if t in (0, 1):
            dt = np.float32 if t == 0 else np.float16
            arr = np.frombuffer(data, dtype=dt, count=n, offset=start + off)
            entry["sum"] = float(arr.astype(np.float64).sum())
        tensors[name] = entry
    print(json.dumps({"version": version, "metadata": meta, "tensors": tensors}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1])
