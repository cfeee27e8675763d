// SPDX-License-Identifier: Apache-2.0
// Training throughput of fragua's trainer on random tokens (no data loading), and the SGEMM
// peak of OpenBLAS on this machine with the same threads, as one JSON line. Driven by
// bench/train_vs_torch.py, which runs PyTorch on the same model interleaved with this.
//   bench_train_step --n-embd 256 --n-layer 4 --n-head 4 --n-vocab 4096 --batch 4 --seq 256 --steps 5 --threads 2
#include <cblas.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fragua/train/kernels.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

using namespace fragua;
using namespace fragua::train;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// Best of 3 square SGEMMs of size n: the achievable F32 matmul rate.
double sgemm_peak_gflops(int n) {
  std::vector<float> a(static_cast<size_t>(n) * n, 0.5f), b(a.size(), 0.25f), c(a.size());
  double best = 0;
  for (int r = 0; r < 4; ++r) {
    double t = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n);
    double dt = now() - t;
    if (r > 0) best = std::max(best, 2.0 * n * n * n / dt / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  ModelConfig c;
  c.n_embd = 256, c.n_layer = 4, c.n_head = 4, c.n_head_kv = 4, c.n_vocab = 4096, c.n_ctx_train = 256;
  int B = 4, T = 256, steps = 5, threads = 2;
  bool blas = true, bf16 = false;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--plain") {
      blas = false;
      continue;
    }
    if (k == "--bf16") {  // BF16 mixed precision (fragua train --precision bf16)
      bf16 = true;
      continue;
    }
    if (i + 1 >= argc) break;
    int v = std::atoi(argv[++i]);
    if (k == "--n-embd")
      c.n_embd = v;
    else if (k == "--n-layer")
      c.n_layer = v;
    else if (k == "--n-head")
      c.n_head = c.n_head_kv = v;
    else if (k == "--n-head-kv")
      c.n_head_kv = v;
    else if (k == "--n-vocab")
      c.n_vocab = v;
    else if (k == "--n-ff")
      c.n_ff = v;
    else if (k == "--batch")
      B = v;
    else if (k == "--seq")
      T = c.n_ctx_train = v;
    else if (k == "--steps")
      steps = v;
    else if (k == "--threads")
      threads = v;
  }
  auto model = Model::create(c);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.error().to_string().c_str());
    return 1;
  }
  const ModelConfig& mc = model->config();
  model->init_random(1);
  ThreadPool pool(threads);
  kernels::set_blas_threads(threads);
  KernelOptions opts{&pool, blas};
  if (bf16 && !kernels::bf16_matmul_available()) {
    std::fprintf(stderr, "--bf16: this CPU has no AVX512-BF16\n");
    return 1;
  }
  opts.bf16 = bf16;
  AdamW opt({}, model->params().size());
  Rng rng(3);
  std::vector<int32_t> tok(static_cast<size_t>(B) * T), tgt(tok.size());
  for (size_t i = 0; i < tok.size(); ++i) tok[i] = static_cast<int32_t>(rng.next() % mc.n_vocab);
  for (size_t i = 0; i < tok.size(); ++i) tgt[i] = static_cast<int32_t>(rng.next() % mc.n_vocab);
  double t_fwd = 0, t_bwd = 0, t_opt = 0, t0 = 0;
  float loss = 0;
  for (int s = 0; s <= steps; ++s) {  // step 0 warms up
    if (s == 1) t0 = now(), t_fwd = t_bwd = t_opt = 0;
    double a = now();
    model->zero_grad();
    loss = model->forward(tok.data(), tgt.data(), B, T, opts);
    double b = now();
    model->backward(1.0f, opts);
    double d = now();
    opt.step(model->params(), model->grads(), model->param_infos(), 1e-4f, &pool);
    double e = now();
    t_fwd += b - a, t_bwd += d - b, t_opt += e - d;
  }
  double dt = now() - t0;
  double tps = static_cast<double>(B) * T * steps / dt;
  // FLOPs per token: 6 per weight of every matmul (forward 2, backward 4; the embedding is a
  // lookup) plus causal attention, 6 * T * C per layer (scores and weighted sum, fwd + bwd).
  double matmul_params =
      static_cast<double>(mc.n_params()) - static_cast<double>(mc.n_vocab) * mc.n_embd * (mc.tied_output ? 0 : 1);
  double flops_per_token = 6.0 * matmul_params + 6.0 * mc.n_layer * T * mc.n_embd;
  double gflops = flops_per_token * tps / 1e9;
  double peak = sgemm_peak_gflops(1024);
  std::printf(
      "{\"impl\":\"fragua%s\",\"params\":%lld,\"tokens_per_s\":%.1f,\"gflops\":%.2f,\"sgemm_peak_gflops\":%.2f,"
      "\"fraction_of_peak\":%.3f,\"loss\":%.4f,\"fwd_s\":%.3f,\"bwd_s\":%.3f,\"opt_s\":%.3f,\"threads\":%d}\n",
      bf16 ? "-bf16" : blas ? "" : "-plain", static_cast<long long>(mc.n_params()), tps, gflops, peak, gflops / peak, loss,
      t_fwd / steps, t_bwd / steps, t_opt / steps, threads);
  return 0;
}
