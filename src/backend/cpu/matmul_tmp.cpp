#include "fragua/backend/cpu_matmul.h"
#include <vector>
namespace fragua::cpu {
void matmul(const void* w, DType wtype, int64_t m, int64_t k, const float* x, int64_t n, float* y, ThreadPool& pool) {
  const DTypeTraits* tr = dtype_traits(wtype);
  size_t rs = row_size(wtype, k);
  pool.parallel_for(static_cast<size_t>(m), [&](size_t b, size_t e) {
    std::vector<float> row(static_cast<size_t>(k));
    for (size_t r = b; r < e; ++r) {
      tr->to_float(static_cast<const uint8_t*>(w) + r * rs, row.data(), k);
      for (int64_t i = 0; i < n; ++i) {
        float s = 0; for (int64_t j = 0; j < k; ++j) s += row[j] * x[i * k + j];
        y[i * m + r] = s;
      }
    }
  });
}
}
