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

namespace fragua::train {

struct ModelConfig {
  int n_vocab = 0;
  int n_ctx = 256;  // llama.context_length: the longest sequence trained on
  int n_embd = 256;
  int n_layer = 4;
  int n_head = 4;
  int n_head_kv = 4;
  int n_ff = 0;  // 0: the Llama rule, 2/3 * 4 * n_embd rounded up to a multiple of 32
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_embeddings = false;

  int head_dim() const { return n_head > 0 ? n_embd / n_head : 0; }
  // Fills n_ff when 0; checks divisibility and ranges. Errors name the field.
  Status finalize();
  int64_t n_params() const;
  nlohmann::json to_json() const;
  static Result<ModelConfig> from_json(const nlohmann::json& j);
};

// One parameter tensor inside the flat parameter buffer.
struct ParamInfo {
  std::string name;         // GGUF name: "blk.0.attn_q.weight"
  std::vector<int64_t> ne;  // GGML order: ne[0] is the contiguous dimension
  size_t offset = 0;        // in floats, into params() / grads()
  size_t size = 0;
  bool decay = true;  // false for norm gains (no weight decay on them)
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

struct KernelOptions {
  ThreadPool* pool = nullptr;
  bool use_blas = true;
};

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

  // GPT-2 style initialisation: N(0, 0.02), residual projections (attn_output, ffn_down)
  // scaled by 1/sqrt(2 n_layer), norm gains 1.
  void init_random(uint64_t seed);
  void zero_grad();

  // Runs the model on tokens (B,T). With targets, returns the mean cross-entropy (nats) and
  // keeps per-position losses (losses()); without, returns 0 and leaves the probabilities.
  float forward(const int32_t* tokens, const int32_t* targets, int B, int T, const KernelOptions& opts);
  // Accumulates parameter gradients of loss_scale * (mean loss of the last forward).
  void backward(float loss_scale, const KernelOptions& opts);
  std::span<const float> losses() const;  // (B*T) of the last forward with targets
  std::span<const float> probs() const;   // (B*T, n_vocab) softmax of the last forward

  // Bytes needed to train at (B, T): parameters, gradients, AdamW moments, activations.
  static uint64_t training_bytes(const ModelConfig& config, int B, int T);

 private:
  Model();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::train
