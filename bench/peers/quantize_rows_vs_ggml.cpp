// SPDX-License-Identifier: Apache-2.0
// Fragua's block quantizers against ggml's reference ones (quantize_row_*_ref, what
// llama-quantize runs without an importance matrix) on the same rows, one thread, process CPU
// time (best of 3), so that the figure holds on a busy machine; and the blocks whose bytes differ.
// Built and run by bench/quantize_rows_vs_ggml.sh.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "fragua/tensor/dtype.h"
#include "fragua/tensor/quantize.h"

extern "C" {  // ggml-quants.h, with the block pointers as void*
void quantize_row_q8_0_ref(const float*, void*, int64_t);
void quantize_row_q4_0_ref(const float*, void*, int64_t);
void quantize_row_q2_K_ref(const float*, void*, int64_t);
void quantize_row_q3_K_ref(const float*, void*, int64_t);
void quantize_row_q4_K_ref(const float*, void*, int64_t);
void quantize_row_q5_K_ref(const float*, void*, int64_t);
void quantize_row_q6_K_ref(const float*, void*, int64_t);
}

namespace {
double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
}  // namespace

int main() {
  using namespace fragua;
  const int64_t n_per_row = 768, n_rows = 2048;  // llama-110M's width; 1.6 M weights
  std::vector<float> x(static_cast<size_t>(n_per_row * n_rows));
  std::mt19937 gen(1);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  for (float& v : x) v = dist(gen);
  struct Type {
    const char* name;
    void (*ggml)(const float*, void*, int64_t);
  };
  std::printf("| type | fragua s | ggml s | ratio | blocks differing |\n|---|---|---|---|---|\n");
  for (Type t : {Type{"q8_0", quantize_row_q8_0_ref}, Type{"q4_0", quantize_row_q4_0_ref},
                 Type{"q2_k", quantize_row_q2_K_ref}, Type{"q3_k", quantize_row_q3_K_ref},
                 Type{"q4_k", quantize_row_q4_K_ref}, Type{"q5_k", quantize_row_q5_K_ref},
                 Type{"q6_k", quantize_row_q6_K_ref}}) {
    const DType type = *dtype_from_name(t.name);
    const size_t row = row_size(type, n_per_row), block = dtype_traits(type)->type_size;
    std::vector<uint8_t> ours(row * n_rows), theirs(row * n_rows);
    double best_ours = 1e9, best_theirs = 1e9;
    for (int rep = 0; rep < 3; ++rep) {
      double s = cpu_seconds();
      if (!quantize_rows(type, x.data(), ours.data(), n_rows, n_per_row).ok()) return 1;
      best_ours = std::min(best_ours, cpu_seconds() - s);
      s = cpu_seconds();
      for (int64_t r = 0; r < n_rows; ++r) t.ggml(x.data() + r * n_per_row, theirs.data() + r * row, n_per_row);
      best_theirs = std::min(best_theirs, cpu_seconds() - s);
    }
    size_t differ = 0;
    for (size_t i = 0; i < ours.size(); i += block) differ += std::memcmp(&ours[i], &theirs[i], block) != 0;
    std::printf("| %s | %.4f | %.4f | %.2f | %zu of %zu |\n", t.name, best_ours, best_theirs, best_ours / best_theirs,
                differ, ours.size() / block);
  }
  return 0;
}
