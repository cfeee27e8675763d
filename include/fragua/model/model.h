// SPDX-License-Identifier: Apache-2.0
// A loaded model (weights memory-mapped from GGUF) and the inference Context that runs it:
// batched prompt processing into a KV cache, then one token at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/base/error.h"
#include "fragua/format/gguf.h"
#include "fragua/model/config.h"
#include "fragua/model/lora_adapter.h"

namespace fragua::model {

struct LayerWeights {
  Tensor attn_norm, wq, wk, wv, wo;
  Tensor bq, bk, bv;  // biases of the q, k, v projections (qwen2); empty: none
  Tensor ffn_norm, w_gate, w_up, w_down;
  // Mixture of experts (n_expert > 0): the router [n_embd -> n_expert], the file's 3-D expert
  // tensors, and each expert's 2-D slice of them (what matmul reads, prepared by the backend like
  // any layer matrix); the shared expert when n_ff_shexp > 0.
  Tensor ffn_gate_inp, gate_exps, up_exps, down_exps;
  std::vector<Tensor> gate_exp, up_exp, down_exp;
  Tensor gate_shexp, up_shexp, down_shexp;
  // Mamba-2 (recurrent layers of a hybrid model): in_proj, the depthwise convolution [d_conv,
  // channels] and its bias, dt bias, A (negative) and D per head, the gated norm's gain, out_proj.
  Tensor ssm_in, ssm_conv1d, ssm_conv1d_b, ssm_dt_b, ssm_a, ssm_d, ssm_norm, ssm_out;
};

struct Weights {
  Tensor tok_embd, output_norm, output;  // output == tok_embd when tied
  Tensor rope_freqs;                     // optional: per-pair theta divisors (llama3 scaling)
  std::vector<LayerWeights> layers;
};

struct ModelParams {
  // The backend that prepares the weights at load (Backend::prepare_weight: every layer matrix,
  // and the output head when it is not tied to the embedding table); a Context must then run on a
  // backend of the same name. Null: the CPU backend.
  std::shared_ptr<backend::Backend> backend;
  // LoRA adapters merged into the weights at load, in order (lora_adapter.h).
  std::vector<LoraAdapterSpec> lora;
};

class Model {
 public:
  // Opens and validates a GGUF model: architecture known, hyper-parameters complete, every
  // tensor present with the expected shape and a supported dtype.
  static Result<std::unique_ptr<Model>> load(const std::string& path, const ModelParams& params = {});
  static Result<std::unique_ptr<Model>> from_gguf(format::GgufFile file, const ModelParams& params = {});

  const ModelConfig& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const format::GgufFile& gguf() const { return file_; }
  // Backend::name() of the backend the weights were prepared for.
  const std::string& weights_backend() const { return weights_backend_; }

 private:
  explicit Model(format::GgufFile file) : file_(std::move(file)) {}
  format::GgufFile file_;
  ModelConfig config_;
  Weights weights_;
  std::string weights_backend_;
};

// Called after each step of the forward pass with its f32 result for the tokens of the batch
// ([n_tokens, n] row-major): names as llama.cpp's graph names them (attn_norm, Qcur and Kcur
// after RoPE, Vcur, kqv_out, attn_out, ffn_inp, ffn_norm, ffn_gate, ffn_up, ffn_swiglu, ffn_out,
// l_out; layer >= 0), then result_norm and result_output (layer -1). As in llama.cpp, the last
// layer's steps from ffn_norm on run for the tokens whose logits are asked for only (n_tokens is
// then their count: one for a prompt whose last logits are wanted), unless embeddings or every
// token's logits are. For tracing where two engines part (bench/engine.py --trace).
using EvalCallback = std::function<void(const char* name, int layer, const float* data, int64_t n_tokens, int64_t n)>;

struct ContextParams {
  int64_t n_ctx = 0;           // 0: min(model's training context, 4096)
  int64_t n_batch = 512;       // tokens per forward pass during prompt processing
  int n_threads = 0;           // 0: all cores ($FRAGUA_THREADS); for the default backend only
  EvalCallback eval_callback;  // optional
  // The backend that runs the forward pass, of the name the model's weights were prepared for
  // (Model::weights_backend()), else Context::create fails. It runs one call at a time: two
  // contexts sharing it must not decode concurrently. Null: a CPU backend with n_threads.
  std::shared_ptr<backend::Backend> backend;
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> create(const Model& model, ContextParams params = {});
  ~Context();

  // Runs `tokens` at positions n_past()..n_past()+n-1, appending to the KV cache, in batches of
  // n_batch. Returns the logits of the last token, or of every token when all_logits is set
  // ([n_tokens, n_vocab], row-major). Errors: token id out of range, context full.
  Result<std::span<const float>> decode(std::span<const int32_t> tokens, bool all_logits = false);

  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return params_.n_ctx; }
  // Forgets cached positions >= n (n = 0 clears). A model with recurrent layers (granitehybrid)
  // keeps all or nothing: n below n_past() clears, since its state cannot be rolled back; read
  // n_past() after the call for what was kept.
  void truncate(int64_t n);
  const Model& model() const { return model_; }
  backend::Backend& backend() { return *backend_; }

 private:
  Context(const Model& model, ContextParams params);
  Status forward(std::span<const int32_t> tokens, bool all_logits, float* logits_out);

  const Model& model_;
  ContextParams params_;
  std::shared_ptr<backend::Backend> backend_;
  int64_t n_past_ = 0;
  struct Buffers;
  std::unique_ptr<Buffers> buf_;
  std::vector<float> logits_;
};

}  // namespace fragua::model
