// SPDX-License-Identifier: Apache-2.0
// An attention model over the element tokens of a composition, of the CrabNet / Roost family
// (Wang, Kauwe, Murdock & Sparks, npj Comput. Mater. 7, 77 (2021); Goodall & Lee, Nat. Commun.
// 11, 6280 (2020)), built from the training engine's kernels (train/kernels/).
//
// A composition is a set of (element, atomic fraction) tokens. Token n of a batch row becomes
//   x0 = E[element] + W_in u,   u = [standardised element properties, fraction encoding]
// (the properties stand in for CrabNet's mat2vec vectors, the fraction encoding for its
// "fractional amount" sinusoids; see encode_compositions in attention_model.h). Then n_layer
// pre-norm encoder blocks: x += W_o SetAttention(RMSNorm(x)); x += W_down SwiGLU(RMSNorm(x)),
// where the attention is bidirectional with a padding mask (a composition is a set: no order,
// no positions). The head pools the final RMSNorm'd tokens by atomic fraction (Roost's
// weighted pooling with the weights fixed to the stoichiometry) and applies
//   out = W_2 silu(W_1 pooled + b_1) + b_2,   out (B, n_out).
// The loss lives with the caller: backward() takes d(loss)/d(out).
//
// Parameters sit in a train::ParamStore, as train::Model's do, so train::AdamW updates them; names
// follow the GGUF style ("blk.0.attn_q.weight"), linear weights are (out, in).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "fragua/base/error.h"
#include "fragua/train/kernels.h"
#include "fragua/train/param_store.h"

namespace fragua::materials {

struct ElementTransformerConfig {
  int n_elements = 103;  // embedding rows; token ids are 0 .. n_elements - 1
  int n_input = 0;       // width of u
  int d_model = 64;
  int n_layer = 3;
  int n_head = 4;
  int n_ff = 0;  // 0: the Llama rule, 8/3 d_model rounded up to a multiple of 32
  int head_hidden = 64;
  int n_out = 1;
  float norm_eps = 1e-5f;

  Status finalize();
  int64_t n_params() const;  // after finalize()
  nlohmann::json to_json() const;
  static Result<ElementTransformerConfig> from_json(const nlohmann::json& j);
};

// One batch of B compositions padded to T tokens. Row-major: id (B*T), u (B*T*n_input),
// frac (B*T), len (B). Padding tokens have id 0, u 0 and frac 0.
struct ElementBatch {
  int B = 0, T = 0;
  std::vector<int32_t> id;
  std::vector<float> u, frac;
  std::vector<int32_t> len;
};

class ElementTransformer {
 public:
  static Result<ElementTransformer> create(const ElementTransformerConfig& config);
  ElementTransformer(ElementTransformer&&) noexcept;
  ElementTransformer& operator=(ElementTransformer&&) noexcept;
  ~ElementTransformer();

  const ElementTransformerConfig& config() const;
  const std::vector<train::ParamInfo>& param_infos() const;
  std::span<float> params();
  std::span<const float> params() const;
  std::span<float> grads();
  // The store behind param_infos(), params() and grads() (train/param_store.h).
  train::ParamStore& param_store();
  const train::ParamStore& param_store() const;
  void zero_grad();
  // Weights N(0, 0.02) (residual projections / sqrt(2 n_layer)); head weights N(0, 1/fan_in);
  // norm gains 1; biases 0.
  void init_random(uint64_t seed);

  // Returns out (B, n_out), valid until the next forward. Errors on ids out of range, a length
  // outside [1, T] or a width that does not match n_input.
  Result<std::span<const float>> forward(const ElementBatch& batch, const train::KernelOptions& opts);
  // Accumulates parameter gradients for dout (B, n_out) = d(loss)/d(out) of the last forward.
  void backward(std::span<const float> dout, const train::KernelOptions& opts);

 private:
  ElementTransformer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::materials
