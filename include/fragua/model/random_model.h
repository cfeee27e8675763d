// Small models with seeded random weights, written as GGUF: fixtures for the reference tests
// (tests/reference/model/) and the benchmarks against llama.cpp. The vocabulary is a complete
// SentencePiece-style table (<unk>, <s>, </s>, 256 byte tokens, then synthetic pieces), enough
// for any GGUF loader to accept the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tensor/dtype.h"

namespace fragua::model {

struct RandomModelSpec {
  std::string arch = "llama";  // a registered architecture: "llama" or "granite"
  int64_t n_vocab = 512;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_ff = 192;
  int64_t n_ctx = 256;
  float rope_theta = 10000.0f;
  bool llama3_rope = false;  // write rope_freqs.weight from the Llama 3.1 scaling rule
  bool tied_output = false;
  DType dtype = DType::f32;  // of the 2-D weight matrices (norms stay f32)
  float init_std = 0.02f;
  // false: the embeddings and output head are drawn at 20x init_std and the Q/K/V, gate and up
  // projections at 4x, so that small reference models have peaked attention and large logits (a
  // sensitive test). Such models are chaotic: a change in the last bit of one sum can change the
  // greedy continuation. true: every matrix is N(0, init_std), as Llama and GPT-2 initialise,
  // which keeps the network in its ordered regime like a trained model (bench/engine.py uses it).
  bool plain_init = false;
  uint64_t seed = 1;
  // granite multipliers
  float embedding_scale = 12.0f, attention_scale = 0.0078125f, residual_scale = 0.22f, logit_scale = 8.0f;
};

Status write_random_model(const RandomModelSpec& spec, const std::string& path);

// Llama 3.1 frequency scaling (factor 8, low 1, high 4, original context 8192): the per-pair
// divisor of theta that llama.cpp stores as rope_freqs.weight.
std::vector<float> llama3_rope_factors(int64_t n_rot, float theta, float factor = 8.0f, float low_freq_factor = 1.0f,
                                       float high_freq_factor = 4.0f, int64_t original_ctx = 8192);

}  // namespace fragua::model
