// The CPU backend: every op threaded over rows/heads on one ThreadPool; the matrix products go
// to the SIMD kernels of backend/cpu/matmul.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "fragua/backend/backend.h"
#include "fragua/backend/cpu_matmul.h"
#include "fragua/base/thread_pool.h"

namespace fragua::backend {

namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads) {}

  std::string_view name() const override { return "cpu"; }
  int n_threads() const override { return pool_.size(); }
  ThreadPool& pool() override { return pool_; }

  void matmul(const Tensor& w, const float* x, int64_t n, float* y) override {
    cpu::matmul(w.data(), w.dtype(), w.ne(1), w.ne(0), x, n, y, pool_);
  }

  void get_rows(const Tensor& w, const int32_t* ids, int64_t n, float* y) override {
    const DTypeTraits* tr = dtype_traits(w.dtype());
    const int64_t dim = w.ne(0);
    for (int64_t i = 0; i < n; ++i) tr->to_float(w.row(ids[i]), y + i * dim, dim);
  }

  void rmsnorm(const float* x, const float* weight, int64_t n_rows, int64_t dim, float eps, float* y) override {
    if (n_rows < 4) {
      ref::rmsnorm(x, weight, n_rows, dim, eps, y);
      return;
    }
    pool_.parallel_for(static_cast<size_t>(n_rows), [&](size_t b, size_t e) {
      ref::rmsnorm(x + static_cast<int64_t>(b) * dim, weight, static_cast<int64_t>(e - b), dim, eps,
                   y + static_cast<int64_t>(b) * dim);
    });
  }

  void rope(float* x, int64_t n_tokens, int64_t n_head, int64_t head_dim, const int32_t* pos,
            const RopeParams& p) override {
    if (n_tokens < 4) {
      ref::rope(x, n_tokens, n_head, head_dim, pos, p);
      return;
    }
    pool_.parallel_for(static_cast<size_t>(n_tokens), [&](size_t b, size_t e) {
      ref::rope(x + static_cast<int64_t>(b) * n_head * head_dim, static_cast<int64_t>(e - b), n_head, head_dim,
                pos + b, p);
    });
  }

  void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
    if (n < 16384) {
      ref::swiglu(gate, up, n, y);
      return;
    }
    pool_.parallel_for(static_cast<size_t>(n), [&](size_t b, size_t e) {
      ref::swiglu(gate + b, up + b, static_cast<int64_t>(e - b), y + b);
    });
  }

  // Work items are (block of kQueryBlock consecutive tokens, head). The scores of a block are one
  // small matrix product (keys x queries) on the SIMD f32 kernels, so each key row is loaded once
  // per block; each token then uses only the keys it may see (causal). Items are handed out
  // dynamically, most expensive (latest tokens) first, so causal work stays balanced.
  static constexpr int64_t kQueryBlock = 8;

  void attention(const AttentionArgs& a) override {
    const int64_t n_blocks = (a.n_tokens + kQueryBlock - 1) / kQueryBlock;
    const int64_t items = n_blocks * a.n_head;
    const int64_t group = a.n_head / a.n_head_kv;
    const int64_t q_stride = a.n_head * a.head_dim, kv_stride = a.n_head_kv * a.head_dim;
    if (scratch_.size() < static_cast<size_t>(pool_.size())) scratch_.resize(static_cast<size_t>(pool_.size()));
    std::atomic<int64_t> next{0};
    auto body = [&](int ith, int) {
      auto& scores = scratch_[static_cast<size_t>(ith)];
      if (scores.size() < static_cast<size_t>(kQueryBlock * a.n_kv)) scores.resize(static_cast<size_t>(kQueryBlock * a.n_kv));
      for (int64_t it = next.fetch_add(1); it < items; it = next.fetch_add(1)) {
        const int64_t blk = n_blocks - 1 - it / a.n_head, h = it % a.n_head, g = h / group;
        const int64_t t0 = blk * kQueryBlock, nt = std::min(kQueryBlock, a.n_tokens - t0);
        int64_t n_keys = 0;
        for (int64_t t = t0; t < t0 + nt; ++t) n_keys = std::max<int64_t>(n_keys, std::min<int64_t>(a.pos[t] + 1, a.n_kv));
        if (n_keys == 0) continue;
        // scores[i * n_keys + j] = dot(K row j, q of token t0 + i)
        cpu::gemm_f32(a.head_dim, a.k + g * a.head_dim, kv_stride, n_keys, a.q + t0 * q_stride + h * a.head_dim,
                      q_stride, nt, scores.data(), n_keys);
        for (int64_t i = 0; i < nt; ++i) {
          const int64_t t = t0 + i, n_seen = std::min<int64_t>(a.pos[t] + 1, a.n_kv);
          float* sc = scores.data() + i * n_keys;
          float mx = -INFINITY;
          for (int64_t j = 0; j < n_seen; ++j) mx = std::max(mx, sc[j] *= a.scale);
          float sum = 0.f;
          for (int64_t j = 0; j < n_seen; ++j) sum += (sc[j] = std::exp(sc[j] - mx));
          const float inv = 1.0f / sum;
          float* __restrict out = a.out + t * q_stride + h * a.head_dim;
          std::fill(out, out + a.head_dim, 0.f);
          // Four value rows per pass: a quarter of the loads and stores of `out`.
          const float* vbase = a.v + g * a.head_dim;
          int64_t j = 0;
          for (; j + 4 <= n_seen; j += 4) {
            const float* __restrict v0 = vbase + j * kv_stride;
            const float* __restrict v1 = v0 + kv_stride;
            const float* __restrict v2 = v1 + kv_stride;
            const float* __restrict v3 = v2 + kv_stride;
            const float w0 = sc[j] * inv, w1 = sc[j + 1] * inv, w2 = sc[j + 2] * inv, w3 = sc[j + 3] * inv;
            for (int64_t d = 0; d < a.head_dim; ++d) out[d] += w0 * v0[d] + w1 * v1[d] + w2 * v2[d] + w3 * v3[d];
          }
          for (; j < n_seen; ++j) {
            const float* __restrict v = vbase + j * kv_stride;
            const float w = sc[j] * inv;
            for (int64_t d = 0; d < a.head_dim; ++d) out[d] += w * v[d];
          }
        }
      }
    };
    // Below ~64k multiply-adds a fork-join costs more than it saves.
    if (a.n_tokens * a.n_head * a.n_kv * a.head_dim < (1 << 16))
      body(0, 1);
    else
      pool_.run(body);
  }

  void add_scaled(float* x, const float* y, int64_t n, float scale) override {
    if (scale == 1.0f)
      for (int64_t i = 0; i < n; ++i) x[i] += y[i];
    else
      for (int64_t i = 0; i < n; ++i) x[i] += scale * y[i];
  }

 private:
  ThreadPool pool_;
  std::vector<std::vector<float>> scratch_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int n_threads) { return std::make_unique<CpuBackend>(n_threads); }

}  // namespace fragua::backend
