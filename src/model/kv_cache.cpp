// SPDX-License-Identifier: Apache-2.0
#include "model/kv_cache.h"

#include <new>

namespace fragua::model {

Result<KvCache> KvCache::create(int64_t n_layer, int64_t n_ctx, int64_t kv_dim) {
  KvCache c;
  c.n_layer_ = n_layer;
  c.n_ctx_ = n_ctx;
  c.kv_dim_ = kv_dim;
  const uint64_t n = static_cast<uint64_t>(n_layer) * static_cast<uint64_t>(n_ctx) * static_cast<uint64_t>(kv_dim);
  if (n > (uint64_t{1} << 36))
    return resource_exhausted_error("a KV cache of {} layers x {} positions x {} values is too large; lower --ctx",
                                    n_layer, n_ctx, kv_dim);
  try {
    c.k_.assign(n, 0);
    c.v_.assign(n, 0);
  } catch (const std::bad_alloc&) {
    return resource_exhausted_error("cannot allocate the KV cache ({} MB); lower --ctx",
                                    2 * n * sizeof(uint16_t) / 1000000);
  }
  return c;
}

}  // namespace fragua::model
