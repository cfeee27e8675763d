// Model hyper-parameters, read from GGUF metadata (keys under the architecture's prefix, as
// llama.cpp names them: "llama.embedding_length", "granite.residual_scale", ...).
#pragma once

#include <cstdint>
#include <string>

#include "fragua/backend/backend.h"

namespace fragua::model {

enum class RopeScaling { none, linear };  // llama3-style scaling arrives as rope_freqs.weight

struct ModelConfig {
  std::string arch;  // general.architecture
  std::string name;  // general.name
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t head_dim = 0;
  int64_t n_rot = 0;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scale_factor = 1.0f;
  backend::RopeMode rope_mode = backend::RopeMode::normal;
  // Granite's multipliers; 1 (and attention_scale = 1/sqrt(head_dim)) for plain llama.
  float embedding_scale = 1.0f;
  float attention_scale = 0.0f;  // 0: 1/sqrt(head_dim)
  float residual_scale = 1.0f;
  float logit_scale = 1.0f;  // logits are divided by this
  bool tied_output = false;  // output head shares token_embd.weight

  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
  int64_t n_embd_q() const { return n_head * head_dim; }
  // Parameter count from the shapes (for messages and benchmarks).
  int64_t n_params() const;
  std::string summary() const;
};

}  // namespace fragua::model
