// SPDX-License-Identifier: Apache-2.0
// K-quants (Q2_K to Q6_K) packed in 16-row panels: the packing, the activation sums the
// packed kernels read, and the scalar definition that the AVX2 and AVX-512 kernels
// (simd/gemm_kpanels.inl) reproduce bit for bit. Geometry: KPanel in kernels.h.
#include <cmath>
#include <cstring>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"
#include "fragua/tensor/dtype.h"
#include "fragua/tensor/half.h"

namespace fragua::cpu {
namespace {

using namespace fragua::tensor;

// A field of a block: its offset and length in the file's block and its offset in the panel
// block; halves are 2-byte f16 scales stored as 16 consecutive values.
struct Field {
  int src, len, dst;
};

struct KLayout {
  int block;  // bytes of one row's super-block in the file
  KPanel panel;
  Field quads[3];  // interleaved 4 bytes at a time (len 0: unused)
  Field halves[2];
};

const KLayout* layout_of(DType t) {
  static const KLayout q4{144, kpanel_q4_k, {{16, 128, 0}, {4, 12, 2048}, {0, 0, 0}}, {{0, 2, 2240}, {2, 2, 2272}}};
  static const KLayout q5{
      176, kpanel_q5_k, {{48, 128, 0}, {16, 32, 2048}, {4, 12, 2560}}, {{0, 2, 2752}, {2, 2, 2784}}};
  static const KLayout q6{
      210, kpanel_q6_k, {{0, 128, 0}, {128, 64, 2048}, {192, 16, 3072}}, {{208, 2, 3328}, {0, 0, 0}}};
  static const KLayout q2{84, kpanel_q2_k, {{16, 64, 0}, {0, 16, 1024}, {0, 0, 0}}, {{80, 2, 1280}, {82, 2, 1312}}};
  static const KLayout q3{110, kpanel_q3_k, {{32, 64, 0}, {0, 32, 1024}, {96, 12, 1536}}, {{108, 2, 1728}, {0, 0, 0}}};
  switch (t) {
    case DType::q2_k:
      return &q2;
    case DType::q3_k:
      return &q3;
    case DType::q4_k:
      return &q4;
    case DType::q5_k:
      return &q5;
    case DType::q6_k:
      return &q6;
    default:
      return nullptr;
  }
}

// Byte `i` of row r's field f (interleaved 4 at a time) of a panel block.
inline uint8_t quad(const PanelBlock<const uint8_t>& pb, PanelField f, int r, int i) {
  return pb.at(f)[64 * (i / 4) + 4 * r + i % 4];
}

inline float half_at(const PanelBlock<const uint8_t>& pb, PanelField f, int r) {
  uint16_t h;
  std::memcpy(&h, pb.at(f) + 2 * r, 2);
  return fp16_to_fp32(h);
}

}  // namespace

bool kpanel_type(DType t) { return layout_of(t) != nullptr; }

void pack_kpanels(DType t, const void* src, int64_t m, int64_t k, void* dst) {
  const KLayout* lay = layout_of(t);
  const KPanel& P = lay->panel;
  const int64_t nsb = k / qk_k;
  const size_t ws = static_cast<size_t>(nsb) * static_cast<size_t>(lay->block);
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t p = 0; p < m / 16; ++p)
    for (int64_t b = 0; b < nsb; ++b) {
      const PanelBlock<uint8_t> pb = panel_block(out + static_cast<size_t>(p) * 16 * ws, b, nsb, P.bytes, P.paired());
      for (int r = 0; r < 16; ++r) {
        const uint8_t* row = in + static_cast<size_t>(16 * p + r) * ws + static_cast<size_t>(b * lay->block);
        for (const Field& f : lay->quads) {
          uint8_t* field = pb.at({f.dst, 16 * f.len});  // the 16 rows' bytes of the field
          for (int u = 0; u < f.len / 4; ++u) std::memcpy(field + 64 * u + 4 * r, row + f.src + 4 * u, 4);
        }
        for (const Field& f : lay->halves)
          if (f.len != 0) std::memcpy(pb.at({f.dst, 16 * f.len}) + 2 * r, row + f.src, 2);
      }
    }
}

namespace {
// s = 64 * hi + lo with hi = floor(s / 64) and lo in [0, 63] (both int8 for |s| <= 4096).
void split64(int s, int8_t& hi, int8_t& lo) {
  const int h = s >= 0 ? s / 64 : -((-s + 63) / 64);
  hi = static_cast<int8_t>(h);
  lo = static_cast<int8_t>(s - 64 * h);
}
}  // namespace

void k_act_sums(const uint8_t* q8k, int64_t nsb, KSums* out) {
  const auto* xb = reinterpret_cast<const BlockQ8_K*>(q8k);
  for (int64_t b = 0; b < nsb; ++b) {
    for (int j = 0; j < 8; ++j)  // quants in [-128, 127]: -4096 <= s <= 4064
      split64(xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1], out[b].m[j], out[b].m[8 + j]);
    for (int j = 0; j < 16; ++j) {  // -2048 <= s <= 2032
      split64(xb[b].bsums[j], out[b].m16[j], out[b].m16[16 + j]);
      out[b].off6[j] = -32 * xb[b].bsums[j];
    }
  }
}

// The arithmetic the SIMD kernels reproduce, per row and activation row, super-block by
// super-block (sub-block sums are exact integers):
//   Q4_K/Q5_K: isum = sum_j sc_j * dot_j (32-element sub-blocks, quants 0..15 or 0..31),
//              msum = sum_j m_j * (bsums[2j] + bsums[2j+1]),
//              acc = fma(float(isum), d * dx, acc), then acc = fma(-float(msum), dmin * dx, acc);
//   Q6_K:      isum = sum_j sc_j * (dot_j - 32 * bsums[j]) (16-element sub-blocks, quants 0..63),
//              acc = fma(float(isum), d * dx, acc);
//   Q3_K:      isum = sum_j sc_j * (dot_j - 4 * bsums[j]) (16-element sub-blocks, quants 0..7 with
//              the hmask bit as +4, scales -32..31), acc = fma(float(isum), d * dx, acc);
//   Q2_K:      isum = sum_j sc_j * dot_j, msum = sum_j m_j * bsums[j] (16-element sub-blocks,
//              quants 0..3, 4-bit scales and minima), then the two fmas of Q4_K.
// Q2_K and Q3_K so give the bits of dot_q2_k and dot_q3_k (their row layout).
template <DType T>
void gemm_kpanels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                         size_t ys) {
  const KLayout& lay = *layout_of(T);
  const KPanel& P = lay.panel;
  const int64_t nsb = k / qk_k;
  for (int p = 0; p < nr / 16; ++p)
    for (int c = 0; c < nc; ++c) {
      const auto* xb = reinterpret_cast<const BlockQ8_K*>(x + static_cast<size_t>(c) * xs);
      for (int r = 0; r < 16; ++r) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nsb; ++b) {
          const PanelBlock<const uint8_t> blk =
              panel_block(w + static_cast<size_t>(p) * 16 * ws, b, nsb, P.bytes, P.paired());
          const int8_t* xq = xb[b].qs;
          int32_t isum = 0;
          if constexpr (T == DType::q2_k || T == DType::q3_k) {
            // Element e = 128h + 32s + l: bit pair s of qs byte 32h + l; Q3_K's third bit is bit
            // 4h + s of hmask byte l.
            int8_t sc3[16];
            if constexpr (T == DType::q3_k) {
              uint8_t packed[12];
              for (int i = 0; i < 12; ++i) packed[i] = quad(blk, P.scales_field(), r, i);
              q3_k_scales(packed, sc3);
            }
            int32_t msum = 0;
            for (int j = 0; j < 16; ++j) {
              const int h = j / 8, sh = (j % 8) / 2;
              int32_t s = T == DType::q3_k ? -4 * xb[b].bsums[j] : 0;
              for (int e = 16 * j; e < 16 * j + 16; ++e) {
                const int l = e % 32;
                int v = (quad(blk, P.qs_field(), r, 32 * h + l) >> (2 * sh)) & 3;
                if constexpr (T == DType::q3_k) v |= ((quad(blk, P.qh_field(), r, l) >> (4 * h + sh)) & 1) << 2;
                s += v * xq[e];
              }
              if constexpr (T == DType::q3_k) {
                isum += sc3[j] * s;
              } else {
                const uint8_t scm = quad(blk, P.scales_field(), r, j);
                isum += (scm & 15) * s;
                msum += (scm >> 4) * xb[b].bsums[j];
              }
            }
            acc = std::fma(static_cast<float>(isum), half_at(blk, P.d_field(), r) * xb[b].d, acc);
            if constexpr (T == DType::q2_k)
              acc = std::fma(-static_cast<float>(msum), half_at(blk, P.dmin_field(), r) * xb[b].d, acc);
            continue;
          }
          if constexpr (T == DType::q6_k) {
            for (int j = 0; j < 16; ++j) {
              int32_t s = -32 * xb[b].bsums[j];
              for (int e = 16 * j; e < 16 * j + 16; ++e) {
                const int h = e / 128, q = (e % 128) / 32, l = e % 32;
                const uint8_t lb = quad(blk, P.qs_field(), r, 64 * h + 32 * (q % 2) + l);
                const int nib = q < 2 ? lb & 15 : lb >> 4;
                const int hb = (quad(blk, P.qh_field(), r, 32 * h + l) >> (2 * q)) & 3;
                s += (nib | hb << 4) * xq[e];
              }
              isum += static_cast<int8_t>(quad(blk, P.scales_field(), r, j)) * s;
            }
          } else {
            uint8_t sc_m[12];
            for (int i = 0; i < 12; ++i) sc_m[i] = quad(blk, P.scales_field(), r, i);
            int32_t msum = 0;
            for (int j = 0; j < 8; ++j) {
              uint8_t sc, mn;
              k4_scale_min(j, sc_m, sc, mn);
              int32_t s = 0;
              for (int l = 0; l < 32; ++l) {
                const uint8_t qb = quad(blk, P.qs_field(), r, 32 * (j / 2) + l);
                int v = j % 2 == 0 ? qb & 15 : qb >> 4;
                if constexpr (T == DType::q5_k) v |= ((quad(blk, P.qh_field(), r, l) >> j) & 1) << 4;
                s += v * xq[32 * j + l];
              }
              isum += sc * s;
              msum += mn * (xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1]);
            }
            acc = std::fma(static_cast<float>(isum), half_at(blk, P.d_field(), r) * xb[b].d, acc);
            acc = std::fma(-static_cast<float>(msum), half_at(blk, P.dmin_field(), r) * xb[b].d, acc);
            continue;
          }
          acc = std::fma(static_cast<float>(isum), half_at(blk, P.d_field(), r) * xb[b].d, acc);
        }
        y[static_cast<size_t>(c) * ys + static_cast<size_t>(16 * p + r)] = acc;
      }
    }
}

template void gemm_kpanels_scalar<DType::q2_k>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int,
                                               float*, size_t);
template void gemm_kpanels_scalar<DType::q3_k>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int,
                                               float*, size_t);
template void gemm_kpanels_scalar<DType::q4_k>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int,
                                               float*, size_t);
template void gemm_kpanels_scalar<DType::q5_k>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int,
                                               float*, size_t);
template void gemm_kpanels_scalar<DType::q6_k>(int64_t, const uint8_t*, size_t, int, const uint8_t*, size_t, int,
                                               float*, size_t);

}  // namespace fragua::cpu
