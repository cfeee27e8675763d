// SPDX-License-Identifier: Apache-2.0
// Internal kernel table of the CPU matmul: one table per instruction set, chosen once.
#pragma once

#include <cstddef>
#include <cstdint>

#include "fragua/tensor/dtype.h"

namespace fragua::cpu {

// Activation (X row) formats. A row of k activations is stored in act_row_size bytes:
//  q8_0: SoA for aligned loads: qs[k] int8 | d[k/32] float (fp16-rounded, as block_q8_0's d)
//        | s[k/32] int32 (sum of the block's qs, used to fold the weights' zero offsets)
//  q8_k: k/256 BlockQ8_K
//  f32:  k floats (for f16/bf16 weights already rounded to f16/bf16)
enum class Act { q8_0, q8_k, f32, f16r, bf16r };

Act act_for(DType w);
size_t act_row_size(Act a, int64_t k);

struct Q8Row {
  const int8_t* qs;
  const float* d;
  const int32_t* s;
};
inline Q8Row q8_row(const uint8_t* base, int64_t k) {
  return {reinterpret_cast<const int8_t*>(base), reinterpret_cast<const float*>(base + k),
          reinterpret_cast<const int32_t*>(base + k + 4 * (k / 32))};
}

// y[c * y_stride + r] = dot(W row r, X row c) for r < nr, c < nc.
using GemmFn = void (*)(int64_t k, const uint8_t* w, size_t w_stride, int nr, const uint8_t* x, size_t x_stride, int nc,
                        float* y, size_t y_stride);
// Converts one row of k floats to the activation format.
using ActFn = void (*)(const float* x, uint8_t* out, int64_t k);
// f32 <-> f16 rows (round to nearest even), for the F16 KV cache.
using ToF16Fn = void (*)(const float* x, uint16_t* y, int64_t n);
using FromF16Fn = void (*)(const uint16_t* x, float* y, int64_t n);
// One query of one head against n cached F16 key/value rows (stride kv_stride elements), in one
// pass with an online softmax and an F16 output accumulator: llama.cpp's CPU flash-attention
// arithmetic for generation steps and short batches (see backend.h). work: 2 * hd uint16_t.
using AttendF16Fn = void (*)(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride, int64_t n,
                             int64_t hd, float scale, float* out, uint16_t* work);

// Prompt-batch attention pieces (see simd/attention.inl): scores of up to 8 queries against keys
// stored transposed (kt: head_dim rows, padded with zeros to a multiple of 16 keys), and the
// in-place softmax of score rows.
using AttnScoresFn = void (*)(int64_t hd, const float* q, size_t qs, int nt, const float* kt, size_t kts, int64_t n,
                              float scale, float* s, size_t ss);
using SoftmaxRowsFn = void (*)(float* s, size_t ss, int nt, const int64_t* n_seen, int64_t n);

// One field of a packed panel block: its offset and length in bytes within a lone block.
struct PanelField {
  int off, len;
};

// Packed panel blocks go in pairs: blocks 2i and 2i+1 of a panel share 2 x bytes, field by field
// (field f of block 2i, then field f of block 2i+1, then the next field). A type whose block is
// not a whole number of 64-byte lines (Q4_0 288 bytes, Q5_0 352, Q8_0 544, Q6_K 3360) would
// otherwise start every other block half-way through a line, so that each of its 64-byte loads
// spans two lines. At decode, where the panels stream from DRAM, that cost a scratch stream of
// 1 GiB of Q8_0 panels (2 threads) a quarter of its rate (35-42 GB/s, paired 46-52) and the 3B
// decode's products about 9% (docs/benchmarks.md, issue 13 session 35). Every field of these
// types is 32 bytes or a multiple of 64, so paired fields start on a line (or, for the 32-byte
// scales, stay inside one). A panel with an odd number of blocks keeps its last block
// alone, in the single block's layout. Q4_K and Q5_K blocks (2304 and 2816 bytes) are whole lines
// and stay unpaired.
template <class Byte>
struct PanelBlock {
  Byte* base;
  int pair, odd;
  Byte* at(PanelField f) const { return base + pair * f.off + odd * f.len; }
};
template <class Byte>
inline PanelBlock<Byte> panel_block(Byte* panel, int64_t b, int64_t nb, int bytes, bool paired = true) {
  if (!paired) return {panel + b * bytes, 1, 0};
  return {panel + (b & ~int64_t{1}) * bytes, (b | 1) < nb ? 2 : 1, static_cast<int>(b & 1)};
}

// Panel geometry of packed Q4_0/Q5_0 (pack_weights and the packed kernels at every level): per
// block of 32 columns, the 16 rows' quant bytes 4 at a time (4 x 64 bytes); for Q5_0 then their
// fifth bits (64 bytes: per row one 32-bit word whose byte i holds the fifth bits of elements
// 4i..4i+3 in its low nibble and of 16+4i..16+4i+3 in its high nibble); then the 16 scales.
// Blocks in pairs (PanelBlock).
template <bool Five>
struct Panel {
  static constexpr int bytes = Five ? 352 : 288;  // per block: 16 x 22 or 16 x 18
  static constexpr PanelField quants{0, 256};
  static constexpr PanelField fifth_bits{256, 64};           // Q5_0 only
  static constexpr PanelField scales{Five ? 320 : 256, 32};  // the 16 f16 scales
  static constexpr int offset = Five ? 16 : 8;               // the zero point of the quants
};

// Q8_0 in 16-row panels: per block of 32 columns, the rows' quants plus 128 (as u8, the
// unsigned operand of VPDPBUSD) 4 at a time (64-byte group l holds bytes 4l..4l+3 of rows
// 0..15), then the 16 f16 scales; 544 bytes, the 16 rows' blocks, in pairs (PanelBlock). The
// kernels keep dot_q8_0's eight 4-element lanes as eight accumulators per row, so a row sums in
// llama.cpp's order.
struct Q8Panel {
  static constexpr int bytes = 544;
  static constexpr PanelField quants{0, 512}, scales{512, 32};
};

// Panel geometry of packed K-quants (pack_weights; 16 rows x one 256-element super-block per
// panel block, same bytes as the 16 rows' blocks). Every field of a row whose length is a
// multiple of 4 is interleaved 4 bytes at a time: 64-byte group u holds bytes 4u..4u+3 of rows
// 0..15, so one 512-bit load gives one 32-bit lane per row (and a 256-bit load, rows 0..7 or
// 8..15). The f16 scales are stored as 16 consecutive halves. Byte offsets within a lone panel
// block:
//   Q4_K: qs 0 (group 8g+i = qs[32g+4i..]), scales 2048 (3 groups), d 2240, dmin 2272;
//   Q5_K: qs 0, qh 2048 (group i = qh[4i..]), scales 2560, d 2752, dmin 2784;
//   Q6_K: ql 0 (group 16h+8q+i = ql[64h+32q+4i..]), qh 2048 (group 8h+i = qh[32h+4i..]),
//         scales 3072 (4 groups), d 3328;
//   Q2_K: qs 0 (group 8h+i = qs[32h+4i..]: bit pair s of its bytes holds elements
//         128h+32s+4i..+3), scales 1024 (4 groups: scale in the low nibble, minimum in the high),
//         d 1280, dmin 1312;
//   Q3_K: qs 0 (as Q2_K's), hmask 1024 (group i = hmask[4i..]: bit 4h+s of its bytes is the third
//         bit of elements 128h+32s+4i..+3), scales 1536 (3 groups, packed 6-bit), d 1728.
// Q6_K's and Q3_K's blocks go in pairs (PanelBlock); Q2_K's, Q4_K's and Q5_K's are whole lines
// and do not.
struct KPanel {
  int bytes, qh, scales, d, dmin;  // offsets in a lone block (-1: no such field)
  constexpr bool paired() const { return bytes % 64 != 0; }
  constexpr PanelField qs_field() const { return {0, qh >= 0 ? qh : scales}; }
  constexpr PanelField qh_field() const { return {qh, scales - qh}; }
  constexpr PanelField scales_field() const { return {scales, d - scales}; }
  constexpr PanelField d_field() const { return {d, 32}; }
  constexpr PanelField dmin_field() const { return {dmin, 32}; }
};
inline constexpr KPanel kpanel_q4_k{2304, -1, 2048, 2240, 2272};
inline constexpr KPanel kpanel_q5_k{2816, 2048, 2560, 2752, 2784};
inline constexpr KPanel kpanel_q6_k{3360, 2048, 3072, 3328, -1};
inline constexpr KPanel kpanel_q2_k{1344, -1, 1024, 1280, 1312};
inline constexpr KPanel kpanel_q3_k{1760, 1024, 1536, 1728, -1};
static_assert(!kpanel_q4_k.paired() && !kpanel_q5_k.paired() && kpanel_q6_k.paired());
static_assert(!kpanel_q2_k.paired() && kpanel_q3_k.paired());

// What the packed K-quant kernels need of one Q8_K activation super-block besides its quants,
// computed once per activation row (k_act_sums): the 32-element sums of the Q4_K/Q5_K minima
// term split as sum = 64 * hi + lo (hi in [-64, 63], lo in [0, 63]) so that both halves are
// int8 operands of one u8 x s8 dot against the rows' 6-bit minima, four sub-blocks per 32-bit
// lane (bytes hi0..3, hi4..7, lo0..3, lo4..7); for Q2_K's minima the same split of the
// 16-element sums bsums[j] (m16: hi0..15, then lo0..15; hi in [-32, 31]); and, for Q6_K,
// -32 * bsums[j] (the quants' offset of 32 folded into the start of each 16-element sum; Q3_K's
// offset of 4 is the same value shifted right by 3, exactly).
struct KSums {
  int8_t m[16];
  int8_t m16[32];
  int32_t off6[16];
};
void k_act_sums(const uint8_t* q8k, int64_t nsb, KSums* out);
// Whether t has a K-quant panel layout, and the packing (m % 16 == 0, k % 256 == 0).
bool kpanel_type(DType t);
void pack_kpanels(DType t, const void* src, int64_t m, int64_t k, void* dst);

// Mamba-2 pieces (backend::SsmScanArgs, SsmConvArgs; simd/ssm.inl). One head of the selective
// scan over n tokens: per token dt = softplus(dt_raw + dt_bias), dA = exp(dt A) (ssm_dt_scalar,
// the same scalar code on every level), then per channel p of the head
//   s[p][i] = fma(B[i], x[p] dt, s[p][i] dA),   y[p] = fma(D, x[p], sum_i s[p][i] C[i])
// with the sum over i kept in 16 lanes (lane i % 16, each an fma chain in i order) reduced as
// ((l[j] + l[j+8]) + ...) halving to one: the order a 512-bit register gives, and two 256-bit ones
// reproduce, so every level gives the same bits.
struct SsmHead {
  int64_t n, P, N;          // tokens, channels of the head, state size
  const float* x;           // [n][ld]: the head's P channels
  const float* B;           // [n][ld]: its group's N values
  const float* C;           // [n][ld]
  size_t ld;
  const float* dt;          // [n][dt_ld]: the head's raw dt
  size_t dt_ld;
  float dt_bias, A, D;
  float* s;                 // [P][N], updated
  float* y;                 // [n][y_ld]
  size_t y_ld;
};
using SsmScanFn = void (*)(const SsmHead& a);
// Depthwise causal convolution of nc channels over n tokens, then SiLU:
//   out[t][c] = silu(fma chain over k = 0..K-1 of row(t + k)[c] * wt[k][c] + bias[c])
// where rows 0..K-2 are the state's (the inputs before this run, oldest first) and row K-1+t is
// input t; silu as swiglu's (up = 1). Elementwise over channels, so identical on every level.
struct SsmConvRows {
  int64_t n, nc, K;
  const float* state;  // [K-1][state_ld]
  size_t state_ld;
  const float* in;     // [n][in_ld]
  size_t in_ld;
  const float* wt;     // [K][wt_ld]: the kernel transposed (tap-major)
  size_t wt_ld;
  const float* bias;   // [nc]
  float* out;          // [n][out_ld]
  size_t out_ld;
};
using SsmConvFn = void (*)(const SsmConvRows& a);

// One table per level (kernels_scalar, kernels_avx2, kernels_avx512), each filled with designated
// initialisers so that every entry names its slot; every slot is set (tests/backend/kernels_test.cpp).
struct Kernels {
  const char* name;
  ActFn act_q8_0;
  ActFn act_q8_k;
  ActFn act_f16r;  // x rounded to F16 and back, stored as f32 (the F16 weights' activations)
  GemmFn f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k;
  // Q2_K and Q3_K in the file's row layout (against Q8_K activations).
  GemmFn q2_k, q3_k;
  // Q4_0 and Q5_0 packed in 16-row panels (cpu::pack_weights; nr a multiple of 16; bit-identical
  // on every level).
  GemmFn q4_0_p16, q5_0_p16;
  // Q2_K..Q6_K packed in 16-row panels (KPanel; nr a multiple of 16; bit-identical on every
  // level: gemm_kpanels_scalar defines the arithmetic; Q2_K's and Q3_K's are also bit-identical
  // to their row layout's q2_k and q3_k).
  GemmFn q4_k_p16, q5_k_p16, q6_k_p16, q2_k_p16, q3_k_p16;
  // Q8_0 packed in 16-row panels (Q8Panel; bit-identical to the file layout's q8_0 kernel).
  GemmFn q8_0_p16;
  ToF16Fn to_f16;
  FromF16Fn from_f16;
  AttendF16Fn attend_f16;
  AttnScoresFn attn_scores;
  SoftmaxRowsFn softmax_rows;
  void (*swiglu)(const float* gate, const float* up, int64_t n, float* y);  // y = silu(gate) * up
  SsmScanFn ssm_scan;
  SsmConvFn ssm_conv;
  // Weight rows per thread tile of the float kernels' prompt products (matmul.cpp): a multiple of
  // the level's register tile height, so that no row falls to the narrow remainder tiles.
  int float_tile_m;
};

GemmFn gemm_for(const Kernels& t, DType w);
// The kernel of w packed in panels (cpu::kPanels16), or null.
GemmFn panel_gemm(const Kernels& t, DType w);

const Kernels& kernels_scalar();
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();

// Shared scalar pieces (vec_dot_scalar.cpp) that the SIMD tables reuse.
void act_q8_0_scalar(const float* x, uint8_t* out, int64_t k);
void act_q8_k_scalar(const float* x, uint8_t* out, int64_t k);
void act_f16r_scalar(const float* x, uint8_t* out, int64_t k);
template <bool Five>
void gemm_panels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                        size_t ys);
void gemm_q8_0_panels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc,
                             float* y, size_t ys);
// T: DType::q2_k, q3_k, q4_k, q5_k or q6_k.
template <DType T>
void gemm_kpanels_scalar(int64_t k, const uint8_t* w, size_t ws, int nr, const uint8_t* x, size_t xs, int nc, float* y,
                         size_t ys);
void to_f16_scalar(const float* x, uint16_t* y, int64_t n);
float exp_poly_scalar(float x);
float exp_silu_scalar(float x);
void swiglu_scalar(const float* gate, const float* up, int64_t n, float* y);
// ssm.cpp: dt = softplus(raw + bias) (ggml's: the identity above 20), *dA = exp(dt A).
float ssm_dt_scalar(float raw, float bias, float A, float* dA);
// The sum of 16 lanes as _mm512_reduce_add_ps forms it (halves added: 8, 4, 2, then the last
// pair); the scan and the float dots use it.
float reduce16_scalar(const float* lanes);
// D x rounded to f32 on its own, as llama.cpp's separate ggml_mul rounds the Mamba-2 D skip
// before its ggml_add: the empty asm hides the product from compilers that contract across
// statements (GCC's default -ffp-contract=fast, the release build's compiler) so that it is never
// fused into the following add.
inline float ssm_skip_product(float D, float x) {
  float p = D * x;
  asm("" : "+x"(p));
  return p;
}
void ssm_scan_scalar(const SsmHead& a);
void ssm_conv_scalar(const SsmConvRows& a);
float score_f16(const uint16_t* k, const uint16_t* q, int64_t hd);
void attn_scores_scalar(int64_t hd, const float* q, size_t qs, int nt, const float* kt, size_t kts, int64_t n,
                        float scale, float* s, size_t ss);
void softmax_rows_scalar(float* s, size_t ss, int nt, const int64_t* n_seen, int64_t n);
void from_f16_scalar(const uint16_t* x, float* y, int64_t n);
void attend_f16_scalar(const float* q, const uint16_t* k, const uint16_t* v, size_t kv_stride, int64_t n, int64_t hd,
                       float scale, float* out, uint16_t* work);

}  // namespace fragua::cpu
