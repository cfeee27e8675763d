#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Golden dequantization data for every GGML block format Fragua reads.

Written from the format definitions (ggml-common.h block layouts, the dequantize_row_* formulas),
vectorised with numpy, independently of the C++ code. For each type it writes
  golden/<type>.bin  raw random blocks (half-precision scale fields forced finite)
  golden/<type>.f32  the expected float32 values, little-endian
plus golden/fp16_round.{f32,u16} and golden/bf16_round.{f32,u16} for the narrowing conversions.
Run: python3 tests/reference/tensor/dequant_ref.py   (deterministic, seed 1234)
"""
import os
import numpy as np

rng = np.random.default_rng(1234)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
QK_K = 256


def F(a):
    """Integers to float32 so that every product rounds as in C float arithmetic."""
    return np.asarray(a).astype(np.float32)


def f16(a):
    return np.frombuffer(np.ascontiguousarray(a).tobytes(), dtype="<f2").astype(np.float32)


def u8(raw, off, n):
    return raw[:, off:off + n]


def rand_half(nb, lo=-12, hi=2):
    """Finite float16 scales with varied exponents, subnormals and zero included."""
    v = (rng.standard_normal(nb) * 2.0 ** rng.integers(lo, hi, nb)).astype(np.float16)
    v[0] = np.float16(0.0)
    if nb > 2:
        v[1] = np.float16(3e-6)  # subnormal
    return v.view(np.uint16)


def put_half(raw, off, nb, **kw):
    raw[:, off:off + 2] = rand_half(nb, **kw).view(np.uint8).reshape(nb, 2)


def half_at(raw, off):
    return f16(raw[:, off:off + 2]).reshape(-1, 1)


def nibbles(qs):
    return (qs & 0xF).astype(np.int32), (qs >> 4).astype(np.int32)


def q4_0(raw):
    d = half_at(raw, 0)
    lo, hi = nibbles(u8(raw, 2, 16))
    return np.concatenate([F(lo - 8) * d, F(hi - 8) * d], axis=1)


def q4_1(raw):
    d, m = half_at(raw, 0), half_at(raw, 2)
    lo, hi = nibbles(u8(raw, 4, 16))
    return np.concatenate([F(lo) * d + m, F(hi) * d + m], axis=1)


def fifth_bits(qh_bytes):
    qh = qh_bytes.copy().view("<u4").astype(np.int64)  # (nb, 1)
    bits = (qh >> np.arange(32)) & 1
    return bits.astype(np.int32)  # bit j belongs to element j


def q5_0(raw):
    d = half_at(raw, 0)
    h = fifth_bits(u8(raw, 2, 4))
    lo, hi = nibbles(u8(raw, 6, 16))
    q = np.concatenate([lo, hi], axis=1) | (h << 4)
    return F(q - 16) * d


def q5_1(raw):
    d, m = half_at(raw, 0), half_at(raw, 2)
    h = fifth_bits(u8(raw, 4, 4))
    lo, hi = nibbles(u8(raw, 8, 16))
    q = np.concatenate([lo, hi], axis=1) | (h << 4)
    return F(q) * d + m


def q8_0(raw):
    return u8(raw, 2, 32).view(np.int8).astype(np.float32) * half_at(raw, 0)


def q8_1(raw):
    return u8(raw, 4, 32).view(np.int8).astype(np.float32) * half_at(raw, 0)


def q2_k(raw):
    sc = u8(raw, 0, 16).astype(np.int32)
    qs = u8(raw, 16, 64).astype(np.int32)
    d, dmin = half_at(raw, 80), half_at(raw, 82)
    out = []
    # element 128*h + 32*s + 16*p + l uses bits 2s of qs[32h + 16p + l] and scale 8h + 2s + p
    for h in range(2):
        for s in range(4):
            for p in range(2):
                j = 8 * h + 2 * s + p
                q = (qs[:, 32 * h + 16 * p: 32 * h + 16 * p + 16] >> (2 * s)) & 3
                out.append(d * F(sc[:, j:j + 1] & 0xF) * F(q) - dmin * F(sc[:, j:j + 1] >> 4))
    return np.concatenate(out, axis=1)


def q3_k(raw):
    hmask = u8(raw, 0, 32).astype(np.int32)
    qs = u8(raw, 32, 64).astype(np.int32)
    sb = u8(raw, 96, 12).astype(np.int32)
    d = half_at(raw, 108)
    scales = []
    for j in range(16):
        lo = (sb[:, j] & 0xF) if j < 8 else (sb[:, j - 8] >> 4)
        hi = (sb[:, 8 + j % 4] >> (2 * (j // 4))) & 3
        scales.append((lo | (hi << 4)) - 32)
    out = []
    for h in range(2):
        for s in range(4):
            bit = 4 * h + s  # hmask bit for this 32-element group
            for p in range(2):
                j = 8 * h + 2 * s + p
                idx = slice(16 * p, 16 * p + 16)
                q = (qs[:, 32 * h + 16 * p: 32 * h + 16 * p + 16] >> (2 * s)) & 3
                high = (hmask[:, idx] >> bit) & 1
                out.append(d * F(scales[j].reshape(-1, 1)) * F(q - 4 * (1 - high)))
    return np.concatenate(out, axis=1)


def k4_scales(sb):
    sc, mn = [], []
    for j in range(8):
        if j < 4:
            sc.append(sb[:, j] & 63)
            mn.append(sb[:, j + 4] & 63)
        else:
            sc.append((sb[:, j + 4] & 0xF) | ((sb[:, j - 4] >> 6) << 4))
            mn.append((sb[:, j + 4] >> 4) | ((sb[:, j] >> 6) << 4))
    return [s.reshape(-1, 1) for s in sc], [m.reshape(-1, 1) for m in mn]


def q4_k(raw):
    d, dmin = half_at(raw, 0), half_at(raw, 2)
    sc, mn = k4_scales(u8(raw, 4, 12).astype(np.int32))
    qs = u8(raw, 16, 128).astype(np.int32)
    out = []
    for g in range(4):  # 64 elements per 32 bytes: low nibbles then high nibbles
        lo, hi = qs[:, 32 * g: 32 * g + 32] & 0xF, qs[:, 32 * g: 32 * g + 32] >> 4
        out.append(d * F(sc[2 * g]) * F(lo) - dmin * F(mn[2 * g]))
        out.append(d * F(sc[2 * g + 1]) * F(hi) - dmin * F(mn[2 * g + 1]))
    return np.concatenate(out, axis=1)


def q5_k(raw):
    d, dmin = half_at(raw, 0), half_at(raw, 2)
    sc, mn = k4_scales(u8(raw, 4, 12).astype(np.int32))
    qh = u8(raw, 16, 32).astype(np.int32)
    qs = u8(raw, 48, 128).astype(np.int32)
    out = []
    for g in range(4):
        lo = (qs[:, 32 * g: 32 * g + 32] & 0xF) + 16 * ((qh >> (2 * g)) & 1)
        hi = (qs[:, 32 * g: 32 * g + 32] >> 4) + 16 * ((qh >> (2 * g + 1)) & 1)
        out.append(d * F(sc[2 * g]) * F(lo) - dmin * F(mn[2 * g]))
        out.append(d * F(sc[2 * g + 1]) * F(hi) - dmin * F(mn[2 * g + 1]))
    return np.concatenate(out, axis=1)


def q6_k(raw):
    ql = u8(raw, 0, 128).astype(np.int32)
    qh = u8(raw, 128, 64).astype(np.int32)
    sc = u8(raw, 192, 16).view(np.int8).astype(np.int32)
    d = half_at(raw, 208)
    y = np.zeros((raw.shape[0], QK_K), np.float32)
    for h in range(2):  # 128 elements per half: 64 ql bytes, 32 qh bytes, 8 scales
        L, H, S = ql[:, 64 * h: 64 * h + 64], qh[:, 32 * h: 32 * h + 32], sc[:, 8 * h: 8 * h + 8]
        for r in range(4):  # rows of 32: low/high nibble of ql[0:32] / ql[32:64], qh bits 2r
            nib = (L[:, 32 * (r % 2): 32 * (r % 2) + 32] >> (4 * (r // 2))) & 0xF
            q = (nib | (((H >> (2 * r)) & 3) << 4)) - 32
            for l in range(32):
                y[:, 128 * h + 32 * r + l] = d[:, 0] * F(S[:, l // 16 + 2 * r]) * F(q[:, l])
    return y


def q8_k(raw):
    d = raw[:, 0:4].copy().view("<f4")
    return raw[:, 4:260].view(np.int8).astype(np.float32) * d


# name: (block elements, block bytes, decoder, [(offset of a half scale)], number of blocks)
FORMATS = {
    "q4_0": (32, 18, q4_0, [0], 8),
    "q4_1": (32, 20, q4_1, [0, 2], 8),
    "q5_0": (32, 22, q5_0, [0], 8),
    "q5_1": (32, 24, q5_1, [0, 2], 8),
    "q8_0": (32, 34, q8_0, [0], 8),
    "q8_1": (32, 36, q8_1, [0, 2], 8),
    "q2_k": (256, 84, q2_k, [80, 82], 3),
    "q3_k": (256, 110, q3_k, [108], 3),
    "q4_k": (256, 144, q4_k, [0, 2], 3),
    "q5_k": (256, 176, q5_k, [0, 2], 3),
    "q6_k": (256, 210, q6_k, [208], 3),
    "q8_k": (256, 292, q8_k, [], 3),
}


def bf16_round(x):
    u = x.view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF
    return np.where(nan, (u >> 16) | 64, r).astype(np.uint16)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (qk, size, fn, halves, nb) in FORMATS.items():
        raw = rng.integers(0, 256, (nb, size), dtype=np.uint8)
        for off in halves:
            put_half(raw, off, nb)
        if name == "q8_k":
            raw[:, 0:4] = (rng.standard_normal(nb).astype(np.float32) * 0.01).view(np.uint8).reshape(nb, 4)
        y = fn(raw).astype(np.float32).reshape(-1)
        assert y.size == nb * qk, name
        raw.tofile(os.path.join(OUT, name + ".bin"))
        y.astype("<f4").tofile(os.path.join(OUT, name + ".f32"))
    # f16 / bf16 element types: every bit pattern class (normals, subnormals, inf, NaN).
    h = rng.integers(0, 1 << 16, 512, dtype=np.uint16)
    h[:6] = [0x0000, 0x8000, 0x0001, 0x7C00, 0xFC00, 0x7E00]
    h.tofile(os.path.join(OUT, "f16.bin"))
    h.view(np.float16).astype(np.float32).astype("<f4").tofile(os.path.join(OUT, "f16.f32"))
    b = rng.integers(0, 1 << 16, 512, dtype=np.uint16)
    b.tofile(os.path.join(OUT, "bf16.bin"))
    (b.astype(np.uint32) << 16).view(np.float32).astype("<f4").tofile(os.path.join(OUT, "bf16.f32"))
    # Narrowing: random floats over a wide exponent range plus halfway and overflow cases.
    x = (rng.standard_normal(1024) * 2.0 ** rng.integers(-30, 20, 1024)).astype(np.float32)
    x[:8] = [65504.0, 65519.99, 65520.0, 1e9, -0.0, 2.0 ** -25, 2.0 ** -24 * 1.5, 1.0 + 2.0 ** -11]
    x.astype("<f4").tofile(os.path.join(OUT, "round_in.f32"))
    with np.errstate(over="ignore"):
        x.astype(np.float16).view(np.uint16).astype("<u2").tofile(os.path.join(OUT, "fp16_round.u16"))
    bf16_round(x).astype("<u2").tofile(os.path.join(OUT, "bf16_round.u16"))


if __name__ == "__main__":
    main()
