// SPDX-License-Identifier: Apache-2.0
// The training loop. Everything that can be checked is checked before the first write: shards,
// tokenizer, model shape, memory, the output directory; only then are files created.
#include "fragua/train/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "fragua/base/communicator.h"
#include "fragua/base/file.h"
#include "fragua/base/log.h"
#include "fragua/base/metrics.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/base/utf8.h"
#include "fragua/eval/bits_per_byte.h"
#include "fragua/train/kernels.h"
#include "fragua/train/text_encoder.h"
#include "train/checkpoint.h"

namespace fragua::train {

namespace {

uint64_t available_memory(Env& env) {
  auto text = env.read_file("/proc/meminfo");
  if (!text.ok()) return UINT64_MAX;
  std::istringstream in(*text);
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == "MemAvailable:") return kb * 1024;
  return UINT64_MAX;
}

Status check_basics(const TrainConfig& c) {
  if (c.out_dir.empty()) return invalid_argument_error("train: --out is required");
  if (c.batch <= 0) return invalid_argument_error("train: batch must be positive (got {})", c.batch);
  if (c.grad_accum <= 0) return invalid_argument_error("train: grad_accum must be positive (got {})", c.grad_accum);
  if (c.steps <= 0 || c.steps > kMaxTrainSteps)
    return invalid_argument_error("train: steps must be in [1, {}] (got {})", kMaxTrainSteps, c.steps);
  if (c.data.seq_len <= 1) return invalid_argument_error("train: seq_len must be at least 2 (got {})", c.data.seq_len);
  if (!(c.data.val_fraction >= 0 && c.data.val_fraction < 1))
    return invalid_argument_error("train: val_fraction must be in [0, 1) (got {})", c.data.val_fraction);
  if (!(c.schedule.lr > 0)) return invalid_argument_error("train: lr must be positive");
  return ok_status();
}

struct Run {
  std::optional<FileLock> lock;  // on <out>/.lock (rank 0), released last
  TrainConfig cfg;
  Communicator dist;
  std::unique_ptr<ThreadPool> pool;
  std::optional<Dataset> data;
  std::optional<Model> model;
  std::optional<AdamW> opt;
  MetricsWriter metrics;
  int64_t step = 0;
  std::vector<int32_t> tokens, targets;
  KernelOptions kopts;
  KernelProfile profile;     // filled when cfg.profile (kopts.profile points here)
  double profiled_s = 0;     // wall time of the profiled steps
  int64_t profiled_steps = 0;
  nlohmann::json provenance;
  bool writer() const { return dist.rank() == 0; }
  Env& env() const { return cfg.env ? *cfg.env : Env::posix(); }
};

// Shards, tokenizer and model shape; memory. Nothing is written.
Status prepare_model(Run& r) {
  TrainConfig& c = r.cfg;
  r.data.emplace(FRAGUA_TRY(Dataset::open(c.data, r.env())));
  const ShardTokenizer& tk = r.data->tokenizer();
  if (!c.tokenizer.empty()) {
    ShardTokenizer want =
        c.tokenizer == "byte" ? make_byte_encoder()->info() : FRAGUA_TRY(tokenizer_info_from_gguf(c.tokenizer));
    if (want.fingerprint != tk.fingerprint || want.vocab_size != tk.vocab_size)
      return invalid_argument_error(
          "tokenizer {} (vocab {}, fingerprint {}) does not match the shards in {}, made with '{}' "
          "(vocab {}, fingerprint {}): re-shard or pass the tokenizer they were made with",
          c.tokenizer, want.vocab_size, want.fingerprint, c.data.dir, tk.name, tk.vocab_size, tk.fingerprint);
  }
  if (c.model.n_vocab == 0) c.model.n_vocab = tk.vocab_size;
  if (c.model.n_vocab < tk.vocab_size)
    return invalid_argument_error("model n_vocab {} is smaller than the shards' vocabulary ({} tokens, tokenizer '{}')",
                                  c.model.n_vocab, tk.vocab_size, tk.name);
  if (c.model.n_ctx_train < c.data.seq_len) c.model.n_ctx_train = c.data.seq_len;
  FRAGUA_TRY(c.model.finalize());
  uint64_t need = Model::training_bytes(c.model, c.batch, c.data.seq_len);
  uint64_t have = c.max_memory ? c.max_memory : available_memory(r.env());
  if (need > have)
    return resource_exhausted_error(
        "training this model needs about {} of memory ({:.1f}M parameters, batch {} x {} tokens) "
        "but {} is available: lower --batch, --seq-len or the model size",
        format_bytes(static_cast<double>(need)), c.model.n_params() / 1e6, c.batch, c.data.seq_len,
        format_bytes(static_cast<double>(have)));
  return ok_status();
}

// Creates the model and optimizer, from a checkpoint when resuming.
Status prepare_state(Run& r) {
  TrainConfig& c = r.cfg;
  r.model.emplace(FRAGUA_TRY(Model::create(c.model)));
  r.model->init_random(c.seed);
  r.opt.emplace(c.adamw, r.model->params().size());
  if (!c.resume) return ok_status();
  std::string dir = FRAGUA_TRY(latest_checkpoint(c.out_dir, r.env()));
  TrainState state = FRAGUA_TRY(load_checkpoint(dir, *r.model, *r.opt, r.env()));
  if (state.tokenizer_fingerprint != r.data->tokenizer().fingerprint)
    return invalid_argument_error(
        "{}: checkpoint was trained on shards of tokenizer {}, {} holds {}", dir,
        state.tokenizer_fingerprint.empty() ? "?" : terminal_safe(state.tokenizer_fingerprint), c.data.dir,
        r.data->tokenizer().fingerprint);
  if (c.steps < state.step)
    return invalid_argument_error(
        "{}: the checkpoint is at step {}, past --steps {}: pass --steps {} or more to continue the run", dir,
        state.step, c.steps, state.step);
  // The loader draws one stream of rows whatever the split; what a step sees is the rows it
  // consumes, ranks x batch x accumulation. Checkpoints before grad_accum was recorded: assume
  // it is unchanged.
  const int64_t ck_batch = state.batch > 0 ? state.batch : c.batch;
  const int64_t ck_accum = state.grad_accum > 0 ? state.grad_accum : c.grad_accum;
  const int64_t rows_now = int64_t{r.dist.size()} * c.batch * c.grad_accum;
  if (state.world_size * ck_batch * ck_accum != rows_now)
    log_warn("resuming with {} rank(s) x batch {} x {} accumulation step(s) (checkpoint: {} x {} x {}): each step "
             "now sees {} sequences instead of {}, so the run no longer matches an uninterrupted one",
             r.dist.size(), c.batch, c.grad_accum, state.world_size, ck_batch, ck_accum, rows_now,
             state.world_size * ck_batch * ck_accum);
  if (state.seq_len > 0 && state.seq_len != c.data.seq_len)
    log_warn("resuming with --seq-len {} (checkpoint: {}): the loader's windows change length, so the run no longer "
             "matches an uninterrupted one",
             c.data.seq_len, state.seq_len);
  FRAGUA_TRY(r.data->restore(state.data, dir + "/state.json"));
  r.step = state.step;
  log_info("resumed from {} at step {}", dir, r.step);
  return ok_status();
}

// Output directory, config.json and metrics (rank 0). Metrics of steps after the checkpoint
// (a killed run's tail) are dropped so the file reads as one uninterrupted run.
Status prepare_outputs(Run& r) {
  if (!r.writer()) return ok_status();
  const TrainConfig& c = r.cfg;
  FRAGUA_TRY(r.env().create_dirs(c.out_dir + "/checkpoints"));
  nlohmann::json cj = c.to_json();
  // Resuming reads this file from wherever it is run: the paths in it are stored absolute.
  auto absolute_path = [](const std::string& p) {
    std::error_code ec;  // no working directory: keep the path as given
    auto a = std::filesystem::absolute(p, ec);
    return ec ? p : a.lexically_normal().string();
  };
  cj["data"]["dir"] = absolute_path(c.data.dir);
  if (!c.tokenizer.empty() && c.tokenizer != "byte") cj["tokenizer"] = absolute_path(c.tokenizer);
  cj["out_dir"] = absolute_path(c.out_dir);
  cj["provenance"] = r.provenance;
  FRAGUA_TRY(write_file_atomic(c.out_dir + "/config.json", cj.dump(1) + "\n", r.env()));
  std::string mpath = c.out_dir + "/metrics.jsonl";
  if (c.resume && r.env().file_exists(mpath)) {
    auto lines = FRAGUA_TRY(read_metrics(mpath, r.env()));
    std::string kept;
    // Records past the checkpoint, or without an integer step, are dropped.
    for (const auto& l : lines)
      if (l.contains("step") && l["step"].is_number_integer() && l["step"].get<int64_t>() <= r.step)
        kept += l.dump() + "\n";
    FRAGUA_TRY(write_file_atomic(mpath, kept, r.env()));
  }
  r.metrics = FRAGUA_TRY(MetricsWriter::open(mpath, c.resume));
  return ok_status();
}

// One optimizer step: grad_accum x world micro-batches of the global stream, this rank's share.
float train_step(Run& r, float lr, float* grad_norm) {
  const int B = r.cfg.batch, T = r.cfg.data.seq_len, W = r.dist.size();
  r.model->zero_grad();
  double loss_sum = 0;
  const float scale = 1.0f / static_cast<float>(r.cfg.grad_accum * W);
  for (int a = 0; a < r.cfg.grad_accum; ++a) {
    for (int rank = 0; rank < W; ++rank) {
      if (rank != r.dist.rank()) {
        const ProfileScope data_scope(r.kopts.profile, ProfilePart::data);
        r.data->skip_batch(B, T);
        continue;
      }
      {
        const ProfileScope data_scope(r.kopts.profile, ProfilePart::data);
        r.data->next_batch(B, T, r.tokens.data(), r.targets.data());
      }
      loss_sum += r.model->forward(r.tokens.data(), r.targets.data(), B, T, r.kopts);
      r.model->backward(scale, r.kopts);
    }
  }
  r.dist.allreduce_sum(r.model->grads().data(), r.model->grads().size());
  r.dist.allreduce_sum(&loss_sum, 1);
  const ProfileScope optimizer_scope(r.kopts.profile, ProfilePart::optimizer);
  *grad_norm = r.opt->step(r.model->params(), r.model->grads(), r.model->param_infos(), lr, r.pool.get());
  return static_cast<float>(loss_sum / (r.cfg.grad_accum * W));
}

// Validation loss and bits per byte per language (eval/bits_per_byte.h): up to val_tokens of each
// language's held-out windows are scored; tokens and bytes are those of its whole held-out text.
nlohmann::json evaluate(Run& r) {
  const int B = r.cfg.batch, T = r.cfg.data.seq_len;
  KernelOptions kopts = r.kopts;
  kopts.profile = nullptr;  // the profile covers training steps only
  eval::LanguageLosses losses;
  for (size_t li = 0; li < r.data->languages().size(); ++li) {
    const auto& L = r.data->languages()[li];
    uint64_t n = std::min<uint64_t>(r.data->n_val_windows(li, T), (r.cfg.val_tokens + T - 1) / T);
    if (n == 0 || L.val_bytes == 0) continue;
    eval::LanguageLoss& l = losses[L.lang];
    l.tokens = L.val_tokens;
    l.bytes = L.val_bytes;
    for (uint64_t i = 0; i < n; i += B) {
      int rows = static_cast<int>(std::min<uint64_t>(B, n - i));
      for (int b = 0; b < rows; ++b)
        r.data->val_window(li, i + b, T, r.tokens.data() + static_cast<size_t>(b) * T,
                           r.targets.data() + static_cast<size_t>(b) * T);
      // forward() returns the mean over the rows x T targets.
      const double mean = r.model->forward(r.tokens.data(), r.targets.data(), rows, T, kopts);
      l.add(mean * rows * T, static_cast<uint64_t>(rows) * T);
    }
  }
  nlohmann::json record = {{"type", "val"}, {"step", r.step}};
  record.update(eval::to_json(losses));
  return record;
}

// The profile of the steps run: each part's seconds, share of the step time and calls, the rest
// of the step (gradient all-reduce, zeroing, loop overhead) as "other".
nlohmann::json profile_report(const Run& r, uint64_t tokens_per_step) {
  nlohmann::json parts = nlohmann::json::array();
  double accounted = 0;
  const double total = r.profiled_s > 0 ? r.profiled_s : 1e-300;
  for (size_t i = 0; i < static_cast<size_t>(ProfilePart::count); ++i) {
    accounted += r.profile.seconds[i];
    parts.push_back({{"part", kProfilePartNames[i]},
                     {"seconds", r.profile.seconds[i]},
                     {"share", r.profile.seconds[i] / total},
                     {"calls", r.profile.calls[i]}});
  }
  const double other = std::max(0.0, r.profiled_s - accounted);
  parts.push_back({{"part", "other"}, {"seconds", other}, {"share", other / total}, {"calls", 0}});
  const double mm_s = r.profile.seconds[static_cast<size_t>(ProfilePart::matmul)];
  return {{"steps", r.profiled_steps},
          {"seconds", r.profiled_s},
          {"tokens_per_s", static_cast<double>(tokens_per_step) * static_cast<double>(r.profiled_steps) / total},
          {"matmul_gflops_per_s", mm_s > 0 ? r.profile.matmul_flops / mm_s / 1e9 : 0.0},
          {"threads", r.pool ? r.pool->size() : 1},
          {"precision", r.kopts.bf16 ? "bf16" : "f32"},  // the one that ran (bf16 falls back where unsupported)
          {"parts", parts}};
}

Status save(Run& r) {
  if (!r.writer()) return ok_status();
  nlohmann::json state = {{"data", r.data->state()},     {"config", r.cfg.to_json()},
                          {"provenance", r.provenance},  {"tokenizer_fingerprint", r.data->tokenizer().fingerprint},
                          {"world_size", r.dist.size()}, {"batch", r.cfg.batch},
                          {"grad_accum", r.cfg.grad_accum},      {"seq_len", r.cfg.data.seq_len}};
  return save_checkpoint(r.cfg.out_dir, r.step, *r.model, *r.opt, std::move(state), r.cfg.keep_checkpoints, r.env());
}

}  // namespace

Result<TrainResult> train(const TrainConfig& config) {
  Run r;
  r.cfg = config;
  FRAGUA_TRY(check_basics(r.cfg));
  if (!r.cfg.resume && r.env().file_exists(r.cfg.out_dir + "/latest"))
    return invalid_argument_error(
        "{} already holds a training run: pass --resume to continue it, or choose another --out", r.cfg.out_dir);
  FRAGUA_TRY(prepare_model(r));
  // One writer per run directory: two runs in one --out would interleave checkpoints and
  // metrics. The lock is taken before anything there is read or written and held to the end.
  if (r.writer()) {
    FRAGUA_TRY(r.env().create_dirs(r.cfg.out_dir));
    r.lock.emplace(FRAGUA_TRY(FileLock::acquire(r.cfg.out_dir + "/.lock", r.cfg.out_dir, "run")));
    if (!r.cfg.resume && r.env().file_exists(r.cfg.out_dir + "/latest"))
      return invalid_argument_error(
          "{} already holds a training run: pass --resume to continue it, or choose another --out", r.cfg.out_dir);
  }
  r.pool = FRAGUA_TRY(ThreadPool::create(r.cfg.threads));
  const int threads = r.pool->size();
  kernels::set_blas_threads(threads);
  r.kopts = {r.pool.get(), r.cfg.use_blas, r.cfg.profile ? &r.profile : nullptr};
  if (r.cfg.bf16 && kernels::bf16_matmul_available())
    r.kopts.bf16 = true;
  else if (r.cfg.bf16 && r.writer())
    log_warn("train: --precision bf16 needs a CPU with AVX512-BF16, which this one lacks: training in F32");
  r.provenance = {{"fragua_version", FRAGUA_VERSION},
                  {"shards", r.data->shard_paths()},
                  {"tokenizer", r.data->tokenizer().to_json()}};
  FRAGUA_TRY(prepare_state(r));
  FRAGUA_TRY(prepare_outputs(r));
  r.cfg.schedule.total = r.cfg.steps;
  r.tokens.resize(static_cast<size_t>(r.cfg.batch) * r.cfg.data.seq_len);
  r.targets.resize(r.tokens.size());
  if (r.writer())
    log_info("model: {:.2f}M parameters, {} layers, n_embd {}, heads {}/{}, vocab {}; {} rank(s) x {} thread(s), {}",
             r.cfg.model.n_params() / 1e6, r.cfg.model.n_layer, r.cfg.model.n_embd, r.cfg.model.n_head,
             r.cfg.model.n_head_kv, r.cfg.model.n_vocab, r.dist.size(), threads, r.kopts.bf16 ? "BF16" : "F32");
  TrainResult result;
  const uint64_t tokens_per_step =
      static_cast<uint64_t>(r.cfg.batch) * r.cfg.data.seq_len * r.cfg.grad_accum * r.dist.size();
  std::optional<ProgressBar> bar;
  if (r.writer()) {
    bar.emplace("train", static_cast<uint64_t>(r.cfg.steps), "step");
    bar->set(static_cast<uint64_t>(r.step));
  }
  auto t0 = std::chrono::steady_clock::now();
  while (r.step < r.cfg.steps) {
    float lr = r.cfg.schedule.lr_at(r.step);
    auto ts = std::chrono::steady_clock::now();
    float norm = 0;
    float loss = train_step(r, lr, &norm);
    ++r.step;
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - ts).count();
    r.profiled_s += secs;
    ++r.profiled_steps;
    result.losses.push_back(loss);
    if (!std::isfinite(loss))
      return invalid_argument_error("training diverged at step {}: loss is {} (lower --lr)", r.step, loss);
    if (r.writer()) {
      FRAGUA_TRY(r.metrics.write(
          {{"type", "train"},
           {"step", r.step},
           {"loss", loss},
           {"lr", lr},
           {"grad_norm", norm},
           {"tokens", r.step * tokens_per_step},
           {"tokens_per_s", tokens_per_step / secs},
           {"elapsed_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}}));
      bar->set(static_cast<uint64_t>(r.step));
      bar->set_postfix(fmt::format("loss {:.4f} lr {:.2e} {:.0f} tok/s", loss, lr, tokens_per_step / secs));
    }
    bool last = r.step == r.cfg.steps;
    if (r.writer() && ((r.cfg.eval_every > 0 && r.step % r.cfg.eval_every == 0) || last)) {
      result.last_eval = evaluate(r);
      FRAGUA_TRY(r.metrics.write(result.last_eval));
    }
    double stop = (r.cfg.stop_flag && r.cfg.stop_flag->load()) ? 1.0 : 0.0;
    r.dist.allreduce_sum(&stop, 1);
    bool stopping = stop > 0 || (r.cfg.stop_after >= 0 && r.step >= r.cfg.stop_after);
    if (last || stopping || (r.cfg.save_every > 0 && r.step % r.cfg.save_every == 0)) FRAGUA_TRY(save(r));
    if (stopping && !last) {
      result.stopped = true;
      break;
    }
  }
  if (bar) bar->finish();
  result.step = r.step;
  if (r.cfg.profile) {
    result.profile = profile_report(r, tokens_per_step);
    if (r.writer())
      FRAGUA_TRY(write_file_atomic(r.cfg.out_dir + "/profile.json", result.profile.dump(1) + "\n", r.env()));
  }
  return result;
}

}  // namespace fragua::train
