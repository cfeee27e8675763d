// SPDX-License-Identifier: Apache-2.0
// Many sequences decoded together (llama.cpp's llama_batch with seq_id): a BatchContext holds N
// sequence slots, each with its own region of the KV cache and its own positions, and one
// decode() runs a forward pass over tokens of several sequences, so that they share the reads of
// the weights. Within a pass each token attends to the earlier tokens of its own sequence only.
//
// A sequence's logits do not depend on what else is in the batch: every per-token operation
// (norms, matmuls, RoPE, SwiGLU) computes each row alone, and attention runs once per sequence
// over that sequence's tokens of the pass. A sequence decoded in the same chunks as a Context
// decodes it gets the same bits (tests/model/batch_context_test.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/base/error.h"
#include "fragua/model/model.h"

namespace fragua::model {

struct BatchItem {
  int32_t token = 0;
  int32_t seq = 0;      // slot, 0..n_seq()-1
  bool logits = false;  // return this token's logits
};

struct BatchContextParams {
  int32_t n_seq = 1;          // slots
  int64_t n_ctx_per_seq = 0;  // positions per slot; 0: min(the model's training context, 4096)
  int64_t n_batch = 512;      // items per forward pass (decode() splits longer lists)
  int n_threads = 0;          // 0: all cores ($FRAGUA_THREADS); for the default backend only
  // Keep each slot's final hidden states (after the output norm), n_embd floats per position, for
  // embedding().
  bool embeddings = false;
  EvalCallback eval_callback;  // optional, as ContextParams::eval_callback
  // As ContextParams::backend: of the name the model's weights were prepared for. Null: a CPU
  // backend with n_threads.
  std::shared_ptr<backend::Backend> backend;
};

class BatchContext {
 public:
  static Result<std::unique_ptr<BatchContext>> create(const Model& model, BatchContextParams params = {});
  ~BatchContext();
  BatchContext(const BatchContext&) = delete;
  BatchContext& operator=(const BatchContext&) = delete;

  // Appends each item's token to its slot at the slot's next position (items of one slot in list
  // order) and returns the logits of the items with logits = true, in list order ([n, n_vocab]
  // row-major; valid until the next decode). Errors, with no slot changed: no items, a slot out of
  // range, a token outside the vocabulary, a slot that would overflow (names the slot and its
  // capacity).
  Result<std::span<const float>> decode(std::span<const BatchItem> items);

  int32_t n_seq() const;
  int64_t n_ctx_per_seq() const;
  int64_t n_batch() const;
  // Tokens held by slot `seq` (0 and empty for a slot out of range).
  int64_t n_past(int32_t seq) const;
  std::span<const int32_t> tokens(int32_t seq) const;
  // Forgets the slot's positions >= n (n = 0 clears it). Error: a slot out of range. A model with
  // recurrent layers keeps all or nothing (Context::truncate): read n_past() for what was kept.
  Status truncate(int32_t seq, int64_t n);
  // Keeps the longest common prefix of the slot's tokens and `prompt` and forgets the rest;
  // returns its length (the prompt tokens that need no evaluation). Error: a slot out of range.
  // With recurrent layers a prefix is kept only when it is everything the slot holds, else 0.
  Result<int64_t> reuse_prefix(int32_t seq, std::span<const int32_t> prompt);

  // The mean of the slot's final hidden states over its positions, L2-normalised ([n_embd]).
  // Errors: a slot out of range or empty, or a context created without `embeddings`.
  Result<std::vector<float>> embedding(int32_t seq) const;

  const Model& model() const;
  backend::Backend& backend();

 private:
  struct Impl;
  explicit BatchContext(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fragua::model
