// SPDX-License-Identifier: Apache-2.0
// Backend::router_softmax: llama.cpp's ggml_soft_max on its CPU backend as the bench's peer is
// built on this machine (GGML_NATIVE with AVX-512: ggml_vec_soft_max_f32 in
// ggml/src/ggml-cpu/vec.cpp, the row scaled by ggml_vec_scale_f32 in ops.cpp), written as
// scalar code that gives the same bits:
//   max over the row; per block of 16 values e = vexp(x - max) (ggml_v_expf, here
//   exp_silu_scalar, the same approximation), the block's sum as _mm512_reduce_add_ps forms it
//   (halves added: 8, 4, 2 lanes, then the last pair) added to a double; the remaining values
//   with libm's expf, each added to the double; every e times float(1 / sum).
#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/kernels.h"
#include "fragua/backend/backend.h"

namespace fragua::backend {

void Backend::router_softmax(float* x, int64_t n_rows, int64_t n) {
  for (int64_t r = 0; r < n_rows; ++r) {
    float* row = x + r * n;
    float mx = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, row[i]);
    double sum = 0.0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      float v[16];
      for (int j = 0; j < 16; ++j) row[i + j] = v[j] = cpu::exp_silu_scalar(row[i + j] - mx);
      float h[8], q[4];
      for (int j = 0; j < 8; ++j) h[j] = v[j + 8] + v[j];
      for (int j = 0; j < 4; ++j) q[j] = h[j + 4] + h[j];
      const float lo = q[0] + q[2], hi = q[1] + q[3];
      sum += static_cast<double>(lo + hi);
    }
    for (; i < n; ++i) {
      row[i] = std::exp(row[i] - mx);
      sum += static_cast<double>(row[i]);
    }
    const auto inv = static_cast<float>(1.0 / sum);
    for (int64_t k = 0; k < n; ++k) row[k] *= inv;
  }
}

}  // namespace fragua::backend
