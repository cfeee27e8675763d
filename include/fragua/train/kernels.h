// SPDX-License-Identifier: Apache-2.0
// Training kernels for the Llama block, in the style of llm.c: each layer's `<layer>_forward`
// sits beside its `<layer>_backward` in one file, with the same argument order (outputs first,
// then inputs, then parameters, then sizes) and a shape comment on each.
//
// Shapes: B batch, T time, N = B*T rows, C channels (n_embd), NH query heads, NKV key/value
// heads, HS head size, F feed-forward width, V vocabulary, OC output channels.
// Weights are stored as GGUF/PyTorch store them: a linear layer's weight is (OC, C), row o holds
// the C input weights of output o (GGML ne = [C, OC]).
//
// Convention, stated once here for every file: backward functions ACCUMULATE (+=) into every
// gradient they produce, input gradients included (as llm.c does), so callers zero them first.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "fragua/base/thread_pool.h"

namespace fragua::train {

// What `fragua train --profile` attributes the time of a step to. Kernels time themselves on
// the calling thread (each one is a parallel region of its own, so the parts do not overlap);
// the trainer adds the optimizer and the data loader and reports the rest of the step as other.
enum class ProfilePart : int { matmul, attention, norms, pointwise, loss, optimizer, data, count };
inline constexpr const char* kProfilePartNames[] = {"matmul",    "attention", "norms", "pointwise",
                                                   "loss",      "optimizer", "data"};

struct KernelProfile {
  std::array<double, static_cast<size_t>(ProfilePart::count)> seconds{};
  std::array<uint64_t, static_cast<size_t>(ProfilePart::count)> calls{};
  double matmul_flops = 0;  // 2 x multiply-adds of every matmul call, forward and backward
};

// Adds the wall time of its scope to profile->seconds[part]; does nothing when profile is null.
class ProfileScope {
 public:
  ProfileScope(KernelProfile* profile, ProfilePart part) : profile_(profile), part_(part) {
    if (profile_) start_ = std::chrono::steady_clock::now();
  }
  ~ProfileScope() {
    if (!profile_) return;
    const auto i = static_cast<size_t>(part_);
    profile_->seconds[i] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    ++profile_->calls[i];
  }
  ProfileScope(const ProfileScope&) = delete;
  ProfileScope& operator=(const ProfileScope&) = delete;

 private:
  KernelProfile* profile_;
  ProfilePart part_;
  std::chrono::steady_clock::time_point start_{};
};

// How the training kernels run: the one options type of the kernels, the transformer block,
// train::Model and the materials element transformer alike.
struct KernelOptions {
  ThreadPool* pool = nullptr;        // nullptr: run on the calling thread
  bool use_blas = true;              // false: the plain loops (reference, and the matmul bench)
  KernelProfile* profile = nullptr;  // non-null: each kernel adds its time (`fragua train --profile`)
  // BF16 mixed precision (`--precision bf16`): the linear layers' products take BF16-rounded
  // inputs and sum in F32 (kernels::gemm_bf16); weights, gradients and the rest stay F32. Set
  // only where kernels::bf16_matmul_available().
  bool bf16 = false;
};

}  // namespace fragua::train

namespace fragua::train::kernels {

// Splits [0, n) over the pool (or runs fn(0, n) when there is none).
void parallel_for(const KernelOptions& opts, size_t n, const std::function<void(size_t, size_t)>& fn);

// embedding.cpp: out (N,C) = wte[tokens] with wte (V,C)
void embedding_forward(float* out, const int32_t* tokens, const float* wte, int N, int C, const KernelOptions& opts);
void embedding_backward(float* dwte, const float* dout, const int32_t* tokens, int N, int C, int V,
                        const KernelOptions& opts);

// rmsnorm.cpp: out (N,C) = inp / sqrt(mean(inp^2) + eps) * weight; rstd (N) cached for backward
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps,
                     const KernelOptions& opts);
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C, const KernelOptions& opts);

// matmul.cpp: out (N,OC) = inp (N,C) @ weight (OC,C)^T
void matmul_forward(float* out, const float* inp, const float* weight, int N, int C, int OC, const KernelOptions& opts);
void matmul_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, int N,
                     int C, int OC, const KernelOptions& opts);
// The plain loops, always available (tests compare the BLAS path against them).
void matmul_forward_plain(float* out, const float* inp, const float* weight, int N, int C, int OC,
                          const KernelOptions& opts);
void matmul_backward_plain(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight, int N,
                           int C, int OC, const KernelOptions& opts);
void set_blas_threads(int n);

// matmul_bf16.cpp: C (M,N) = (accumulate ? C : 0) + A (M,K) @ B (K,N) with A and B rounded to
// BF16 (round to nearest even; the AVX512-BF16 path reads denormal inputs as 0, as VCVTNEPS2BF16
// does) and the products summed in F32. Element (m,k) of A is
// a[m*a_rs + k*a_cs], element (k,n) of B is b[k*b_rs + n*b_cs]. The AVX512-BF16 kernel where
// bf16_matmul_available() (CPUID), plain loops with the same rounding elsewhere (slow: tests).
bool bf16_matmul_available();
void gemm_bf16(float* C, int ldc, const float* a, size_t a_rs, size_t a_cs, const float* b, size_t b_rs, size_t b_cs,
               int M, int N, int K, bool accumulate, const KernelOptions& opts);
uint16_t f32_to_bf16(float f);  // round to nearest even; NaN stays NaN
float bf16_to_f32(uint16_t h);

// rope.cpp: rotary position embedding on x (B,T,NH,HS), GGML "normal" mode (llama): rotate
// the adjacent pairs (x[2i], x[2i+1]) of each head by t * base^(-2i/HS). In place is allowed.
void rope_forward(float* out, const float* inp, int B, int T, int NH, int HS, float base, const KernelOptions& opts);
void rope_backward(float* dinp, const float* dout, int B, int T, int NH, int HS, float base, const KernelOptions& opts);

// attention.cpp: causal scaled dot-product attention with grouped-query heads (head h reads
// key/value head h / (NH/NKV)). q (B,T,NH,HS), k v (B,T,NKV,HS), out (B,T,NH,HS),
// lse (B,NH,T) holds each query row's softmax log-sum-exp, from which backward recomputes the
// probabilities (tiled, FlashAttention-style: no T x T matrix is kept).
void attention_forward(float* out, float* lse, const float* q, const float* k, const float* v, int B, int T, int NH,
                       int NKV, int HS, const KernelOptions& opts);
void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* lse, const float* q,
                        const float* k, const float* v, int B, int T, int NH, int NKV, int HS,
                        const KernelOptions& opts);

// set_attention.cpp: bidirectional attention over padded sets (no causal mask). q k v out
// (B,T,NH,HS); row b holds len[b] valid items, keys j >= len[b] are masked and queries
// i >= len[b] output 0. att (B,NH,T,T) holds the probabilities for backward.
void set_attention_forward(float* out, float* att, const float* q, const float* k, const float* v, const int32_t* len,
                           int B, int T, int NH, int HS, const KernelOptions& opts);
void set_attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* att, const float* q,
                            const float* k, const float* v, const int32_t* len, int B, int T, int NH, int HS,
                            const KernelOptions& opts);

// swiglu.cpp: out (N,F) = silu(gate) * up (Shazeer 2020, "GLU Variants Improve Transformer")
void swiglu_forward(float* out, const float* gate, const float* up, int N, int F, const KernelOptions& opts);
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int N, int F,
                     const KernelOptions& opts);

// residual.cpp: out (n) = a + b
void residual_forward(float* out, const float* a, const float* b, size_t n, const KernelOptions& opts);
void residual_backward(float* da, float* db, const float* dout, size_t n, const KernelOptions& opts);

// crossentropy.cpp: probs (N,V) = softmax(logits) (may alias logits), losses (N) = -log p[target]
void crossentropy_forward(float* losses, float* probs, const float* logits, const int32_t* targets, int N, int V,
                          const KernelOptions& opts);
// dlogits (N,V) += (probs - onehot(target)) * dloss, dloss the same for every row (mean loss).
void crossentropy_backward(float* dlogits, const float* probs, const int32_t* targets, float dloss, int N, int V,
                           const KernelOptions& opts);

}  // namespace fragua::train::kernels
