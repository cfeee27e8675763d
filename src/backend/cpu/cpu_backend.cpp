// The CPU backend: every op threaded over rows/heads on one ThreadPool; the matrix products go
// to the SIMD kernels of backend/cpu/matmul.cpp.
#include <algorithm>
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

  // Work items are (token, head) pairs; each thread keeps its own score buffer.
  void attention(const AttentionArgs& a) override {
    const int64_t items = a.n_tokens * a.n_head;
    const int64_t group = a.n_head / a.n_head_kv;
    const int64_t q_stride = a.n_head * a.head_dim, kv_stride = a.n_head_kv * a.head_dim;
    if (scratch_.size() < static_cast<size_t>(pool_.size())) scratch_.resize(static_cast<size_t>(pool_.size()));
    // Below ~64k multiply-adds a fork-join costs more than it saves.
    const bool serial = a.n_tokens * a.n_head * a.n_kv * a.head_dim < (1 << 16);
    auto body = [&](int ith, int nth) {
      auto& scores = scratch_[static_cast<size_t>(ith)];
      if (scores.size() < static_cast<size_t>(a.n_kv)) scores.resize(static_cast<size_t>(a.n_kv));
      size_t b, e;
      split_range(static_cast<size_t>(items), ith, nth, b, e);
      for (size_t it = b; it < e; ++it) {
        int64_t t = static_cast<int64_t>(it) / a.n_head, h = static_cast<int64_t>(it) % a.n_head;
        int64_t n_seen = std::min<int64_t>(a.pos[t] + 1, a.n_kv);
        const float* q = a.q + t * q_stride + h * a.head_dim;
        const int64_t g = h / group;
        float mx = -INFINITY;
        for (int64_t j = 0; j < n_seen; ++j) {
          const float* k = a.k + j * kv_stride + g * a.head_dim;
          float s = 0.f;
          for (int64_t d = 0; d < a.head_dim; ++d) s += q[d] * k[d];
          s *= a.scale;
          scores[static_cast<size_t>(j)] = s;
          mx = std::max(mx, s);
        }
        float sum = 0.f;
        for (int64_t j = 0; j < n_seen; ++j) {
          float w = std::exp(scores[static_cast<size_t>(j)] - mx);
          scores[static_cast<size_t>(j)] = w;
          sum += w;
        }
        float inv = 1.0f / sum;
        float* out = a.out + t * q_stride + h * a.head_dim;
        std::fill(out, out + a.head_dim, 0.f);
        for (int64_t j = 0; j < n_seen; ++j) {
          const float* v = a.v + j * kv_stride + g * a.head_dim;
          float w = scores[static_cast<size_t>(j)] * inv;
          for (int64_t d = 0; d < a.head_dim; ++d) out[d] += w * v[d];
        }
      }
    };
    if (serial)
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
