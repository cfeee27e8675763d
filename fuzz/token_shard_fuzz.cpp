// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the token shard reader must reject or accept any bytes without reading out
// of bounds; an accepted shard's tokens lie inside the vocabulary and its documents in order.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fragua/train/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto s = fragua::train::TokenShard::parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  if (!s.ok()) return 0;
  for (const auto& L : s->languages()) {
    for (uint32_t t : L.tokens)
      if (t >= static_cast<uint32_t>(s->tokenizer().vocab_size)) std::abort();
    for (uint64_t i = 0; i < L.n_docs; ++i)
      if (L.doc(i).token_start >= L.tokens.size()) std::abort();
  }
  return 0;
}
