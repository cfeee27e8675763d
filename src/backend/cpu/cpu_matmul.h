// SPDX-License-Identifier: Apache-2.0
// CPU matrix multiplication with quantized weights (DESIGN 5: SIMD variant chosen once). Private
// to the backend (and its tests and benchmarks): other subsystems reach these kernels through
// backend::Backend.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "fragua/base/thread_pool.h"
#include "fragua/tensor/dtype.h"
#include "fragua/tensor/tensor.h"

namespace fragua::backend {
struct SsmScanArgs;
struct SsmConvArgs;
}  // namespace fragua::backend

namespace fragua::cpu {

// Y[n, m] = sum_k X[n, k] * W[m, k]   (W rows are contiguous, row stride row_size(wtype, k)).
// X, Y are f32, row-major, contiguous. Quantized W: X rows are first quantized to the matching
// activation type (Q8_0 for q4_0/q4_1/q5_0/q5_1/q8_0; Q8_K for k-quants) as llama.cpp does, then
// dotted block by block with integer arithmetic. F16/BF16 W: X is rounded to f16/bf16 first (as
// llama.cpp's vec_dot_type does) and the products are summed in f32; F32 W: plain f32.
// k must be a multiple of wtype's block size. A type without a kernel (q8_k) is dequantized row
// by row and dotted in f32.
// layout: kPanels16 for weights that pack_weights prepared.
void matmul(const void* w, DType wtype, int64_t m, int64_t k, const float* x, int64_t n, float* y, ThreadPool& pool,
            Layout layout = Layout::rows);

// Rows of W per chunk that the threads take in turn at decode (n <= 2): about four chunks per
// thread, a multiple of 16 (whole panels; rows are independent, so any split gives the same
// bits), and at most kDecodeChunkBytes of weights. The cap matters for the largest matrices only
// (a 256k-token output head is 645 MB in Q6_K, so a quarter per thread would be 80 MB): with
// chunks of a few hundred microseconds both threads stream to the end, where a thread that lost
// its core for a moment would otherwise leave the other streaming alone through a last chunk of
// milliseconds, at one thread's share of the bandwidth.
inline constexpr size_t kDecodeChunkBytes = size_t{2} << 20;
int64_t decode_chunk_rows(int64_t m, size_t row_bytes, int n_threads);

// Independent matrix-vector products (n <= 2 activation rows each; at decode, a layer's q, k and
// v, or gate and up) in one parallel region: each job's rows cut as matmul cuts them
// (decode_chunk_rows), the threads taking the chunks of all jobs in turn, one wait at the end
// instead of one per product, and the activations converted once for jobs that share them. The
// same bits as matmul on each job (rows are independent). A job of more rows, or one without a
// kernel, goes through matmul; so do all of them on one thread or with more than 8 jobs.
struct MatvecJob {
  const void* w = nullptr;
  DType wtype = DType::f32;
  int64_t m = 0, k = 0;
  const float* x = nullptr;
  int64_t n = 0;
  float* y = nullptr;
  Layout layout = Layout::rows;
};
void matvecs(std::span<const MatvecJob> jobs, ThreadPool& pool);

// Weight packing at load time (what llama.cpp calls repacking). A Q4_0 or Q5_0 matrix with a
// multiple of 16 rows is stored as panels of 16 rows; within a panel, per block of 32 columns,
// the rows' quant bytes 4 at a time (bytes 4i..4i+3 of rows 0..15 as 64 contiguous bytes,
// i = 0..3), for Q5_0 the fifth bits regrouped per row to match, then the 16 scales. One
// VPDPBUSD then forms 4 products for each of 16 rows against 4 broadcast activations, and one
// conversion and FMA per block serve 16 rows. Same size as the input.
// The CPU backend's own value of Tensor::layout() for such weights (opaque to other subsystems).
inline constexpr Layout kPanels16{1};
bool packable(DType t, int64_t m, int64_t k);
void pack_weights(DType t, const void* src, int64_t m, int64_t k, void* dst);
// pack_weights over runs of at most `chunk_rows` rows (rounded down to a multiple of 16, at least
// 16), calling done(first_row, n_rows) after each run, so that the caller can give back the
// source's pages as it goes: at load, memory then peaks at the packed copy plus one run, not plus
// the whole matrix (a 256k-vocabulary output head is 645 MB in Q6_K). Panels are independent and
// stored panel after panel at the rows' own offsets, so the bytes are pack_weights'.
void pack_weights_in_runs(DType t, const void* src, int64_t m, int64_t k, void* dst, int64_t chunk_rows,
                          const std::function<void(int64_t first_row, int64_t n_rows)>& done);
// Rows of one run of pack_weights_in_runs at load: about 4 MiB of the source.
int64_t pack_run_rows(size_t row_bytes);

// The memory the CPU backend keeps prepared weights in: 2 MiB-aligned, with the whole 2 MiB pages
// inside the n bytes advised as transparent huge pages (THP's "madvise" mode), so that a weight
// stream read once per token from DRAM is not broken by a TLB miss every 4 KiB; the tail stays in
// small pages, so nothing beyond the n bytes is backed. Null when out of memory.
std::shared_ptr<uint8_t[]> alloc_weights(size_t n);
// What the CPU backend does with an m x k matrix at load (Backend::prepare_weight): whether it
// takes the matrix into its own memory (the packed types, and F32/F16/BF16), and the copy, into
// dst of row_size(t, k) * m bytes from alloc_weights, run by run (pack_run_rows rows; done as
// above): packed types in panels (returns kPanels16), float types in their row layout (returns
// Layout::rows).
bool prepares(DType t, int64_t m, int64_t k);
Layout prepare_weights_in_runs(DType t, const void* src, int64_t m, int64_t k, void* dst,
                               const std::function<void(int64_t first_row, int64_t n_rows)>& done);

// Which SIMD path is active: "avx512", "avx2" or "scalar". Chosen once at start-up from CPUID,
// overridable with FRAGUA_SIMD=scalar|avx2|avx512 (an unsupported request falls back to the best).
// y[c * y_stride + r] = dot(a row r, b row c) over k floats, for r < nr, c < nc (strides in
// floats), on the calling thread with the active SIMD kernels: attention scores.
void gemm_f32(int64_t k, const float* a, int64_t a_stride, int64_t nr, const float* b, int64_t b_stride, int64_t nc,
              float* y, int64_t y_stride);

// f32 <-> f16 rows (round to nearest even) with the active SIMD level.
void f32_to_f16(const float* x, uint16_t* y, int64_t n);
void f16_to_f32(const uint16_t* x, float* y, int64_t n);
// One query of one head against n cached f16 key/value rows (row stride kv_stride elements) in
// one pass, the short-batch regime of backend::AttentionArgs. Bit-identical at every SIMD level.
void attend_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride, int64_t n, int64_t head_dim,
                float scale, float* out);

// Prompt-batch attention pieces with the active SIMD level. attn_scores: s[i * ss + j] =
// scale * sum_d q[i * qs + d] * kt[d * kts + j] for i < nt (at most 8) and j < n (the SIMD
// levels also write up to n rounded up to 16: kt rows and s rows hold that many floats, kt zero
// past the keys). softmax_rows: each row i of
// s becomes the softmax of its first n_seen[i] entries, zero from there to n.
void attn_scores(int64_t hd, const float* q, int64_t qs, int nt, const float* kt, int64_t kts, int64_t n, float scale,
                 float* s, int64_t ss);
void softmax_rows(float* s, int64_t ss, int nt, const int64_t* n_seen, int64_t n);

// y = silu(gate) * up over n values, silu(x) = x / (1 + exp(-x)) with llama.cpp's vector exp
// approximation (so that both engines round alike), bit-identical on every SIMD level.
void swiglu(const float* gate, const float* up, int64_t n, float* y);

// The Mamba-2 kernels (kernels.h) with the active SIMD level, on the calling thread:
// bit-identical on every level.
struct SsmHead;
struct SsmConvRows;
void ssm_scan(const SsmHead& a);
void ssm_conv(const SsmConvRows& a);
// backend::Backend's ssm_scan and ssm_conv on the pool (ssm.cpp): heads, resp. blocks of
// channels, split over the threads; the same bits for any thread count.
void ssm_scan_threaded(const backend::SsmScanArgs& a, ThreadPool& pool);
void ssm_conv_threaded(const backend::SsmConvArgs& a, ThreadPool& pool);

const char* simd_level();
// For tests and benchmarks; an invalid or unsupported level is ignored.
void set_simd_level(std::string_view level);
// Whether this CPU can run `level`.
bool simd_supported(std::string_view level);

// Quantizes one row of n floats to dtype `type` (n % block size == 0): the active SIMD level's
// quantizer where it is bit-identical to the reference (q8_k), the reference one otherwise.
// Types without a quantizer (dtype_traits(t)->from_float_ref == nullptr) leave y untouched.
void quantize_row(DType type, const float* x, void* y, int64_t n);

}  // namespace fragua::cpu
