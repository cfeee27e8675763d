// SPDX-License-Identifier: Apache-2.0
// The CPU backend: every op threaded over rows/heads on one ThreadPool; the matrix products go
// to the SIMD kernels of backend/cpu/matmul.cpp.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/backend/backend.h"
#include "fragua/base/log.h"
#include "fragua/base/runtime_options.h"
#include "fragua/base/thread_pool.h"

namespace fragua::backend {

namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads) : pool_(n_threads) {}

  std::string_view name() const override { return "cpu"; }
  int n_threads() const override { return pool_.size(); }
  ThreadPool& pool() override { return pool_; }

  // Q4_0/Q5_0, Q8_0 and Q4_K/Q5_K/Q6_K matrices of a multiple of 16 rows become 16-row panels
  // (cpu::pack_weights, what llama.cpp calls repacking): same size, so the file's pages go back
  // as the copy is made, one run of about 4 MiB at a time (load's peak memory: the packed copy
  // plus one run, not plus the largest matrix), then the whole range once more for the pages
  // that straddle two runs.
  //
  // F32, F16 and BF16 matrices keep the file's row layout but are copied the same way, into
  // memory of the backend's own: a file mapping is in 4 KiB pages, and on a virtual machine
  // every 4 KiB of a weight stream read from it then costs a TLB miss (nested page walk) that
  // the huge pages of the copy do not; measured on the 3B F16 model's decode (docs/benchmarks.md).
  Status prepare_weight(Tensor& w, const ReleaseSource& release) override {
    if (!runtime_options().pack_weights || w.layout() != Layout::rows || w.n_dims() != 2 ||
        !cpu::prepares(w.dtype(), w.ne(1), w.ne(0)))
      return {};
    std::shared_ptr<uint8_t[]> buf = cpu::alloc_weights(w.n_bytes());
    if (!buf) return resource_exhausted_error("cannot allocate {} bytes to pack {}", w.n_bytes(), w.describe());
    const auto* src = static_cast<const uint8_t*>(w.data());
    const size_t ws = row_size(w.dtype(), w.ne(0));
    const Layout layout =
        cpu::prepare_weights_in_runs(w.dtype(), src, w.ne(1), w.ne(0), buf.get(), [&](int64_t r0, int64_t n) {
          if (release) release(src + static_cast<size_t>(r0) * ws, static_cast<size_t>(n) * ws);
        });
    auto packed = FRAGUA_TRY(Tensor::owned(w.dtype(), w.shape(), std::move(buf), w.n_bytes(), layout));
    if (release) release(w.data(), w.n_bytes());
    w = std::move(packed);
    return {};
  }

  void matmul(const Tensor& w, const float* x, int64_t n, float* y) override {
    cpu::matmul(w.data(), w.dtype(), w.ne(1), w.ne(0), x, n, y, pool_, w.layout());
  }

  // Products of one or two rows (a mixture of experts at decode: each chosen expert's gate, up,
  // down) are too small to split well, a fork-join each costing about what the product does, so
  // they go one per thread, each on that thread's own single-thread kernels; larger ones keep the
  // threads inside. The same bits either way: a row's result does not depend on how the rows are
  // split (matmul_test's Matmul.ThreadedPathsMatchSingleThread).
  // Matrix-vector products of whole matrices (a layer's q, k and v, or gate and up, at decode) go
  // through cpu::matvecs instead: one parallel region whose chunks stream every matrix.
  void matmuls(std::span<const MatmulJob> jobs) override {
    small_jobs_.clear();
    big_jobs_.clear();
    for (const MatmulJob& j : jobs) {
      if (j.n <= 2 && pool_.size() > 1 && j.w->n_bytes() >= kWholeMatvecBytes)
        big_jobs_.push_back({j.w->data(), j.w->dtype(), j.w->ne(1), j.w->ne(0), j.x, j.n, j.y, j.w->layout()});
      else if (j.n <= 2 && pool_.size() > 1)
        small_jobs_.push_back(&j);
      else
        matmul(*j.w, j.x, j.n, j.y);
    }
    if (!big_jobs_.empty()) cpu::matvecs(big_jobs_, pool_);
    if (small_jobs_.empty()) return;
    std::atomic<size_t> next{0};
    pool_.run([&](int, int) {
      for (size_t i = next.fetch_add(1); i < small_jobs_.size(); i = next.fetch_add(1)) {
        const MatmulJob& j = *small_jobs_[i];
        cpu::matmul(j.w->data(), j.w->dtype(), j.w->ne(1), j.w->ne(0), j.x, j.n, j.y, solo_, j.w->layout());
      }
    });
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
      ref::rope(x + static_cast<int64_t>(b) * n_head * head_dim, static_cast<int64_t>(e - b), n_head, head_dim, pos + b,
                p);
    });
  }

  void ssm_conv(const SsmConvArgs& a) override { cpu::ssm_conv_threaded(a, pool_); }
  void ssm_scan(const SsmScanArgs& a) override { cpu::ssm_scan_threaded(a, pool_); }

  void swiglu(const float* gate, const float* up, int64_t n, float* y) override {
    if (n < 16384) {
      cpu::swiglu(gate, up, n, y);
      return;
    }
    pool_.parallel_for(static_cast<size_t>(n),
                       [&](size_t b, size_t e) { cpu::swiglu(gate + b, up + b, static_cast<int64_t>(e - b), y + b); });
  }

  // Short batches (generation steps, short prompts): work items are (token, head), latest
  // tokens first so that causal work stays balanced, each one pass of cpu::attend_f16.
  void attention_one_pass(const AttentionArgs& a) {
    const int64_t items = a.n_tokens * a.n_head, group = a.n_head / a.n_head_kv, hd = a.head_dim;
    const int64_t q_stride = a.n_head * hd, kv_stride = a.n_head_kv * hd;
    std::atomic<int64_t> next{0};
    auto body = [&](int, int) {
      for (int64_t it = next.fetch_add(1); it < items; it = next.fetch_add(1)) {
        const int64_t t = a.n_tokens - 1 - it / a.n_head, h = it % a.n_head, g = h / group;
        const int64_t n_seen = std::min<int64_t>(a.pos[t] + 1, a.n_kv);
        float* out = a.out + t * q_stride + h * hd;
        if (n_seen <= 0) {
          std::fill_n(out, hd, 0.f);
          continue;
        }
        cpu::attend_f16(a.q + t * q_stride + h * hd, a.k + g * hd, a.v + g * hd, kv_stride, n_seen, hd, a.scale, out);
      }
    };
    // Below ~64k multiply-adds a fork-join costs more than it saves.
    if (a.n_tokens * a.n_head * a.n_kv * hd >= (1 << 16))
      pool_.run(body);
    else
      body(0, 1);
  }

  // Prompt batches: the cached keys and values are widened to f32 and transposed once per call
  // (kt_, vt_: per key/value head, head_dim rows of n_kv values, rows padded with zeros to a
  // multiple of 16). Work items are (block of kQueryBlock consecutive tokens, head): the scores
  // are SIMD outer products (keys in lanes, cpu::attn_scores), the softmax is vectorised
  // (cpu::softmax_rows), and the output is the f32 product of the probabilities with V
  // transposed. Each token uses only the keys it may see (causal: probabilities past them are 0).
  // Items are handed out dynamically, most expensive (latest tokens) first.
  static constexpr int64_t kQueryBlock = 8;

  void attention(const AttentionArgs& a) override {
    if (a.n_tokens < kAttentionBatch) {
      attention_one_pass(a);
      return;
    }
    const int64_t n_blocks = (a.n_tokens + kQueryBlock - 1) / kQueryBlock;
    const int64_t items = n_blocks * a.n_head;
    const int64_t group = a.n_head / a.n_head_kv;
    const int64_t q_stride = a.n_head * a.head_dim, kv_stride = a.n_head_kv * a.head_dim;
    const int64_t hd = a.head_dim, n_kv = a.n_kv, kts = (n_kv + 15) / 16 * 16;
    const auto rows = static_cast<size_t>(n_kv * kv_stride), tsize = static_cast<size_t>(a.n_head_kv * hd * kts);
    if (wide_.size() < 2 * rows) wide_.resize(2 * rows);
    if (kt_.size() < tsize) kt_.resize(tsize);
    if (vt_.size() < tsize) vt_.resize(tsize);
    float* kw = wide_.data();
    float* vw = wide_.data() + rows;
    float* kt = kt_.data();
    float* vt = vt_.data();
    pool_.parallel_for(static_cast<size_t>(n_kv), [&](size_t b, size_t e) {
      const auto off = b * static_cast<size_t>(kv_stride);
      const auto len = static_cast<int64_t>(e - b) * kv_stride;
      cpu::f16_to_f32(a.k + off, kw + off, len);
      cpu::f16_to_f32(a.v + off, vw + off, len);
    });
    pool_.parallel_for(static_cast<size_t>(a.n_head_kv * hd), [&](size_t b, size_t e) {  // rows (g, d)
      for (size_t row = b; row < e; ++row) {
        const int64_t g = static_cast<int64_t>(row) / hd, d = static_cast<int64_t>(row) % hd;
        float* kd = kt + static_cast<int64_t>(row) * kts;
        float* vd = vt + static_cast<int64_t>(row) * kts;
        for (int64_t j = 0; j < n_kv; ++j) {
          kd[j] = kw[j * kv_stride + g * hd + d];
          vd[j] = vw[j * kv_stride + g * hd + d];
        }
        std::fill(kd + n_kv, kd + kts, 0.f);
        std::fill(vd + n_kv, vd + kts, 0.f);
      }
    });
    if (scratch_.size() < static_cast<size_t>(pool_.size())) scratch_.resize(static_cast<size_t>(pool_.size()));
    std::atomic<int64_t> next{0};
    pool_.run([&](int ith, int) {
      auto& scores = scratch_[static_cast<size_t>(ith)];
      if (scores.size() < static_cast<size_t>(kQueryBlock * kts)) scores.resize(static_cast<size_t>(kQueryBlock * kts));
      for (int64_t it = next.fetch_add(1); it < items; it = next.fetch_add(1)) {
        const int64_t blk = n_blocks - 1 - it / a.n_head, h = it % a.n_head, g = h / group;
        const int64_t t0 = blk * kQueryBlock, nt = std::min(kQueryBlock, a.n_tokens - t0);
        int64_t n_seen[kQueryBlock], n_keys = 0;
        for (int64_t i = 0; i < nt; ++i) {
          n_seen[i] = std::clamp<int64_t>(a.pos[t0 + i] + 1, 0, n_kv);
          n_keys = std::max(n_keys, n_seen[i]);
        }
        if (n_keys == 0) {
          for (int64_t t = t0; t < t0 + nt; ++t) std::fill_n(a.out + t * q_stride + h * hd, hd, 0.f);
          continue;
        }
        const int64_t ss = (n_keys + 15) / 16 * 16;
        cpu::attn_scores(hd, a.q + t0 * q_stride + h * hd, q_stride, static_cast<int>(nt), kt + g * hd * kts, kts,
                         n_keys, a.scale, scores.data(), ss);
        cpu::softmax_rows(scores.data(), ss, static_cast<int>(nt), n_seen, n_keys);
        // out[t0 + i][h, d] = dot(vt row (g, d), probabilities of token t0 + i)
        cpu::gemm_f32(n_keys, vt + g * hd * kts, kts, hd, scores.data(), ss, nt, a.out + t0 * q_stride + h * hd,
                      q_stride);
      }
    });
  }

  void to_f16(const float* x, int64_t n, uint16_t* y) override { cpu::f32_to_f16(x, y, n); }

  void add_scaled(float* x, const float* y, int64_t n, float scale) override {
    if (scale == 1.0f)
      for (int64_t i = 0; i < n; ++i) x[i] += y[i];
    else
      for (int64_t i = 0; i < n; ++i) x[i] += scale * y[i];
  }

 private:
  ThreadPool pool_;
  ThreadPool solo_{1};  // runs inline on the calling thread (matmuls' one-per-thread products)
  // A matrix-vector job at least this large is cut across the threads (cpu::matvecs); smaller
  // ones go one per thread. 1 MiB: the smallest layer matrix of the bench models (0.9B k, v:
  // 1024 x 2048) is 1.2 MB in Q4_0; an expert matrix of Granite 3's mixtures (512 x 1536 at most)
  // is 0.84 MB in Q8_0.
  static constexpr uint64_t kWholeMatvecBytes = uint64_t{1} << 20;
  std::vector<const MatmulJob*> small_jobs_;
  std::vector<cpu::MatvecJob> big_jobs_;
  std::vector<std::vector<float>> scratch_;
  // Prompt-batch attention: K and V rows widened to f32, then transposed per key/value head.
  std::vector<float> wide_, kt_, vt_;
};

}  // namespace

void Backend::matmuls(std::span<const MatmulJob> jobs) {
  for (const MatmulJob& j : jobs) matmul(*j.w, j.x, j.n, j.y);
}

std::unique_ptr<Backend> make_cpu_backend(int n_threads) {
  auto b = std::make_unique<CpuBackend>(n_threads);
  // What `fragua -v` shows of the machine: the kernels CPUID (or FRAGUA_SIMD) chose, the threads.
  log_debug("cpu backend: SIMD {}, {} thread(s)", cpu::simd_level(), b->n_threads());
  return b;
}

}  // namespace fragua::backend
