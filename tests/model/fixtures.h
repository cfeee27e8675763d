// SPDX-License-Identifier: Apache-2.0
// Fixtures shared by the model tests.
#pragma once

#include "fragua/model/random_model.h"

namespace fragua::model {

// The smallest model the loader accepts in full: one layer, 2 heads sharing 1 KV head.
inline RandomModelSpec tiny_model_spec() {
  RandomModelSpec s;
  s.n_vocab = 300;
  s.n_embd = 16;
  s.n_layer = 1;
  s.n_head = 2;
  s.n_head_kv = 1;
  s.n_ff = 32;
  s.n_ctx = 64;
  return s;
}

}  // namespace fragua::model
