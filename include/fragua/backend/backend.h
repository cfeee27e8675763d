// SPDX-License-Identifier: Apache-2.0
// The Backend interface: the operations the forward pass needs, each checked against the CPU
// scalar reference by one harness (tests/backend/ops_test.cpp). The CPU backend runs them on a
// ThreadPool with SIMD variants chosen once at start-up.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string_view>

#include "fragua/base/error.h"
#include "fragua/tensor/tensor.h"

namespace fragua {
class ThreadPool;
}

namespace fragua::backend {

enum class RopeMode { normal, neox };  // normal: pairs (2i, 2i+1); neox: pairs (i, i + d/2)

struct RopeParams {
  RopeMode mode = RopeMode::normal;
  int n_rot = 0;                        // rotated dimensions (<= head_dim; the rest pass through)
  float theta_base = 10000.0f;          // llama.rope.freq_base
  float freq_scale = 1.0f;              // linear scaling: 1 / factor
  const float* freq_factors = nullptr;  // per pair divisor of theta (llama3 scaling), n_rot/2 values
};

// Causal multi-head attention with grouped-query heads over a KV cache.
// Causal attention over an F16 KV cache (as llama.cpp keeps it). Two regimes, following
// llama.cpp's CPU flash attention so that both engines compute the same function:
//  - fewer than kAttentionBatch query tokens (generation steps, short prompts): per query and
//    head one pass over the keys with an online softmax; q is rounded to f16, scores are f32,
//    and the output accumulates in f16 (rescaled on each new maximum);
//  - kAttentionBatch tokens or more (prompt batches): keys and values widened to f32, scores as
//    f32 products, softmax, then the f32 product with V.
struct AttentionArgs {
  const float* q = nullptr;      // [n_tokens, n_head * head_dim]
  const uint16_t* k = nullptr;   // f16 cache [n_kv, n_head_kv * head_dim] (positions 0..n_kv-1)
  const uint16_t* v = nullptr;   // f16 cache [n_kv, n_head_kv * head_dim]
  float* out = nullptr;          // [n_tokens, n_head * head_dim]
  const int32_t* pos = nullptr;  // position of each token; token t sees cache rows 0..pos[t]
  int64_t n_tokens = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_kv = 0;
  float scale = 0.0f;  // score scale (1/sqrt(head_dim), or granite's attention multiplier)
};
inline constexpr int64_t kAttentionBatch = 64;

// Mamba-2 (model/mamba2.cpp) pieces for one sequence of n tokens. The convolution: depthwise and
// causal over the sequence, then SiLU; the state holds the d_conv-1 inputs before the run (oldest
// first) and is replaced by the last d_conv-1 inputs of state + run.
struct SsmConvArgs {
  const float* in = nullptr;      // [n, in_stride]: the first `channels` values of each row
  int64_t in_stride = 0;
  float* out = nullptr;           // [n, channels]
  const float* weight = nullptr;  // [channels, d_conv] (ssm_conv1d as the file stores it)
  const float* bias = nullptr;    // [channels]
  float* state = nullptr;         // [d_conv - 1, channels]
  int64_t n = 0, channels = 0, d_conv = 0;
};
// The selective scan, recurrent form (Dao & Gu 2024, eq. 2), per token t and head h of group g:
//   dt = softplus(dt_raw + dt_bias[h]),  s[h][p] = exp(dt A[h]) s[h][p] + dt x[h][p] B[g]
//   y[h][p] = C[g] . s[h][p] + D[h] x[h][p]
struct SsmScanArgs {
  const float* xbc = nullptr;  // [n, xbc_stride]: x [n_head * head_dim], B [n_group * d_state], C (same)
  int64_t xbc_stride = 0;
  const float* dt = nullptr;  // [n, dt_stride]: raw dt per head
  int64_t dt_stride = 0;
  const float *dt_bias = nullptr, *A = nullptr, *D = nullptr;  // [n_head]
  float* state = nullptr;                                      // [n_head, head_dim, d_state], updated
  float* y = nullptr;                                          // [n, y_stride]: n_head * head_dim values
  int64_t y_stride = 0;
  int64_t n = 0, n_head = 0, head_dim = 0, d_state = 0, n_group = 1;
  // > 0: runs of more than one token in the chunked (SSD) form, chunks of this many tokens (the
  // same function up to rounding; docs/engine.md); 0: the recurrent form above.
  int64_t chunk = 0;
};

// One of several independent products for Backend::matmuls: y[n, m] = x[n, k] * w^T.
struct MatmulJob {
  const Tensor* w = nullptr;
  const float* x = nullptr;
  int64_t n = 0;
  float* y = nullptr;
};

// Gives back the memory a weight was read from, a range at a time, as a backend copies it (the
// CPU backend: runs of about 4 MiB of rows, then the whole range once more): the model passes
// GgufFile::release (the mapped file's pages), so that the resident size stays one copy.
using ReleaseSource = std::function<void(const void* data, uint64_t n_bytes)>;

class Backend {
 public:
  virtual ~Backend() = default;
  // Also names the layout of the weights it prepares: weights prepared by one backend are read
  // by any backend of the same name (two CPU backends with different thread counts), no other.
  virtual std::string_view name() const = 0;
  virtual int n_threads() const = 0;
  virtual ThreadPool& pool() = 0;

  // Weight preparation, once per matrix at model load, before any matmul reads it: may replace
  // `w` (Layout::rows, ne = {k, m}) by the backend's own copy in the layout its kernels read
  // fastest, with a Tensor::layout() value of its own (Tensor::owned; the storage may carry the
  // backend's deleter), calling release on ranges of the old data as they are copied and on the
  // whole (old data, old n_bytes) at the end. Leaving `w` as it is is always correct. Only for
  // matrices read by matmul alone: a tied output head, which is also the embedding table read by
  // get_rows, is not prepared. The CPU backend packs Q4_0/Q5_0/Q8_0 and Q4_K/Q5_K/Q6_K matrices
  // into 16-row panels unless FRAGUA_PACK=0 (docs/engine.md); errors: out of memory.
  virtual Status prepare_weight(Tensor& w, const ReleaseSource& release) = 0;

  // y[n, m] = x[n, k] * w^T where w has ne = {k, m} in any supported dtype, in Layout::rows or
  // as this backend prepared it.
  virtual void matmul(const Tensor& w, const float* x, int64_t n, float* y) = 0;
  // Independent products (no job reads another's y), each with the bits matmul gives it alone;
  // a backend may run them concurrently (the CPU backend, for jobs of one or two rows: small
  // matrices, as a mixture of experts has at decode, one per thread; whole ones, as a layer's q,
  // k and v, in one parallel region). Not pure: the default runs matmul on each in turn.
  virtual void matmuls(std::span<const MatmulJob> jobs);
  // y[i] = w row ids[i] converted to f32 (embedding lookup). ids must be < w.ne(1).
  virtual void get_rows(const Tensor& w, const int32_t* ids, int64_t n, float* y) = 0;
  // y = x / sqrt(mean(x^2) + eps) * weight, per row of `dim` values.
  virtual void rmsnorm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps, float* y) = 0;
  // In place, x: [n_tokens, n_head, head_dim].
  virtual void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
                    const RopeParams& p) = 0;
  // y = silu(gate) * up, elementwise over n values.
  virtual void swiglu(const float* gate, const float* up, int64_t n, float* y) = 0;
  virtual void attention(const AttentionArgs& a) = 0;
  // y = x rounded to f16 (nearest even): rows going into the KV cache.
  virtual void to_f16(const float* x, int64_t n, uint16_t* y) = 0;
  // x += scale * y
  virtual void add_scaled(float* x, const float* y, int64_t n, float scale) = 0;
  // Mamba-2 convolution and scan (above). Not pure: a backend without them runs the references.
  virtual void ssm_conv(const SsmConvArgs& a);
  virtual void ssm_scan(const SsmScanArgs& a);
  // A mixture-of-experts router's probabilities: each of n_rows rows of n logits replaced in place
  // by its softmax in llama.cpp's CPU arithmetic (ggml_soft_max: its vector exp on blocks of 16,
  // each block summed as a 16-lane register reduction into a double, libm exp on the tail, then
  // times the f32 reciprocal of the sum), so that both engines choose and weigh experts with the
  // same bits. Not pure: one definition serves every backend (src/backend/cpu/router_softmax.cpp).
  virtual void router_softmax(float* x, int64_t n_rows, int64_t n);
};

// n_threads 0: all cores ($FRAGUA_THREADS).
std::unique_ptr<Backend> make_cpu_backend(int n_threads);

// Scalar reference implementations (single thread) used by tests and as the portable path.
namespace ref {
void rmsnorm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps, float* y);
void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos, const RopeParams& p);
void swiglu(const float* gate, const float* up, int64_t n, float* y);
// Plain f32 arithmetic on the widened f16 keys and values (no f16 accumulator): the
// mathematical definition both regimes above approximate.
void attention(const AttentionArgs& a);
void softmax(float* x, int64_t n);
// Plain f32 loops in sequence order (libm exp in silu and the decay).
void ssm_conv(const SsmConvArgs& a);
void ssm_scan(const SsmScanArgs& a);
}  // namespace ref

}  // namespace fragua::backend
