// SPDX-License-Identifier: Apache-2.0
// The Llama architecture for training, in F32: token embedding, n_layer blocks of
// (RMSNorm -> attention with RoPE and grouped-query heads -> residual, RMSNorm -> SwiGLU MLP ->
// residual), final RMSNorm, output head, cross-entropy. Hyper-parameters and tensor names are
// those of llama.cpp's GGUF "llama" architecture, so an exported model loads in the inference
// engine unchanged; weights are kept in GGUF's layout (a linear weight is (out, in), GGML
// ne = [in, out]).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/thread_pool.h"
#include "fragua/format/llama_hparams.h"
#include "fragua/train/kernels.h"
#include "fragua/train/param_store.h"

namespace fragua::train {

// The Llama hyper-parameters in the vocabulary of inference (format::LlamaHParams, the same
// fields model::ModelConfig reads from GGUF), with the trainer's defaults. The trainer supports
// head_dim = n_embd / n_head and n_rot = head_dim only: finalize() sets both.
struct ModelConfig : format::LlamaHParams {
  ModelConfig() {
    n_ctx_train = 256;
    n_embd = 256;
    n_layer = 4;
    n_head = 4;
    n_head_kv = 4;
    n_ff = 0;  // 0: the Llama rule, 2/3 * 4 * n_embd rounded up to a multiple of 32
  }

  // Fills n_ff when 0, head_dim and n_rot; checks divisibility and ranges. Errors name the field.
  Status finalize();
  // config.json's "model" object: the field names above. from_json also reads the names that
  // runs before the shared vocabulary wrote (n_ctx, rope_base, norm_eps, tied_embeddings).
  nlohmann::json to_json() const;
  static Result<ModelConfig> from_json(const nlohmann::json& j);
};

// xoshiro256** (Blackman & Vigna 2018): small, fast, and its whole state fits in a checkpoint.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0);
  uint64_t next();
  double uniform();  // [0, 1)
  float normal();    // N(0, 1), Box-Muller
  std::array<uint64_t, 4> state() const { return s_; }
  void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

 private:
  std::array<uint64_t, 4> s_;
};

class BlockLinearHook;  // block.h

class Model {
 public:
  static Result<Model> create(const ModelConfig& config);
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  ~Model();

  const ModelConfig& config() const;
  const std::vector<ParamInfo>& param_infos() const;
  const ParamInfo* find_param(std::string_view name) const;
  std::span<float> params();
  std::span<const float> params() const;
  std::span<float> grads();
  // The store behind param_infos(), params() and grads().
  ParamStore& param_store();
  const ParamStore& param_store() const;

  // GPT-2 style initialisation: N(0, 0.02), residual projections (attn_output, ffn_down)
  // scaled by 1/sqrt(2 n_layer), norm gains 1.
  void init_random(uint64_t seed);
  void zero_grad();

  // Runs the model on tokens (B,T). With targets, returns the mean cross-entropy (nats) and
  // keeps per-position losses (losses()); without, returns 0 and leaves the probabilities.
  float forward(const int32_t* tokens, const int32_t* targets, int B, int T, const KernelOptions& opts);
  // Accumulates parameter gradients of loss_scale * (mean loss of the last forward).
  void backward(float loss_scale, const KernelOptions& opts);
  // Accumulates parameter gradients of sum_n weights[n] * loss_n over the (B*T) positions of the
  // last forward with targets: a loss masked to some positions (weight 0 elsewhere; the target
  // there may be any valid id) or DPO's per-sequence coefficients (dpo.h).
  void backward_weighted(std::span<const float> weights, const KernelOptions& opts);
  std::span<const float> losses() const;  // (B*T) of the last forward with targets
  std::span<const float> probs() const;   // (B*T, n_vocab) softmax of the last forward

  // A branch beside the blocks' projections in forward and backward (LoRA with dropout, lora.h);
  // null (the default) for none. The caller keeps it alive while it is set.
  void set_linear_hook(BlockLinearHook* hook);

  // Bytes needed to train at (B, T): parameters, gradients, AdamW moments, activations.
  static uint64_t training_bytes(const ModelConfig& config, int B, int T);

 private:
  Model();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::train
