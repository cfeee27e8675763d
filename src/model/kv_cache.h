// SPDX-License-Identifier: Apache-2.0
// The KV cache: for each layer, keys and values of every cached position, [n_ctx, n_head_kv *
// head_dim] row-major in f16 (as llama.cpp keeps it: half the memory of f32). Positions are contiguous from 0;
// truncate() forgets a suffix (a chat turn rewritten, a speculative branch rejected).
#pragma once

#include <cstdint>
#include <vector>

#include "fragua/base/error.h"

namespace fragua::model {

class KvCache {
 public:
  static Result<KvCache> create(int64_t n_layer, int64_t n_ctx, int64_t kv_dim);

  uint16_t* k(int64_t layer, int64_t pos) { return k_.data() + offset(layer, pos); }
  uint16_t* v(int64_t layer, int64_t pos) { return v_.data() + offset(layer, pos); }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t kv_dim() const { return kv_dim_; }
  uint64_t bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }

 private:
  size_t offset(int64_t layer, int64_t pos) const { return static_cast<size_t>((layer * n_ctx_ + pos) * kv_dim_); }
  int64_t n_layer_ = 0, n_ctx_ = 0, kv_dim_ = 0;
  std::vector<uint16_t> k_, v_;
};

}  // namespace fragua::model
